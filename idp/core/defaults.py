"""Every setting the server reads, with its default and why it exists.

Settings come from here, then from the environment (same names), then from the
mapping handed to ``create_app`` (tests).  ``None`` means "derived or generated
at start-up"; ``idp.core.config`` says how, and refuses those dev fallbacks when
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
    # An unknown kid may be a key another node has just published: a process looks again,
    # but at most this often (seconds), so garbage kids cannot each become a query.
    "IDP_KEY_UNKNOWN_KID_RELOAD_SECONDS": 1.0,
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
    # Credit lots (wallet.lots): days until promotional credits (``flask wallet grant``)
    # and purchased credits expire, 0 for never; subscription credits expire at the end of
    # the period they pay for plus this many days of rollover (0: none).
    "IDP_WALLET_PROMO_EXPIRY_DAYS": 365,
    "IDP_WALLET_PURCHASE_EXPIRY_DAYS": 0,
    "IDP_WALLET_SUBSCRIPTION_ROLLOVER_DAYS": 0,
    # Resource identifier of this server's own user APIs (userinfo, metadata, roles).
    # None: "<issuer>/api".
    "IDP_API_AUDIENCE": None,
    # Clock skew (seconds) our verifier tolerates on `exp`, `nbf` and `iat` of access tokens
    # (RFC 7519 section 4.1.4 "some small leeway"), for nodes whose clocks drift apart.
    "IDP_CLOCK_LEEWAY": 30,
    # ID token lifetime (seconds).
    "IDP_ID_TOKEN_LIFETIME": 600,
    # Authorization codes live this long (RFC 9700 recommends short-lived codes).
    "IDP_AUTH_CODE_TTL": 60,
    # Refresh-token defaults for new apps: idle lifetime (each rotation extends it) and
    # absolute lifetime of the whole family.
    "IDP_REFRESH_IDLE_LIFETIME": 14 * 86400,
    "IDP_REFRESH_ABSOLUTE_LIFETIME": 90 * 86400,
    # Default reuse grace window of new apps (each app sets its own, 0 to 60 seconds): a
    # rotated refresh token presented again within it supersedes its successor (two tabs
    # racing) instead of revoking the family.  0: any reuse revokes the family, as
    # RFC 9700 section 4.14.2 and relying-party libraries expect.
    "IDP_REFRESH_REUSE_GRACE_SECONDS": 0,
    # SSO session: lifetime (seconds) and cookie name.
    "IDP_SESSION_LIFETIME": 14 * 86400,
    "IDP_SESSION_COOKIE": "idp_session",
    # Second factors (idp.users.factors): seconds a correct password waits for its second
    # factor; the device cookie a browser is recognised by (new-device mail), and its
    # lifetime in seconds.
    "IDP_SECOND_STEP_TTL": 300,
    "IDP_DEVICE_COOKIE": "idp_device",
    "IDP_DEVICE_COOKIE_LIFETIME": 2 * 365 * 86400,
    # Purchases of more than this many credits need a second factor proved within
    # IDP_STEP_UP_MAX_AGE seconds (RFC 9470 challenge for API callers).  0: none do.
    "IDP_STEP_UP_PURCHASE_CREDITS": 0,
    "IDP_STEP_UP_MAX_AGE": 600,
    # argon2id parameters (RFC 9106 second recommended option); changing them rehashes
    # each password at its next successful sign-in.
    "IDP_ARGON2_TIME_COST": 3,
    "IDP_ARGON2_MEMORY_COST": 65536,
    "IDP_ARGON2_PARALLELISM": 4,
    "IDP_PASSWORD_MIN_LENGTH": 10,
    # Email verification codes: lifetime (seconds) and attempts per code.
    "IDP_EMAIL_CODE_TTL": 900,
    "IDP_EMAIL_CODE_MAX_ATTEMPTS": 5,
    # Password reset links: lifetime (seconds).
    "IDP_RESET_TTL": 1800,
    # Outgoing mail: smtp://, smtp+starttls:// or smtps://[user:password@]host[:port].
    # None: messages are written to the server log (development only).
    "IDP_SMTP_URL": None,
    "IDP_MAIL_FROM": "Identity <no-reply@localhost>",
    # Who delivers the outbox (mail written in the request's transaction, idp/outbox.py):
    # "worker" (a thread in each process, woken after each request that queued a message
    # and every IDP_OUTBOX_POLL_SECONDS for retries), "request" (the request itself,
    # right after its commit: the tests read mail as soon as the response is back), or
    # "cli" (only `flask mail send`, run by cron or a separate process).
    # None: "request" under TESTING, else "worker".
    "IDP_OUTBOX_DELIVERY": None,
    "IDP_OUTBOX_POLL_SECONDS": 5,
    # A failed delivery is retried after this many seconds, doubling each time (capped at
    # an hour), and given up after IDP_OUTBOX_MAX_ATTEMPTS attempts (about five hours here).
    "IDP_OUTBOX_RETRY_SECONDS": 30,
    "IDP_OUTBOX_MAX_ATTEMPTS": 12,
    # Partner webhooks (idp.events).  Waits (seconds, comma-separated) after each failed
    # attempt to deliver one event to one endpoint: the default makes ten attempts over
    # about three days.  An empty value: one attempt, no retry.
    "IDP_WEBHOOK_RETRY_SCHEDULE": "5,300,1800,7200,18000,36000,50400,72000,72000",
    # Seconds to connect to a receiver, and again to read its answer.
    "IDP_WEBHOOK_TIMEOUT_SECONDS": 10,
    # When an event's last attempt fails, its endpoint is disabled (and the app's contact
    # mailed) if this many attempts in a row, of any events, failed with no success
    # between: one event the receiver keeps refusing does not disable a working endpoint.
    "IDP_WEBHOOK_DISABLE_AFTER_FAILURES": 10,
    # How often (milliseconds) each process checks whether the set of webhook endpoints
    # changed elsewhere (one indexed read); until then an event type no endpoint listens
    # to costs no query at all.  An endpoint added on another node starts receiving
    # within this delay (at once on the node that added it).
    "IDP_WEBHOOK_LISTENERS_CHECK_MS": 1000,
    # Rate limits (Flask-Limiter syntax), counted in Redis when REDIS_URL is set.
    # Failed sign-ins per client IP and per account; sign-ups, verification attempts,
    # reset requests (client authentication: see below).
    "IDP_RATELIMIT_ENABLED": 1,
    "IDP_RATELIMIT_LOGIN_IP": "30/minute;300/hour",
    "IDP_RATELIMIT_LOGIN_ACCOUNT": "5/minute;30/hour",
    "IDP_RATELIMIT_SIGNUP": "10/hour",
    "IDP_RATELIMIT_VERIFY": "10/10 minutes",
    "IDP_RATELIMIT_RESET": "5/hour",
    # Passkey ceremonies started per client IP (each stores a challenge row; a page asks
    # for one as it opens, for autofill), and failed passkey sign-ins count as failed
    # sign-ins (IDP_RATELIMIT_LOGIN_IP, and per account at the second step).
    "IDP_RATELIMIT_PASSKEY_OPTIONS": "60/minute;600/hour",
    # Failed client authentications (token, introspection, revocation and the cross-app
    # JSON endpoints) per client id; reaching the limit locks that client id out for
    # IDP_CLIENT_LOCKOUT_SECONDS, doubling with each lockout in a row up to the maximum.
    # Failures naming no known client are capped per IP instead.  A correct secret is never
    # refused because of other clients' failures, even from the same IP (a NAT).
    "IDP_RATELIMIT_CLIENT_AUTH": "20/minute",
    "IDP_RATELIMIT_CLIENT_AUTH_UNKNOWN": "60/minute",
    "IDP_CLIENT_LOCKOUT_SECONDS": 60,
    "IDP_CLIENT_LOCKOUT_MAX_SECONDS": 3600,
    # How long (seconds) a process may serve a cached partner-app record before reading it
    # again; edits made on the same process take effect at once.
    "IDP_CLIENT_CACHE_SECONDS": 5,
    # Folder for dev-generated files (SQLite, secrets, demo credentials).  None: ./instance.
    "IDP_INSTANCE_PATH": None,
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted
    # (load balancer terminating TLS).  0: trust none.
    "IDP_TRUSTED_PROXIES": 0,
    # Payments: "stripe" (needs the two Stripe settings), "simulated" (development only: a
    # labelled fake checkout that goes through the real webhook code), or "disabled".
    # None: "stripe" when IDP_STRIPE_SECRET_KEY is set, else "disabled".
    "IDP_PAYMENTS": None,
    "IDP_STRIPE_SECRET_KEY": None,
    # Signing secret of the webhook endpoint (whsec_...).
    "IDP_STRIPE_WEBHOOK_SECRET": None,
    # Override Stripe's API base URL (tests point it at a local Stripe-shaped server).
    "IDP_STRIPE_API_BASE": None,
    # Price of one credit bought as a custom amount (not a package), in minor units of
    # IDP_CREDIT_CURRENCY (ISO 4217, lower case), so the price is always an integer.
    "IDP_CREDIT_UNIT_PRICE": 1,
    "IDP_CREDIT_CURRENCY": "usd",
    # Log level of the `idp` logger.
    "IDP_LOG_LEVEL": "INFO",
    # Seconds before one request to Stripe's API (customers, Checkout, billing portal) is
    # abandoned; a failed request is retried twice, then the caller gets a 502.
    "IDP_STRIPE_TIMEOUT_SECONDS": 20,
    # How long (seconds) Redis caches "this jti is not revoked".  Bounds memory only: a
    # revocation overwrites the entry at once.
    "IDP_DENYLIST_NEGATIVE_CACHE_SECONDS": 300,
    # Outages (docs/reliability.md).  While PostgreSQL or Redis cannot answer, a request
    # that needs it gets a 503 with this Retry-After (seconds) instead of waiting or a 500.
    "IDP_UNAVAILABLE_RETRY_AFTER": 5,
    # Seconds libpq waits to connect to PostgreSQL (a dead host otherwise costs the OS's
    # TCP timeout, minutes); 0: libpq's default (forever).
    "IDP_DATABASE_CONNECT_TIMEOUT": 3,
    # Milliseconds a PostgreSQL statement may run before the server cancels it (a 503);
    # 0: no limit (the CLI's long jobs share the setting: raise it rather than remove it).
    "IDP_DATABASE_STATEMENT_TIMEOUT_MS": 0,
    # Milliseconds one Redis command (or connect) may take before it counts as Redis
    # being down: the deny-list asks the database, rate limits count in process memory.
    "IDP_REDIS_TIMEOUT_MS": 1000,
}
