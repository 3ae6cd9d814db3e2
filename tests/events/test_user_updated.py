"""``user.updated``: written by the profile change itself (a new name, a completed
change of address), heard by the apps the user granted, each seeing only the claims its
scopes show."""

from __future__ import annotations

import re

import pytest
from standardwebhooks.webhooks import Webhook

from idp.core import outbox
from idp.events import endpoints
from idp.oauth2 import services as oauth2
from idp.users import email_change
from idp.users import services as users
from idp.users.errors import InvalidName
from tests.helpers import PASSWORD


@pytest.fixture
def hooks(db, apps, receiver, user):
    """shop sees the address (email), blog the name (profile), plain neither; stranger
    listens but was never granted."""
    granted = {"shop": "openid email", "blog": "openid profile", "plain": "openid"}
    secrets = {}
    for name in (*granted, "stranger"):
        apps.partner(name, "openid email profile")
        _, secrets[name] = endpoints.add(name, f"{receiver.url}/{name}", ["user.updated"])
    db.session.commit()
    for name, scopes in granted.items():
        oauth2.grant_consent(user.id, name, scopes)
    outbox.drain()
    receiver.requests.clear()
    return secrets


def heard(receiver, secrets) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for request in receiver.requests:
        name = request["path"].rsplit("/", 1)[1]
        event = Webhook(secrets[name]).verify(request["body"], request["headers"])
        assert event["type"] == "user.updated"
        found.setdefault(name, []).append(event["data"])
    receiver.requests.clear()
    return found


def test_a_new_name_is_told_to_the_apps_that_see_names(db, user, hooks, receiver):
    users.update_profile(user, "  Ada Lovelace ")
    outbox.drain()  # a request's end delivers what its commits queued
    assert heard(receiver, hooks) == {
        "blog": [{"sub": user.sub, "name": "Ada Lovelace", "changed": ["name"]}]
    }
    users.update_profile(user, "Ada Lovelace")  # the same name: nothing changed
    outbox.drain()
    assert receiver.requests == []


def test_a_completed_change_of_address_is_told_to_the_apps_that_see_it(
    db, user, hooks, receiver, mailbox
):
    new = email_change.request_change(user, "ada.new@example.com", PASSWORD)
    assert receiver.requests == []  # asked for, not done
    [code] = [
        re.search(r"code: (\d{6})", m["Subject"]).group(1)
        for m in mailbox.messages
        if m["To"] == new and "code" in m["Subject"]
    ]
    email_change.confirm(user, new, code)
    outbox.drain()
    assert heard(receiver, hooks) == {
        "shop": [
            {
                "sub": user.sub,
                "email": "ada.new@example.com",
                "email_verified": True,
                "changed": ["email"],
            }
        ]
    }


def test_a_refused_change_tells_no_one(db, user, hooks, receiver):
    with pytest.raises(InvalidName):
        users.update_profile(user, "x" * 101)
    assert receiver.requests == []
