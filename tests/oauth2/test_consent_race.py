"""Two consents of one user to one app at the same moment (two tabs, two nodes): both
succeed, and the stored consent holds the scopes of both (the soak found a 500 here)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from idp.core.extensions import db
from idp.oauth2 import services


@pytest.mark.postgres(only=True)
def test_concurrent_first_consents_both_count(committed_db, app, apps, user):
    apps.partner("shop", "openid profile email")
    barrier = threading.Barrier(8, timeout=30)
    scopes = ["openid profile", "openid email"] * 4

    def grant(i: int) -> None:
        with app.app_context():
            barrier.wait()
            services.grant_consent(user.id, "shop", scopes[i])
            db.session.remove()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(grant, range(8)))  # re-raises any worker's error

    db.session.rollback()
    [consent] = services.consents(user.id)
    assert sorted(consent.scopes) == ["email", "openid", "profile"]


def test_a_second_consent_adds_its_scopes(db, apps, user):
    apps.partner("shop", "openid profile email")
    services.grant_consent(user.id, "shop", "openid")
    services.grant_consent(user.id, "shop", "email")

    assert services.granted_scopes(user.id, "shop") == {"openid", "email"}
