"""A sign-in is one transaction: the sign-in, its audit record and the new session."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.helpers import PASSWORD, csrf_of, make_user


@pytest.fixture
def commits():
    seen = []

    def count(session):
        seen.append(session)

    event.listen(Session, "after_commit", count)
    yield seen
    event.remove(Session, "after_commit", count)


def test_a_sign_in_commits_once(client, user, commits):
    form = {"email": user.email, "password": PASSWORD}
    form["csrf_token"] = csrf_of(client.get("/login").data)
    commits.clear()
    response = client.post("/login", data=form)
    assert response.status_code == 302
    assert len(commits) == 1


def test_an_unverified_sign_in_is_kept_without_a_session(client, db, commits):
    unverified = make_user("eve@example.com", verified=False)
    form = {"email": unverified.email, "password": PASSWORD}
    form["csrf_token"] = csrf_of(client.get("/login").data)
    commits.clear()
    response = client.post("/login", data=form)
    assert response.status_code == 302 and "/verify" in response.location
    assert len(commits) == 1
    assert unverified.last_login_at is not None  # re-read after the request
