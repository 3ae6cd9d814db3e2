"""Seed the fuzzing server's database and print the credentials the fuzzer uses (JSON).

Run with the server's own environment (``python -m fuzz.seed``): signing keys, the
catalogue, a confidential app holding every resource scope, a first-party admin app,
and a user with credits who granted the app its user scopes, with an access token the
server's own token generator issued to that user (as after the code flow)."""

from __future__ import annotations

import json
import sys

from idp import create_app

USER_SCOPES = "openid profile email credits:read credits:consume credits:purchase user:metadata"
APP_SCOPES = f"{USER_SCOPES} roles:manage".replace("openid profile email ", "")


def seed() -> dict:
    from idp import demo
    from idp.apps import services as apps
    from idp.apps.services import query_client
    from idp.core.db_types import utcnow
    from idp.core.extensions import db
    from idp.oauth2 import services as oauth
    from idp.oauth2.server import authorization_server
    from idp.users import services as users
    from keys import services as keys
    from wallet import ledger
    from wallet import services as wallet
    from wallet.models import PROMO_GRANT

    keys.ensure_active()
    demo.seed_packages()
    site = "https://fuzz.example"
    partner, partner_secret = apps.create(
        {
            "client_id": "fuzz-partner",
            "name": "Fuzz partner",
            "type": "confidential",
            "allowed_scopes": f"{USER_SCOPES} roles:manage offline_access",
            "redirect_uris": [f"{site}/cb"],
            "allowed_origins": [site],
            "post_logout_redirect_uris": [f"{site}/bye"],
            "audience": site,
        }
    )
    admin, admin_secret = apps.create(
        {
            "client_id": "fuzz-admin",
            "name": "Fuzz operator",
            "type": "confidential",
            "allowed_scopes": "admin",
            "first_party": True,
            "audience": "https://ops.fuzz.example",
        }
    )
    user = users.create("fuzz@example.com", "correct horse battery", "Fuzz", verified=True)
    wallet.grant(ledger.wallet_for(user.id), 1_000_000, PROMO_GRANT, "admin:fuzz", reason="fuzz")
    oauth.grant_consent(user.id, partner.client_id, USER_SCOPES)
    token = authorization_server().generate_token(
        "authorization_code",
        query_client(partner.client_id),
        oauth.Subject(user.id, user.sub, utcnow()),
        USER_SCOPES,
        include_refresh_token=False,
    )
    db.session.commit()
    return {
        "partner": {"client_id": partner.client_id, "client_secret": partner_secret},
        "admin": {"client_id": admin.client_id, "client_secret": admin_secret},
        "user": {"sub": user.sub, "access_token": token["access_token"]},
        "app_scopes": APP_SCOPES,
    }


if __name__ == "__main__":
    app = create_app()
    with app.app_context():
        json.dump(seed(), sys.stdout)
