"""Configuration loading: defaults, then environment, then the explicit mapping."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import click

from .defaults import DEFAULTS

_INT_SETTINGS = {k for k, v in DEFAULTS.items() if isinstance(v, int)}


class ConfigError(click.ClickException, RuntimeError):
    """Raised at start-up when settings are unusable.  ``problems`` lists every one found
    (each names its setting); the message is that list, so one start-up shows them all
    instead of one per attempt.

    A click exception too: where the ``flask`` command builds the app itself (``flask
    --app idp`` calls the factory), click prints the report and exits with
    ``exit_code``, instead of a traceback."""

    exit_code = 4  # gunicorn's "App failed to load", as wsgi.APP_LOAD_ERROR

    def __init__(self, *problems: str) -> None:
        self.problems = list(problems)
        super().__init__(_describe(self.problems))

    def format_message(self) -> str:
        return self.report(multiline=sys.stderr.isatty())

    def report(self, multiline: bool = False) -> str:
        """The refusal as the entry points print it: a list for a person at a terminal,
        else one line (one record in a server's log)."""
        if multiline:
            return f"idp: refusing to start: {_describe(self.problems)}"
        count = f"{len(self.problems)} configuration problem" + "s" * (len(self.problems) > 1)
        return f"idp: refusing to start ({count}): {'; '.join(self.problems)}"


def _describe(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    lines = "\n".join(f"  - {problem}" for problem in problems)
    return f"the configuration has {len(problems)} problems:\n{lines}"


def load(app, config: Mapping[str, object] | None) -> None:
    """Fill ``app.config`` from defaults, environment and ``config``, then check it."""
    values: dict[str, object] = dict(DEFAULTS)
    # Flask's own defaults already hold SESSION_COOKIE_NAME ("session"), so a setdefault
    # after them never applies: name it here, where the mapping may still override it.
    # Cookies ignore ports, so "session" would collide with other apps on the same host.
    values["SESSION_COOKIE_NAME"] = "idp_csrf"
    for name in DEFAULTS:
        if name in os.environ:
            values[name] = os.environ[name]
    if config:
        values.update(config)
    problems = _integers(values)
    values["IDP_ISSUER"] = str(values["IDP_ISSUER"]).rstrip("/")
    app.config.update(values)

    if app.config["IDP_ENV"] not in ("development", "production"):
        problems.append("IDP_ENV must be 'development' or 'production'")
    if app.config["IDP_ENV"] == "production":
        problems += _refuse_dev_defaults(app.config)
    problems += _check_outbox(app.config)
    problems += _check_webhooks(app.config)
    problems += _payments(app.config)
    if problems:  # every problem at once, before any dev fallback is generated
        raise ConfigError(*problems)
    _fill_dev_fallbacks(app)
    _derive(app.config)


def _integers(values: dict) -> list[str]:
    """Convert the integer settings in place; one problem per setting that is not one."""
    problems = []
    for name in sorted(_INT_SETTINGS):
        try:
            values[name] = int(values[name])
        except (TypeError, ValueError):
            problems.append(f"{name} must be an integer, got {values[name]!r}")
    return problems


def _refuse_dev_defaults(cfg) -> list[str]:
    """Production must name every secret and durable store explicitly."""
    when = "when IDP_ENV=production"
    problems = [
        f"{name} must be set {when}"
        for name in ("SECRET_KEY", "IDP_KEY_ENCRYPTION_KEY", "DATABASE_URL", "IDP_SMTP_URL")
        if not cfg.get(name)
    ]
    if str(cfg.get("DATABASE_URL") or "").startswith("sqlite"):
        problems.append(f"DATABASE_URL must not be SQLite {when}")
    if urlsplit(cfg["IDP_ISSUER"]).scheme != "https":
        problems.append(f"IDP_ISSUER must be an https:// URL {when}")
    if cfg.get("SECRET_KEY") and len(str(cfg["SECRET_KEY"])) < 32:
        problems.append(f"SECRET_KEY must be at least 32 characters {when}")
    if cfg.get("IDP_KEY_ENCRYPTION_KEY") and not _is_kek(str(cfg["IDP_KEY_ENCRYPTION_KEY"])):
        # keys.crypto would refuse it too, but only later and alone: say it here with the rest.
        problems.append(f"IDP_KEY_ENCRYPTION_KEY must be 32 bytes in base64url {when}")
    return problems


def _is_kek(value: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))) == 32
    except (binascii.Error, ValueError):
        return False


def _check_outbox(cfg) -> list[str]:
    """The outbox would refuse an unknown mode later, alone (idp.core.outbox.init_app)."""
    mode = cfg.get("IDP_OUTBOX_DELIVERY")
    if mode in (None, "", "worker", "request", "cli"):
        return []
    return [f"IDP_OUTBOX_DELIVERY must be worker, request or cli, not {mode!r}"]


def _check_webhooks(cfg) -> list[str]:
    """Partner webhook delivery (idp.events): the retry schedule becomes a tuple of
    seconds; the timeout, disable threshold and listener check must be positive."""
    problems = []
    value = cfg["IDP_WEBHOOK_RETRY_SCHEDULE"]
    items = value.split(",") if isinstance(value, str) else value
    try:
        waits = tuple(int(str(item).strip()) for item in items if str(item).strip())
    except (TypeError, ValueError):
        waits = None
    if waits is None or any(w <= 0 for w in waits) or len(waits) > 30:
        problems.append(
            "IDP_WEBHOOK_RETRY_SCHEDULE must be at most 30 comma-separated positive "
            f"numbers of seconds, got {value!r}"
        )
    else:
        cfg["IDP_WEBHOOK_RETRY_SCHEDULE"] = waits
    bounds = {
        "IDP_WEBHOOK_TIMEOUT_SECONDS": (1, 120),
        "IDP_WEBHOOK_DISABLE_AFTER_FAILURES": (1, 10**6),
        "IDP_WEBHOOK_LISTENERS_CHECK_MS": (1, 60_000),
    }
    for name, (low, high) in bounds.items():
        number = cfg[name]
        if isinstance(number, int) and not low <= number <= high:  # else: already reported
            problems.append(f"{name} must be from {low} to {high}, got {number}")
    return problems


def _fill_dev_fallbacks(app) -> None:
    """Development: SQLite and secrets generated once under the instance folder."""
    cfg = app.config
    instance = Path(app.instance_path)
    if not cfg.get("DATABASE_URL"):
        instance.mkdir(parents=True, exist_ok=True)
        cfg["DATABASE_URL"] = f"sqlite:///{instance / 'idp.sqlite3'}"
    if not cfg.get("SECRET_KEY"):
        cfg["SECRET_KEY"] = _instance_secret(instance / "secret_key", secrets.token_urlsafe(48))
    if cfg.get("IDP_PAYMENTS") == "simulated" and not cfg.get("IDP_STRIPE_WEBHOOK_SECRET"):
        # The simulated checkout signs its events like Stripe does, with this dev secret.
        fresh = "whsec_dev_" + secrets.token_urlsafe(24)
        cfg["IDP_STRIPE_WEBHOOK_SECRET"] = _instance_secret(instance / "webhook_secret", fresh)
    if not cfg.get("IDP_KEY_ENCRYPTION_KEY"):
        fresh = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        cfg["IDP_KEY_ENCRYPTION_KEY"] = _instance_secret(instance / "key_encryption_key", fresh)


def _instance_secret(path: Path, fresh: str) -> str:
    """Read a generated secret, creating it (mode 0600) on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(fresh)
    return fresh


def _payments(cfg) -> list[str]:
    """Resolve IDP_PAYMENTS; production never simulates and needs both Stripe secrets."""
    mode = cfg.get("IDP_PAYMENTS") or ("stripe" if cfg.get("IDP_STRIPE_SECRET_KEY") else "disabled")
    problems = []
    if mode not in ("stripe", "simulated", "disabled"):
        problems.append("IDP_PAYMENTS must be stripe, simulated or disabled")
    if mode == "simulated" and cfg["IDP_ENV"] == "production":
        problems.append("IDP_PAYMENTS=simulated is refused when IDP_ENV=production")
    if mode == "stripe":
        for name in ("IDP_STRIPE_SECRET_KEY", "IDP_STRIPE_WEBHOOK_SECRET"):
            if not cfg.get(name):
                problems.append(f"{name} must be set when IDP_PAYMENTS=stripe")
    cfg["IDP_PAYMENTS"] = mode
    price = cfg["IDP_CREDIT_UNIT_PRICE"]
    if isinstance(price, int) and price <= 0:  # not an integer: already a problem
        problems.append("IDP_CREDIT_UNIT_PRICE must be a positive amount in minor units")
    currency = str(cfg["IDP_CREDIT_CURRENCY"]).lower()
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        problems.append("IDP_CREDIT_CURRENCY must be an ISO 4217 code such as usd")
    cfg["IDP_CREDIT_CURRENCY"] = currency
    return problems


def _derive(cfg) -> None:
    issuer = cfg["IDP_ISSUER"]
    cfg["IDP_WALLET_AUDIENCE"] = cfg.get("IDP_WALLET_AUDIENCE") or f"{issuer}/api/wallet"
    cfg["IDP_ADMIN_AUDIENCE"] = cfg.get("IDP_ADMIN_AUDIENCE") or f"{issuer}/api/admin"
    cfg["IDP_API_AUDIENCE"] = cfg.get("IDP_API_AUDIENCE") or f"{issuer}/api"
    secure = urlsplit(issuer).scheme == "https"
    # The Flask session only carries CSRF tokens and sign-up state; same rules as the SSO cookie.
    cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SECURE"] = secure
    # CSRF tokens live as long as the page that holds them may reasonably stay open.
    cfg.setdefault("WTF_CSRF_TIME_LIMIT", 3600)
    url = str(cfg["DATABASE_URL"])
    # psycopg 3 is the driver we ship; accept the common "postgres://" spellings too.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    cfg["SQLALCHEMY_DATABASE_URI"] = url
    # Pre-ping: a connection that died with a PostgreSQL restart is replaced at checkout
    # instead of failing the request that drew it (docs/reliability.md).
    engine_options: dict[str, object] = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        engine_options["connect_args"] = _postgres_timeouts(cfg)
    if url.startswith("sqlite"):
        # Several gunicorn workers / threads share the file; wait on locks instead of failing.
        engine_options = {"connect_args": {"timeout": 30}}
    engine_options = dict(cfg.get("SQLALCHEMY_ENGINE_OPTIONS") or engine_options)
    # A database error's message (logged with every 5xx) would otherwise quote the bound
    # parameters: password hashes, emails, token hashes.  Always on, whatever else is set.
    engine_options["hide_parameters"] = True
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options


def _postgres_timeouts(cfg) -> dict[str, object]:
    """libpq's connect timeout and the server-side statement timeout: an unreachable or
    stuck database becomes a 503 after a bounded wait, never a hung worker."""
    args: dict[str, object] = {}
    if cfg["IDP_DATABASE_CONNECT_TIMEOUT"] > 0:
        args["connect_timeout"] = cfg["IDP_DATABASE_CONNECT_TIMEOUT"]
    if cfg["IDP_DATABASE_STATEMENT_TIMEOUT_MS"] > 0:
        args["options"] = f"-c statement_timeout={cfg['IDP_DATABASE_STATEMENT_TIMEOUT_MS']}"
    return args
