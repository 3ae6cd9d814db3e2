"""Refresh tokens (RFC 6749 section 6): issued only for ``offline_access``, rotated on
every use, reuse detection by family (RFC 9700 section 4.14.2), lifetimes, revocation
(RFC 7009) and introspection (RFC 7662)."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import select, update

from idp.audit import services as audit
from idp.core.db_types import utcnow
from idp.oauth2 import denylist, services
from idp.oauth2.models import RefreshToken
from idp.oauth2.tokens import AccessTokenGenerator
from idp.users import services as users
from tests.helpers import Flow, b64_claims, basic, bearer

# Rotation and reuse detection are conditional updates on the token rows: database
# semantics.
pytestmark = pytest.mark.postgres

OFFLINE = "openid email offline_access"


@pytest.fixture
def tabs(apps) -> dict:
    """A public app whose tabs may race: it opted into a 30 s reuse grace window."""
    return apps.create(
        client_id="tabs",
        type="public",
        redirect_uris=["https://tabs.example/cb"],
        allowed_scopes=OFFLINE,
        audience="https://tabs.example",
        refresh_reuse_grace_seconds=30,
    )


@pytest.fixture
def issued(flow, shop) -> dict:
    return flow.tokens(shop, OFFLINE)


def row_of(db, value: str) -> RefreshToken:
    """The stored row, as committed by the requests (other app contexts)."""
    db.session.expire_all()
    return services.find_refresh_token(value)


def refused(response) -> None:
    assert response.status_code == 400, response.json
    assert response.json["error"] == "invalid_grant"


def set_row(db, value: str, **values) -> None:
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == services.token_hash(value))
        .values(**values)
    )
    db.session.commit()


# -- issuance and rotation --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("scope", "expected"),
    [("openid email", False), ("openid credits:read", False), (OFFLINE, True)],
)
@pytest.mark.parametrize("target", ["shop", "spa"])
def test_refresh_token_only_with_offline_access(flow, shop, spa, target, scope, expected):
    body = flow.tokens({"shop": shop, "spa": spa}[target], scope)
    assert ("refresh_token" in body) is expected


def test_rotation_on_every_use(flow, shop, db, issued):
    first = issued["refresh_token"]
    response = flow.refresh(shop, first)
    assert response.status_code == 200, response.json
    second = response.json["refresh_token"]
    assert second != first
    assert response.json["scope"] == OFFLINE
    old, new = row_of(db, first), row_of(db, second)
    assert old.used_at is not None and old.revoked_at is None
    assert new.used_at is None and new.family_id == old.family_id
    third = flow.refresh(shop, second)
    assert third.status_code == 200
    assert third.json["refresh_token"] not in (first, second)


def test_rotated_access_token_keeps_subject_and_auth_time(flow, shop, user, issued):
    before = b64_claims(issued["access_token"])
    after = b64_claims(flow.refresh(shop, issued["refresh_token"]).json["access_token"])
    assert after["sub"] == user.sub == before["sub"]
    assert after["auth_time"] == before["auth_time"]
    assert after["jti"] != before["jti"]
    assert "id_token" not in flow.refresh(shop, issued["refresh_token"]).json


def test_any_reuse_revokes_the_family_by_default(flow, shop, db, user, issued):
    """RFC 9700 section 4.14.2: a rotated token presented again means it leaked; the
    whole family dies, including the newest token the legitimate client holds.  With
    no grace window (the default) even an immediate second use is reuse."""
    first = issued["refresh_token"]
    newest = flow.refresh(shop, first).json["refresh_token"]
    refused(flow.refresh(shop, first))
    refused(flow.refresh(shop, newest))
    assert row_of(db, newest).revoke_reason == "reuse_detected"
    events = audit.tail(event=audit.REFRESH_REUSE)
    assert [(e.user_id, e.client_id) for e in events] == [(user.id, "shop")]
    assert events[0].detail == {"family": row_of(db, first).family_id}


def test_reuse_after_the_apps_grace_window_revokes_the_family(flow, tabs, db):
    body = flow.tokens(tabs, OFFLINE)
    first = body["refresh_token"]
    newest = flow.refresh(tabs, first).json["refresh_token"]
    set_row(db, first, used_at=utcnow() - timedelta(seconds=31))
    refused(flow.refresh(tabs, first))
    refused(flow.refresh(tabs, newest))
    assert row_of(db, newest).revoke_reason == "reuse_detected"
    assert len(audit.tail(event=audit.REFRESH_REUSE)) == 1


def test_reuse_is_detected_even_after_the_rotated_token_expired(flow, shop, db, issued):
    first = issued["refresh_token"]
    newest = flow.refresh(shop, first).json["refresh_token"]
    set_row(db, first, expires_at=utcnow() - timedelta(seconds=1))
    refused(flow.refresh(shop, first))
    refused(flow.refresh(shop, newest))
    assert len(audit.tail(event=audit.REFRESH_REUSE)) == 1


def live_rows(db, family_id: str) -> list[RefreshToken]:
    """The family's tokens that are neither used nor revoked."""
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(RefreshToken).where(
                RefreshToken.family_id == family_id,
                RefreshToken.used_at.is_(None),
                RefreshToken.revoked_at.is_(None),
            )
        )
    )


def test_reuse_inside_the_window_supersedes_the_successor(flow, tabs, db, user):
    """Two tabs refresh with the same token: the second answer replaces the first
    instead of branching the family.  The superseded token answers invalid_grant and
    is audited, and the family lives on through the newer one."""
    first = flow.tokens(tabs, OFFLINE)["refresh_token"]
    a = flow.refresh(tabs, first)
    b = flow.refresh(tabs, first)
    assert a.status_code == b.status_code == 200
    older, newer = a.json["refresh_token"], b.json["refresh_token"]
    assert older != newer
    family = row_of(db, first).family_id
    assert [r.id for r in live_rows(db, family)] == [row_of(db, newer).id]
    assert row_of(db, older).revoke_reason == "superseded"
    refused(flow.refresh(tabs, older))
    events = audit.tail(event=services.REFRESH_SUPERSEDED)
    assert [(e.user_id, e.client_id, e.detail) for e in events] == [
        (user.id, "tabs", {"family": family})
    ]
    assert audit.tail(event=audit.REFRESH_REUSE) == []
    # Both access tokens stay good: the same user, the same grant.
    assert all(accepted(flow.http, r.json["access_token"]) for r in (a, b))
    assert flow.refresh(tabs, newer).status_code == 200


def test_reuse_inside_the_window_after_the_successor_was_used_is_reuse(flow, tabs, db):
    """Superseding only replaces an unused successor: once the family moved on, an old
    token is reuse even inside the window (a second branch would otherwise appear)."""
    first = flow.tokens(tabs, OFFLINE)["refresh_token"]
    second = flow.refresh(tabs, first).json["refresh_token"]
    third = flow.refresh(tabs, second).json["refresh_token"]
    refused(flow.refresh(tabs, first))
    refused(flow.refresh(tabs, third))
    assert row_of(db, third).revoke_reason == "reuse_detected"
    assert len(audit.tail(event=audit.REFRESH_REUSE)) == 1


# -- access tokens of a revoked family ----------------------------------------------------
def accepted(http, access_token: str) -> bool:
    """Whether one of our APIs (userinfo) takes the access token."""
    response = http.get("/oauth/userinfo", headers=bearer(access_token))
    assert response.status_code in (200, 401), response.json
    return response.status_code == 200


def test_reuse_denies_every_access_token_the_family_minted(flow, shop, issued):
    """Revoking the grant takes its access tokens with it: the one from the code
    exchange and every one a rotation issued, at our APIs and at introspection."""
    first = issued["refresh_token"]
    rotated = flow.refresh(shop, first).json
    again = flow.refresh(shop, rotated["refresh_token"]).json
    minted = [issued["access_token"], rotated["access_token"], again["access_token"]]
    assert all(accepted(flow.http, t) for t in minted)
    assert all(introspect(flow.http, shop, t).json["active"] for t in minted)
    refused(flow.refresh(shop, first))  # reuse
    for token in minted:
        assert not accepted(flow.http, token)
        assert introspect(flow.http, shop, token).json == {"active": False}


def test_code_replay_denies_the_access_tokens_of_its_family(flow, shop):
    """RFC 6749 section 4.1.2: a replayed code revokes the tokens issued from it,
    including those the refresh tokens it produced have minted since."""
    code, verifier = flow.code(shop, OFFLINE)
    issued = flow.exchange(shop, code, verifier).json
    rotated = flow.refresh(shop, issued["refresh_token"]).json
    assert accepted(flow.http, rotated["access_token"])
    assert flow.exchange(shop, code, verifier).status_code == 400
    assert not accepted(flow.http, issued["access_token"])
    assert not accepted(flow.http, rotated["access_token"])
    refused(flow.refresh(shop, rotated["refresh_token"]))


def test_reuse_denies_the_access_tokens_of_superseded_answers_too(flow, tabs):
    first = flow.tokens(tabs, OFFLINE)["refresh_token"]
    a, b = flow.refresh(tabs, first).json, flow.refresh(tabs, first).json  # b supersedes a
    c = flow.refresh(tabs, b["refresh_token"]).json
    minted = [a["access_token"], b["access_token"], c["access_token"]]
    assert all(accepted(flow.http, t) for t in minted)
    # ``first`` is still inside the window, but the family moved on: reuse.
    refused(flow.refresh(tabs, first))
    assert not any(accepted(flow.http, t) for t in minted)


def test_family_revoked_while_rotating_refuses_the_answer(flow, shop, db, issued, monkeypatch):
    """A reuse that revokes the family between the claim of a token and the saving of
    its successor (here: while the access token is being signed): the successor is
    never handed out and the access token minted for it is denied."""
    first = issued["refresh_token"]
    parent = row_of(db, first)
    family, parent_id = parent.family_id, parent.id
    original = AccessTokenGenerator.get_extra_claims

    def revoked_meanwhile(generator, client, grant_type, user, scope):
        if grant_type == "refresh_token":
            services.revoke_family(family, "reuse_detected")
        return original(generator, client, grant_type, user, scope)

    monkeypatch.setattr(AccessTokenGenerator, "get_extra_claims", revoked_meanwhile)
    refused(flow.refresh(shop, first))
    assert live_rows(db, family) == []
    successor = db.session.scalar(select(RefreshToken).where(RefreshToken.parent_id == parent_id))
    assert successor.revoke_reason == "reuse_detected"
    assert denylist.is_revoked(successor.access_jti)


# -- cost: one query for the token and its user, one commit -----------------------------------
def test_a_refresh_is_one_transaction_reading_the_token_once(committed_db, app, flow, db, shop):
    """The claim, the successor and what it was issued with commit together, and the
    token and its user are read in one query: no re-read after a commit (issue 15)."""
    first = flow.tokens(shop, OFFLINE)["refresh_token"]
    statements, commits = [], []

    def executed(conn, cursor, statement, *_):
        statements.append(" ".join(statement.split()[:4]))

    engine = db.engine
    sqlalchemy_event.listen(engine, "before_cursor_execute", executed)
    sqlalchemy_event.listen(engine, "commit", lambda conn: commits.append(1))
    try:
        response = flow.refresh(shop, first)
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", executed)
    assert response.status_code == 200, response.json
    assert len(commits) == 1, statements
    reads = [s for s in statements if s.startswith("SELECT") and "refresh_tokens" in s]
    assert len(reads) == 1, statements
    assert not any(s.startswith("SELECT users.") for s in statements), statements
    assert len([s for s in statements if s.startswith("UPDATE refresh_tokens")]) == 2


def test_sign_out_everywhere_during_a_rotation_revokes_the_successor(flow, shop, db, issued):
    """A user-wide revocation that runs while a rotation holds its claim (here: while
    the access token is signed) still revokes the successor the rotation commits."""
    original = AccessTokenGenerator.get_extra_claims
    parent = row_of(db, issued["refresh_token"])
    user_id, family = parent.user_id, parent.family_id

    def revoked_meanwhile(generator, client, grant_type, user, scope):
        if grant_type == "refresh_token":
            services.revoke_refresh_tokens(user_id, reason="signed_out")
        return original(generator, client, grant_type, user, scope)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AccessTokenGenerator, "get_extra_claims", revoked_meanwhile)
        flow.refresh(shop, issued["refresh_token"])
    assert live_rows(db, family) == []


# -- concurrency: one live token per family ----------------------------------------------
def assert_one_live_token(app, apps, flow, db, grace: int, count: int) -> None:
    """``count`` threads present one token at once (each its own client, so its own
    session and connection).  Without a window one may win and the others revoke the
    family; with one, each supersedes the last.  Never do two live tokens remain."""
    racer = apps.create(
        client_id="racer",
        type="public",
        redirect_uris=["https://racer.example/cb"],
        allowed_scopes=OFFLINE,
        audience="https://racer.example",
        refresh_reuse_grace_seconds=grace,
    )
    first = flow.tokens(racer, OFFLINE)["refresh_token"]
    barrier = threading.Barrier(count, timeout=30)

    def worker(_):
        node = Flow(app.test_client(), None)
        barrier.wait()
        return node.refresh(racer, first)

    with ThreadPoolExecutor(max_workers=count) as pool:
        responses = list(pool.map(worker, range(count)))
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {200, 400}, statuses
    live = {r.id for r in live_rows(db, row_of(db, first).family_id)}
    assert len(live) <= 1
    handed_out = [r.json["refresh_token"] for r in responses if r.status_code == 200]
    if grace:
        assert statuses == {200: count}  # the benign race logs no tab out
        assert len([t for t in handed_out if row_of(db, t).id in live]) == 1
        assert audit.tail(event=audit.REFRESH_REUSE) == []
    else:
        assert statuses[200] <= 1
        assert live == set()  # the reuse revoked the family, the winner's successor too
        assert len(audit.tail(event=audit.REFRESH_REUSE)) >= 1


@pytest.mark.postgres(only=True)
@pytest.mark.parametrize("grace", [0, 30])
def test_parallel_refreshes_leave_at_most_one_live_token(committed_db, app, apps, flow, db, grace):
    assert_one_live_token(app, apps, flow, db, grace, count=16)


@pytest.mark.parametrize("grace", [0, 30])
def test_parallel_refreshes_at_a_smaller_scale(committed_db, app, apps, flow, db, grace):
    """The same invariant on both backends (SQLite has one writer at a time)."""
    assert_one_live_token(app, apps, flow, db, grace, count=6)


@pytest.mark.parametrize("thief", ["blog", "spa"])
def test_token_of_another_client_is_refused_without_side_effect(
    flow, apps, shop, spa, db, issued, thief
):
    blog = apps.create(client_id="blog", allowed_scopes=OFFLINE, audience="https://blog.example")
    other = {"blog": blog, "spa": spa}[thief]
    refused(flow.refresh(other, issued["refresh_token"]))
    assert row_of(db, issued["refresh_token"]).used_at is None
    assert flow.refresh(shop, issued["refresh_token"]).status_code == 200
    assert audit.tail(event=audit.REFRESH_REUSE) == []


@pytest.mark.parametrize("value", ["garbage", "x" * 300])
def test_unknown_refresh_token(flow, shop, value):
    refused(flow.refresh(shop, value))


def test_public_client_rotates_too(flow, spa):
    body = flow.tokens(spa, OFFLINE)
    response = flow.refresh(spa, body["refresh_token"])
    assert response.status_code == 200
    assert response.json["refresh_token"] != body["refresh_token"]


# -- scope ------------------------------------------------------------------------------------
@pytest.mark.parametrize("narrower", ["openid", "openid email", "email offline_access"])
def test_narrower_scope_is_allowed_and_the_grant_keeps_its_scope(flow, shop, issued, narrower):
    """RFC 6749 section 6: the access token gets the narrower scope; a new refresh token
    keeps the scope of the one presented (and is issued even without offline_access)."""
    response = flow.refresh(shop, issued["refresh_token"], scope=narrower)
    assert response.status_code == 200, response.json
    assert response.json["scope"] == narrower
    assert b64_claims(response.json["access_token"])["scope"] == narrower
    again = flow.refresh(shop, response.json["refresh_token"])
    assert again.status_code == 200, again.json
    assert again.json["scope"] == OFFLINE


@pytest.mark.parametrize(
    "wider",
    [
        "openid email offline_access profile",  # allowed for the app, never granted
        "openid credits:read",
        "openid admin",
        "no-such-scope",
    ],
)
def test_wider_scope_is_invalid_scope_without_side_effect(flow, shop, db, issued, wider):
    response = flow.refresh(shop, issued["refresh_token"], scope=wider)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_scope"
    # The refused request did not spend the token (no grace window on this node).
    assert row_of(db, issued["refresh_token"]).used_at is None
    assert flow.refresh(shop, issued["refresh_token"]).status_code == 200


# -- lifetimes --------------------------------------------------------------------------------
@pytest.fixture
def short_lived(apps):
    return apps.create(
        client_id="short",
        redirect_uris=["https://short.example/cb"],
        allowed_scopes=OFFLINE,
        audience="https://short.example",
        refresh_token_idle_lifetime=60,
        refresh_token_absolute_lifetime=100,
    )


def test_lifetimes_come_from_the_app(flow, short_lived, db):
    first = flow.tokens(short_lived, OFFLINE)["refresh_token"]
    row = row_of(db, first)
    assert row.expires_at - row.created_at == timedelta(seconds=60)
    assert row.family_expires_at - row.created_at == timedelta(seconds=100)
    # Time passes: the family has 10 s left.  Rotation renews the idle window but never
    # past the family's absolute end.
    family_end = utcnow() + timedelta(seconds=10)
    set_row(db, first, family_expires_at=family_end)
    second = flow.refresh(short_lived, first).json["refresh_token"]
    new = row_of(db, second)
    assert new.family_expires_at == row_of(db, first).family_expires_at
    assert new.expires_at == new.family_expires_at


@pytest.mark.parametrize("column", ["expires_at", "family_expires_at"], ids=["idle", "absolute"])
def test_expired_refresh_token_is_refused(flow, short_lived, db, column):
    value = flow.tokens(short_lived, OFFLINE)["refresh_token"]
    set_row(db, value, **{column: utcnow() - timedelta(seconds=1)})
    refused(flow.refresh(short_lived, value))


def test_disabled_user_is_refused(flow, shop, user, issued):
    users.set_disabled(user.email, True)
    refused(flow.refresh(shop, issued["refresh_token"]))


# -- revocation (RFC 7009) ------------------------------------------------------------------
def revoke(http, app: dict, token: str, hint: str | None = None):
    form = {"token": token}
    if hint:
        form["token_type_hint"] = hint
    if app.get("client_secret"):
        return http.post("/oauth/revoke", data=form, headers=basic(app))
    return http.post("/oauth/revoke", data={**form, "client_id": app["client_id"]})


def introspect(http, app: dict, token: str, hint: str | None = None):
    form = {"token": token, **({"token_type_hint": hint} if hint else {})}
    return http.post("/oauth/introspect", data=form, headers=basic(app))


@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token"])
@pytest.mark.parametrize("which", ["newest", "rotated"])
def test_revoking_a_refresh_token_revokes_its_family(flow, shop, db, issued, hint, which):
    """RFC 7009 section 2.1: the grant goes with it; the hint only orders the search."""
    first = issued["refresh_token"]
    newest = flow.refresh(shop, first).json["refresh_token"]
    response = revoke(flow.http, shop, newest if which == "newest" else first, hint)
    assert response.status_code == 200
    assert response.json == {}
    refused(flow.refresh(shop, newest))
    assert row_of(db, newest).revoke_reason == "client_revoked"
    assert audit.tail(event=audit.REFRESH_REUSE) == []


def test_revoking_a_refresh_token_denies_the_access_tokens_of_its_grant(flow, shop, issued):
    """RFC 7009 section 2.1: access tokens based on the same grant are invalidated too."""
    rotated = flow.refresh(shop, issued["refresh_token"]).json
    assert revoke(flow.http, shop, rotated["refresh_token"]).status_code == 200
    for token in (issued["access_token"], rotated["access_token"]):
        assert introspect(flow.http, shop, token).json == {"active": False}
        assert not accepted(flow.http, token)


def test_public_client_revokes_its_refresh_token(flow, spa):
    body = flow.tokens(spa, OFFLINE)
    assert revoke(flow.http, spa, body["refresh_token"]).status_code == 200
    refused(flow.refresh(spa, body["refresh_token"]))


def test_revoking_another_clients_refresh_token_is_refused(flow, apps, shop, issued):
    blog = apps.create(client_id="blog", allowed_scopes=OFFLINE, audience="https://blog.example")
    response = revoke(flow.http, blog, issued["refresh_token"])
    assert response.status_code == 400
    assert response.json["error"] == "invalid_grant"
    assert flow.refresh(shop, issued["refresh_token"]).status_code == 200


def test_revoking_an_access_token_with_the_refresh_hint(flow, shop, issued):
    response = revoke(flow.http, shop, issued["access_token"], "refresh_token")
    assert response.status_code == 200
    assert introspect(flow.http, shop, issued["access_token"]).json == {"active": False}
    # Only the access token: the grant itself lives on.
    assert flow.refresh(shop, issued["refresh_token"]).status_code == 200


# -- introspection (RFC 7662) ---------------------------------------------------------------
@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token", "id_token"])
def test_introspection_of_a_live_refresh_token(flow, shop, user, db, issued, hint):
    response = introspect(flow.http, shop, issued["refresh_token"], hint)
    assert response.status_code == 200
    row = row_of(db, issued["refresh_token"])
    assert response.json == {
        "active": True,
        "token_type": "refresh_token",
        "scope": OFFLINE,
        "client_id": "shop",
        "sub": user.sub,
        "iss": "https://idp.test",
        "exp": services.epoch(row.expires_at),
        "iat": services.epoch(row.created_at),
    }


@pytest.mark.parametrize("state", ["rotated", "revoked", "expired", "disabled_user", "other_app"])
def test_introspection_of_a_dead_or_foreign_refresh_token(
    flow, apps, shop, user, db, issued, state
):
    value, caller = issued["refresh_token"], shop
    if state == "rotated":
        flow.refresh(shop, value)
    elif state == "revoked":
        revoke(flow.http, shop, value)
    elif state == "expired":
        set_row(db, value, expires_at=utcnow() - timedelta(seconds=1))
    elif state == "disabled_user":
        users.set_disabled(user.email, True)
    else:
        caller = apps.create(
            client_id="blog", allowed_scopes=OFFLINE, audience="https://shop.example"
        )
    response = introspect(flow.http, caller, value)
    assert response.status_code == 200
    assert response.json == {"active": False}
