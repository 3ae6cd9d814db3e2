"""A revoked token never becomes valid again because Redis restarted or missed the
revocation (idp/oauth2/denylist.py): Redis caches "not revoked" answers in front of the
database, and a stale one must never win over the database's revocation."""

from __future__ import annotations

import pytest

from tests.helpers import basic

from .conftest import timed

pytestmark = pytest.mark.postgres


def _issue(stack) -> str:
    form = {"grant_type": "client_credentials", "scope": "credits:read"}
    response = stack.client().post("/oauth/token", data=form, headers=basic(stack.shop))
    assert response.status_code == 200, response.data
    return response.get_json()["access_token"]


def _active(stack, token: str) -> bool:
    response = timed(
        stack.client().post, "/oauth/introspect", data={"token": token}, headers=basic(stack.shop)
    )
    assert response.status_code == 200, response.data
    return response.get_json()["active"]


def _revoke(stack, token: str) -> None:
    response = timed(
        stack.client().post, "/oauth/revoke", data={"token": token}, headers=basic(stack.shop)
    )
    assert response.status_code == 200, response.data


def test_a_snapshot_taken_before_the_revocation_does_not_revive_the_token(stack):
    """Redis restarts from a snapshot that still says "not revoked"."""
    token = _issue(stack)
    assert _active(stack, token)  # cached: not revoked, tagged with this server's run_id
    key = b"idp:revoked:" + _jti(token).encode()
    run_id = stack.redis.client().info("server")["run_id"].encode()
    assert stack.redis.client().get(key) == b"-" + run_id
    stack.redis.save()  # the snapshot holds that answer
    _revoke(stack, token)
    stack.redis.kill()  # before any later snapshot
    stack.redis.start()  # loads the old one
    assert not _active(stack, token)
    assert not _active(stack, token)  # and again, now from the repaired cache


def test_a_revocation_redis_missed_is_written_there_when_it_answers_again(stack):
    """Redis hangs while the token is revoked (the database commits it; Redis never
    hears of it), then comes back with the same contents and run_id."""
    token = _issue(stack)
    assert _active(stack, token)
    stack.redis.pause()
    try:
        _revoke(stack, token)
        assert not _active(stack, token)  # the database answers meanwhile
    finally:
        stack.redis.resume()
    assert not _active(stack, token)
    key = b"idp:revoked:" + _jti(token).encode()
    assert stack.redis.client().get(key) == stack.shop["client_id"].encode()


def test_revoked_while_redis_was_down_stays_revoked_after_it_restarts(stack):
    token = _issue(stack)
    assert _active(stack, token)
    stack.redis.kill()
    try:
        _revoke(stack, token)
        assert not _active(stack, token)
    finally:
        stack.redis.start()
    assert not _active(stack, token)


def _jti(token: str) -> str:
    from tests.helpers import b64_claims

    return b64_claims(token)["jti"]
