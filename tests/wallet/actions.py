"""Actions on the credit API for the wallet tests: ``Credits`` (flaskr's AuthActions
pattern) is one caller, holding its bearer token and, for a confidential app acting for
a user with a client-credentials token, the user it names; plus direct database helpers
to fund wallets, read what is stored and backdate holds."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, select, update

from idp.core.db_types import utcnow
from idp.core.extensions import db
from idp.oauth2 import services as oauth_services
from tests.helpers import Apps, bearer, user_tokens
from wallet import ledger, services
from wallet.models import PROMO_GRANT, Hold, LedgerEntry, Wallet

API = "/api/cross-app"
WALLET_SCOPES = "credits:read credits:consume credits:purchase"
USER_SCOPE = "openid credits:read credits:consume"


PARTNER_SCOPES = "openid profile " + WALLET_SCOPES


def new_key() -> str:
    return "key-" + secrets.token_hex(8)


class Credits:
    """Calls the credit API as one caller."""

    def __init__(self, http, token: str, acting_for: str | None = None) -> None:
        self.http = http
        self.token = token
        # A client-credentials caller names the user in ``user`` (query string here).
        self.params = {"user": acting_for} if acting_for else {}

    def get(self, path: str, **params):
        return self.http.get(
            API + path, headers=bearer(self.token), query_string={**self.params, **params}
        )

    def post(self, path: str, body: dict | None = None, headers: dict | None = None):
        return self.http.post(
            API + path,
            json=body if body is not None else {},
            headers={**bearer(self.token), **(headers or {})},
            query_string=self.params,
        )

    def state(self) -> dict:
        response = self.get("/credits")
        assert response.status_code == 200, response.json
        return {k: response.json[k] for k in ("balance", "held", "available")}

    def consume(self, amount=10, key: str | None = None, service="render", **extra):
        body = {"amount": amount, "service": service, "idempotency_key": key or new_key()}
        return self.post("/credits/consume", {**body, **extra})

    def hold(self, amount=40, ttl=60, key: str | None = None, service="render"):
        body = {"amount": amount, "ttl_seconds": ttl, "service": service}
        return self.post("/credits/holds", {**body, "idempotency_key": key or new_key()})

    def hold_id(self, amount=40, ttl=60) -> str:
        response = self.hold(amount, ttl)
        assert response.status_code == 201, response.json
        return response.json["hold"]["id"]

    def capture(self, hold_id: str, amount: int | None = None):
        return self.post(
            f"/credits/holds/{hold_id}/capture", {} if amount is None else {"amount": amount}
        )

    def release(self, hold_id: str):
        return self.post(f"/credits/holds/{hold_id}/release")

    def transactions(self, **params):
        return self.get("/credits/transactions", **params)


def user_token(http, app: dict, scope: str = USER_SCOPE, **login) -> str:
    """A user's access token for ``app`` through the authorization-code flow (``login``:
    ``email`` and ``password`` of someone other than the ``user`` fixture)."""
    return user_tokens(http, app, scope, **login)["access_token"]


def delegated(http, app: dict, user, scope: str = "credits:read credits:consume") -> Credits:
    """``app`` acting for ``user`` with a client-credentials token, after the user
    granted it ``scope`` (recorded directly, as the consent page would)."""
    oauth_services.grant_consent(user.id, app["client_id"], scope)
    return Credits(http, app_token(http, app, scope), acting_for=user.sub)


def app_token(http, app: dict, scope: str | None = None) -> str:
    response = Apps.token(http, app, scope)
    assert response.status_code == 200, response.json
    return response.json["access_token"]


def fund(user, credits: int) -> Wallet:
    """Give ``user`` promotional credits; returns the wallet."""
    wallet = ledger.wallet_for(user.id)
    services.grant(wallet, credits, PROMO_GRANT, "test", reason="test funds")
    return wallet


def stored(user) -> tuple[int, int]:
    """(balance, held) as the database holds them now."""
    return tuple(
        db.session.execute(
            select(Wallet.balance, Wallet.held).where(Wallet.user_id == user.id)
        ).one()
    )


def entries(user, kind: str | None = None) -> list[LedgerEntry]:
    query = select(LedgerEntry).join(Wallet).where(Wallet.user_id == user.id)
    if kind:
        query = query.where(LedgerEntry.kind == kind)
    db.session.expire_all()
    return list(db.session.scalars(query.order_by(LedgerEntry.id)))


def entry_count(**where) -> int:
    query = select(func.count()).select_from(LedgerEntry)
    for column, value in where.items():
        query = query.where(getattr(LedgerEntry, column) == value)
    return db.session.scalar(query)


def backdate(hold_id: str, seconds: int = 1) -> None:
    """Move a hold's expiry into the past (the shortest ttl is 10 s)."""
    db.session.execute(
        update(Hold)
        .where(Hold.id == hold_id)
        .values(expires_at=utcnow() - timedelta(seconds=seconds))
    )
    db.session.commit()
