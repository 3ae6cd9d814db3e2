"""Rotating the key-encryption key: `flask events rewrap` re-seals webhook secrets under
the new key, after which the old key can be dropped and deliveries still sign."""

from __future__ import annotations

import base64

from standardwebhooks.webhooks import Webhook

from idp.core import outbox
from idp.oauth2 import services as oauth2
from tests.helpers import KEK

NEW = base64.urlsafe_b64encode(b"n" * 32).decode()


def test_rewrap_lets_the_old_key_go(committed_db, make_app, user, hook, receiver):
    both = make_app(IDP_KEY_ENCRYPTION_KEY=f"{NEW},{KEK}")
    with both.app_context():  # the CLI runs in the app whose context is current
        result = both.test_cli_runner().invoke(args=["events", "rewrap"])
        assert result.output.strip() == "re-sealed 1 webhook secrets"
        again = both.test_cli_runner().invoke(args=["events", "rewrap"])
        assert again.output.strip() == "re-sealed 0 webhook secrets"
    only_new = make_app(IDP_KEY_ENCRYPTION_KEY=NEW)
    with only_new.app_context():
        oauth2.grant_consent(user.id, "shop", "openid")
        outbox.commit()
    [request] = receiver.requests
    assert Webhook(hook[1]).verify(request["body"], request["headers"])["type"] == (
        "consent.granted"
    )


def test_without_rewrap_the_new_key_alone_cannot_sign(committed_db, make_app, user, hook, receiver):
    only_new = make_app(IDP_KEY_ENCRYPTION_KEY=NEW)
    with only_new.app_context():
        oauth2.grant_consent(user.id, "shop", "openid")
        outbox.commit()
    assert receiver.requests == []  # retried by the outbox, never sent unsigned
