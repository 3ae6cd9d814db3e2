"""Registry operations, and the cached client view Authlib authenticates against."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import ClientMixin
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from idp.core import scopes as scope_names
from idp.core.db_types import utcnow
from idp.core.extensions import db

from . import schemas
from .errors import AppNotFound, ClientIdInUse, NameInUse
from .models import (
    ACTIVE,
    CLIENT_CREDENTIALS,
    CONFIDENTIAL,
    DISABLED,
    NO_AUTH,
    RESPONSE_TYPES,
    SECRET_AUTH_METHODS,
    USER_GRANT_TYPES,
    AppIntegration,
)


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def policy() -> schemas.Policy:
    cfg = current_app.config
    return schemas.Policy(
        production=cfg["IDP_ENV"] == "production",
        max_lifetime=cfg["IDP_MAX_ACCESS_TOKEN_LIFETIME"],
        default_lifetime=min(
            cfg["IDP_ACCESS_TOKEN_LIFETIME"], cfg["IDP_MAX_ACCESS_TOKEN_LIFETIME"]
        ),
        reserved_audiences=frozenset(
            {
                cfg["IDP_WALLET_AUDIENCE"],
                cfg["IDP_ADMIN_AUDIENCE"],
                cfg["IDP_API_AUDIENCE"],
                cfg["IDP_ISSUER"],
            }
        ),
        refresh_idle_default=cfg["IDP_REFRESH_IDLE_LIFETIME"],
        refresh_absolute_default=cfg["IDP_REFRESH_ABSOLUTE_LIFETIME"],
        refresh_grace_default=cfg["IDP_REFRESH_REUSE_GRACE_SECONDS"],
    )


def register(data: object) -> tuple[AppIntegration, str | None]:
    """An operator's registration (``flask apps create``, the admin API): :func:`create`
    plus the rules that catch an operator's slips, which seed data and test fixtures
    need not follow: at least one scope named, and a name no other app has in any case."""
    values = schemas.validate_new(data, policy())
    schemas.require_scopes(values["allowed_scopes"])
    _refuse_taken_name(values["name"])
    return _insert(values)


def create(data: object) -> tuple[AppIntegration, str | None]:
    """Insert an app without :func:`register`'s operator rules (the demo's seed, test
    fixtures); returns it and its client secret (shown this once, stored hashed)."""
    return _insert(schemas.validate_new(data, policy()))


def _insert(values: dict) -> tuple[AppIntegration, str | None]:
    values.setdefault("client_id", "app_" + secrets.token_hex(8))
    values.setdefault("audience", values["client_id"])
    now = utcnow()
    secret = None
    if values["client_type"] == CONFIDENTIAL:
        secret = secrets.token_urlsafe(32)
        values["client_secret_hash"] = _hash_secret(secret)
        values["secret_rotated_at"] = now
    app = AppIntegration(**values, status=ACTIVE, created_at=now, updated_at=now)
    db.session.add(app)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        _refuse_taken_name(values["name"])  # taken by a registration racing this one
        raise ClientIdInUse(
            f"client_id {values['client_id']!r} is already registered", field="client_id"
        ) from None
    return app, secret


def _refuse_taken_name(name: str, client_id: str | None = None) -> None:
    """Two apps of one name would look alike on the consent page and in the account's
    list of connected apps, so a name is taken whatever its case.  Checked first for a
    clear error; the unique index on ``lower(name)`` (migration 0012) settles a race,
    and the commit's IntegrityError then ends here too."""
    taken = db.session.scalar(
        select(AppIntegration.client_id).where(
            func.lower(AppIntegration.name) == name.lower(),
            AppIntegration.client_id != (client_id or ""),
        )
    )
    if taken is not None:
        raise NameInUse(
            f"the name {name!r} is already used by the app {taken!r} (names are compared "
            "without regard to case); choose another",
            field="name",
        )


def get(client_id: str) -> AppIntegration:
    app = db.session.scalar(select(AppIntegration).where(AppIntegration.client_id == client_id))
    if app is None:
        raise AppNotFound()
    return app


def list_all() -> list[AppIntegration]:
    return list(db.session.scalars(select(AppIntegration).order_by(AppIntegration.id)))


def update(client_id: str, data: object) -> AppIntegration:
    app = get(client_id)
    values = schemas.validate_update(data, policy(), app)
    if "name" in values:
        _refuse_taken_name(values["name"], client_id)
    for key, value in values.items():
        setattr(app, key, value)
    return _save(app)


def set_status(client_id: str, status: str) -> AppIntegration:
    app = get(client_id)
    app.status = status
    return _save(app)


def disable(client_id: str) -> AppIntegration:
    return set_status(client_id, DISABLED)


def rotate_secret(client_id: str) -> tuple[AppIntegration, str]:
    """Issue a new secret; the old one stops working at once."""
    app = get(client_id)
    if app.client_type != CONFIDENTIAL:
        raise schemas.RegistryError("a public app has no client secret", field="type")
    secret = secrets.token_urlsafe(32)
    app.client_secret_hash = _hash_secret(secret)
    app.secret_rotated_at = utcnow()
    return _save(app), secret


def _save(app: AppIntegration) -> AppIntegration:
    app.updated_at = utcnow()
    name, client_id = app.name, app.client_id
    try:
        db.session.commit()
    except IntegrityError:  # renamed to a name another request just took
        db.session.rollback()
        _refuse_taken_name(name, client_id)
        raise
    client_cache().forget(app.client_id)
    return app


def to_dict(app: AppIntegration) -> dict:
    """The public view of an app: never includes the secret or its hash."""
    return {
        "client_id": app.client_id,
        "name": app.name,
        "type": app.client_type,
        "redirect_uris": app.redirect_uris,
        "allowed_origins": app.allowed_origins,
        "allowed_scopes": app.allowed_scopes,
        "audience": app.audience,
        "access_token_lifetime": app.access_token_lifetime,
        "first_party": app.first_party,
        "require_mfa": app.require_mfa,
        "refresh_token_idle_lifetime": app.refresh_token_idle_lifetime,
        "refresh_token_absolute_lifetime": app.refresh_token_absolute_lifetime,
        "refresh_reuse_grace_seconds": app.refresh_reuse_grace_seconds,
        "post_logout_redirect_uris": app.post_logout_redirect_uris,
        "logo_uri": app.logo_uri,
        "brand_color": app.brand_color,
        "client_uri": app.client_uri,
        "policy_uri": app.policy_uri,
        "tos_uri": app.tos_uri,
        "contact_email": app.contact_email,
        "status": app.status,
        "created_at": app.created_at.isoformat(),
        "updated_at": app.updated_at.isoformat(),
        "secret_rotated_at": app.secret_rotated_at.isoformat() if app.secret_rotated_at else None,
    }


@dataclass(frozen=True)
class Client(ClientMixin):
    """Immutable snapshot of an active app, safe to share between requests and threads."""

    client_id: str
    client_type: str
    secret_hash: str | None
    redirect_uris: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    allowed_scopes: tuple[str, ...]
    audience: str
    access_token_lifetime: int
    first_party: bool
    refresh_token_idle_lifetime: int
    refresh_token_absolute_lifetime: int
    post_logout_redirect_uris: tuple[str, ...]
    logo_uri: str | None
    refresh_reuse_grace_seconds: int = 0
    brand_color: str | None = None
    client_uri: str | None = None
    policy_uri: str | None = None
    tos_uri: str | None = None
    require_mfa: bool = False  # every sign-in to it needs a second factor (issue 20)

    @classmethod
    def from_model(cls, app: AppIntegration) -> Client:
        return cls(
            app.client_id,
            app.client_type,
            app.client_secret_hash,
            tuple(app.redirect_uris),
            tuple(app.allowed_origins),
            tuple(app.allowed_scopes),
            app.audience,
            app.access_token_lifetime,
            app.first_party,
            app.refresh_token_idle_lifetime,
            app.refresh_token_absolute_lifetime,
            tuple(app.post_logout_redirect_uris),
            app.logo_uri,
            app.refresh_reuse_grace_seconds,
            app.brand_color,
            app.client_uri,
            app.policy_uri,
            app.tos_uri,
            bool(app.require_mfa),
        )

    @property
    def is_confidential(self) -> bool:
        return self.client_type == CONFIDENTIAL

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope):
        """Requested scopes were validated by the grant; no scope means all it may use."""
        if scope:
            return scope
        return scope_names.to_string(
            s for s in self.allowed_scopes if s not in scope_names.USER_SCOPES
        )

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris  # exact match, RFC 9700 section 4.1.3

    def check_client_secret(self, client_secret):
        if not self.secret_hash or not isinstance(client_secret, str):
            return False
        return hmac.compare_digest(self.secret_hash, _hash_secret(client_secret))

    def check_endpoint_auth_method(self, method, endpoint):
        if self.is_confidential:
            return method in SECRET_AUTH_METHODS
        return method == NO_AUTH

    def check_response_type(self, response_type):
        return response_type in RESPONSE_TYPES

    def check_grant_type(self, grant_type):
        if grant_type == CLIENT_CREDENTIALS:
            return self.is_confidential
        return grant_type in USER_GRANT_TYPES


class ClientCache:
    """Active clients by id, each read at most every ``ttl`` seconds per process."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Client | None]] = {}
        self._lock = threading.Lock()

    def get(self, client_id: str) -> Client | None:
        entry = self._entries.get(client_id)
        if entry and time.monotonic() - entry[0] < self.ttl:
            return entry[1]
        app = db.session.scalar(
            select(AppIntegration).where(
                AppIntegration.client_id == client_id, AppIntegration.status == ACTIVE
            )
        )
        client = Client.from_model(app) if app else None
        with self._lock:
            # Unknown ids are not cached: a flood of random ids must not grow memory.
            if client is None:
                self._entries.pop(client_id, None)
            else:
                self._entries[client_id] = (time.monotonic(), client)
        return client

    def forget(self, client_id: str) -> None:
        with self._lock:
            self._entries.pop(client_id, None)

    def clear(self) -> None:
        """Forget every client (tests roll the registry back between cases)."""
        with self._lock:
            self._entries.clear()


def client_cache() -> ClientCache:
    return current_app.extensions["idp_clients"]


def query_client(client_id: str) -> Client | None:
    """Authlib hook: the active client, or None (disabled and unknown apps look alike)."""
    if not isinstance(client_id, str) or len(client_id) > 64:
        return None
    return client_cache().get(client_id)
