"""Every setting the server reads, with its default and why it exists.

Settings come from here, then from the environment (same names), then from the
mapping handed to ``create_app`` (tests).  ``None`` means "derived or generated
at start-up"; ``idp.config`` says how, and refuses those dev fallbacks when
``IDP_ENV=production``.
"""

DEFAULTS: dict[str, object] = {
    # "development" or "production".  Production refuses every dev fallback below.
    "IDP_ENV": "development",
    # Issuer identifier (RFC 8414 section 2): the public base URL, no trailing slash.
    "IDP_ISSUER": "http://127.0.0.1:5000",
    # SQLAlchemy URL.  None: SQLite file instance/idp.sqlite3 (dev only).
    "DATABASE_URL": None,
    # Redis URL for the revocation deny-list, rate limits and shared caches.
    # None: those live in the database / process memory (fine for one node).
    "REDIS_URL": None,
    # Flask session signing key.  None: generated once into instance/secret_key (dev only).
    "SECRET_KEY": None,
    # 32-byte key (base64url) that encrypts private signing keys at rest with AES-GCM.
    # None: generated once into instance/key_encryption_key (dev only).
    "IDP_KEY_ENCRYPTION_KEY": None,
    # RSA modulus size for new signing keys.
    "IDP_KEY_SIZE": 2048,
    # Rotate the active signing key automatically once it is this many days old; 0 = only
    # by `flask keys rotate`.
    "IDP_KEY_ROTATION_DAYS": 0,
    # How often (seconds) each process checks the database for a key rotation made
    # elsewhere.  Tokens keep being signed by the previous (still published) key meanwhile.
    "IDP_KEY_REFRESH_SECONDS": 10,
    # Cache-Control max-age of the JWKS.  A `next` key must have been published at least
    # this long before it may start signing, so every verifier's cached JWKS holds it.
    "IDP_JWKS_MAX_AGE": 300,
    # Default access-token lifetime for new apps, and the upper bound an app may ask for.
    "IDP_ACCESS_TOKEN_LIFETIME": 600,
    "IDP_MAX_ACCESS_TOKEN_LIFETIME": 86400,
    # Resource identifiers that go into `aud` when the matching scopes are granted.
    # None: "<issuer>/api/wallet" and "<issuer>/api/admin".
    "IDP_WALLET_AUDIENCE": None,
    "IDP_ADMIN_AUDIENCE": None,
    # How long (seconds) a process may serve a cached partner-app record before reading it
    # again; edits made on the same process take effect at once.
    "IDP_CLIENT_CACHE_SECONDS": 5,
    # Seed the demo partner app on `flask dev bootstrap` (make run).
    "IDP_DEMO_REDIRECT_URI": "http://127.0.0.1:8000/callback",
    "IDP_DEMO_ORIGIN": "http://127.0.0.1:8000",
    # Folder for dev-generated files (SQLite, secrets, demo credentials).  None: ./instance.
    "IDP_INSTANCE_PATH": None,
    # Log level of the `idp` logger.
    "IDP_LOG_LEVEL": "INFO",
}

# Settings that are secrets: never logged, never echoed in errors.
SECRET_SETTINGS = frozenset({"SECRET_KEY", "IDP_KEY_ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL"})
