"""Helpers shared by the tests (flaskr's AuthActions pattern)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from idp.apps import services as app_services
from idp.db_types import utcnow
from keys import services as key_services
from keys.models import ACTIVE, NEXT
from keys.signer import key_cache

FILES = Path(__file__).parent / "files"
KEK = base64.urlsafe_b64encode(b"k" * 32).decode()


def fixed_private_key(n: int):
    return serialization.load_pem_private_key((FILES / f"rsa_key_{n}.pem").read_bytes(), None)


def install_fixed_keys():
    """Active = rsa_key_1, next = rsa_key_2, both published long enough to rotate."""
    long_ago = utcnow() - timedelta(days=1)
    active = key_services.import_key(fixed_private_key(1), ACTIVE, long_ago)
    nxt = key_services.import_key(fixed_private_key(2), NEXT, long_ago)
    key_cache().invalidate()
    return {"active": active.kid, "next": nxt.kid}


def b64_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def b64_header(token: str) -> dict:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))


class Apps:
    """Register partner apps and get tokens for them."""

    def create(self, **data) -> dict:
        data.setdefault("name", "Test app")
        data.setdefault("type", "confidential")
        app, secret = app_services.create(data)
        return {**app_services.to_dict(app), "client_secret": secret}

    def confidential(self, client_id: str, scopes: str = "credits:read", **extra) -> dict:
        return self.create(client_id=client_id, allowed_scopes=scopes,
                           audience=extra.pop("audience", f"https://{client_id}.example"),
                           **extra)

    def admin(self, client_id: str = "ops-admin") -> dict:
        return self.create(client_id=client_id, allowed_scopes="admin", first_party=True,
                           audience="https://ops.example")

    @staticmethod
    def token(http, app: dict, scope: str | None = None, style: str = "basic"):
        """POST a client-credentials request; returns the Flask/requests-like response."""
        form = {"grant_type": "client_credentials"}
        if scope is not None:
            form["scope"] = scope
        if style == "post":
            form.update(client_id=app["client_id"], client_secret=app["client_secret"])
            return http.post("/oauth/token", data=form)
        return http.post("/oauth/token", data=form, headers=basic(app))


def basic(app: dict) -> dict:
    raw = f"{app['client_id']}:{app['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
