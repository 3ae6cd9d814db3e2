"""Key lifecycle: next -> active -> retired -> removed, across processes."""

from datetime import timedelta

import pytest

from idp.core.db_types import utcnow
from idp.oauth2.verification import TokenRejected, verify_access_token
from keys import services
from keys.errors import RotationNotReady
from keys.signer import key_cache
from tests.helpers import b64_header

# Rotation across nodes relies on partial unique indexes and the shared database.
pytestmark = pytest.mark.postgres


@pytest.fixture
def shop(apps):
    return apps.confidential(
        "shop", "credits:read", audience="https://shop.example", access_token_lifetime=120
    )


def jwks_kids(client):
    return [k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]]


def test_next_key_is_published_before_it_signs(client, apps, shop, signing_keys):
    token = apps.token(client, shop).json["access_token"]
    assert b64_header(token)["kid"] == signing_keys["active"]
    assert signing_keys["next"] in jwks_kids(client)


def test_rotation_promotes_next_and_old_tokens_still_verify(client, apps, shop, signing_keys):
    before = apps.token(client, shop).json["access_token"]
    promoted = services.rotate()
    key_cache().invalidate()
    assert promoted.kid == signing_keys["next"]
    after = apps.token(client, shop).json["access_token"]
    assert b64_header(after)["kid"] == signing_keys["next"]
    for token in (before, after):
        assert verify_access_token(token, "https://shop.example")["client_id"] == "shop"
    statuses = {k.kid: k.status for k in services.all_keys()}
    assert statuses[signing_keys["active"]] == "retired"
    assert statuses[signing_keys["next"]] == "active"
    new_next = [kid for kid, status in statuses.items() if status == "next"]
    assert len(new_next) == 1 and new_next[0] in jwks_kids(client)


def test_retired_key_disappears_only_after_its_tokens_expired(
    app, client, apps, shop, signing_keys
):
    old = signing_keys["active"]
    rotated_at = utcnow()
    services.rotate(now=rotated_at)
    horizon = services.retirement_horizon()
    # Longest token the retired key may have signed, plus nodes' refresh window.
    assert horizon >= timedelta(seconds=app.config["IDP_MAX_ACCESS_TOKEN_LIFETIME"])

    services.prune(now=rotated_at + horizon - timedelta(seconds=1))
    assert old in [k.kid for k in services.published(rotated_at + horizon - timedelta(seconds=1))]
    assert old in [k.kid for k in services.all_keys()]

    assert old not in [k.kid for k in services.published(rotated_at + horizon)]
    assert services.prune(now=rotated_at + horizon) == 1
    assert old not in [k.kid for k in services.all_keys()]


def test_rotation_waits_until_next_key_was_published_long_enough(db, app):
    services.rotate()  # bootstrap: active + next, both brand new
    with pytest.raises(RotationNotReady, match="published for"):
        services.rotate()
    later = utcnow() + timedelta(seconds=app.config["IDP_JWKS_MAX_AGE"])
    assert services.rotate(now=later).status == "active"


def test_forced_rotation_skips_the_wait(db):
    first = services.rotate()
    second = services.rotate(force=True)
    assert second.kid != first.kid and second.status == "active"


def test_at_most_one_active_and_one_next(signing_keys, db):
    from sqlalchemy.exc import IntegrityError

    from keys.models import ACTIVE
    from tests.helpers import fixed_private_key

    with pytest.raises(IntegrityError):
        services.import_key(fixed_private_key(3), ACTIVE)
    db.session.rollback()


def test_rotation_by_age(make_app, signing_keys, db):
    """With IDP_KEY_ROTATION_DAYS set, the signer rotates a key older than that itself."""
    from sqlalchemy import update

    from keys.models import SigningKey

    db.session.execute(
        update(SigningKey)
        .where(SigningKey.kid == signing_keys["active"])
        .values(activated_at=utcnow() - timedelta(days=31))
    )
    db.session.commit()
    node = make_app(IDP_KEY_ROTATION_DAYS=30)
    with node.app_context():
        assert key_cache().signing_key().kid == signing_keys["next"]
        assert services.active_kid() == signing_keys["next"]


def test_two_instances_pick_up_a_rotation(make_app, apps, signing_keys):
    """Node B notices a rotation made by node A through the shared database."""
    shop = apps.confidential("shop2", "credits:read")
    node_a = make_app(IDP_KEY_REFRESH_SECONDS=0)
    node_b = make_app(IDP_KEY_REFRESH_SECONDS=0)
    a, b = node_a.test_client(), node_b.test_client()
    assert b64_header(apps.token(b, shop).json["access_token"])["kid"] == signing_keys["active"]
    with node_a.app_context():
        services.rotate()
    token_b = apps.token(b, shop).json["access_token"]
    assert b64_header(token_b)["kid"] == signing_keys["next"]
    # Each node verifies what the other signed, and both publish the same set.
    with node_a.app_context():
        assert verify_access_token(token_b, "https://shop2.example")
    assert jwks_kids(a) == jwks_kids(b)


def test_refresh_interval_bounds_how_long_a_node_keeps_the_old_key(make_app, apps, signing_keys):
    shop = apps.confidential("shop3", "credits:read")
    node = make_app(IDP_KEY_REFRESH_SECONDS=3600)
    http = node.test_client()
    assert b64_header(apps.token(http, shop).json["access_token"])["kid"] == signing_keys["active"]
    with node.app_context():
        services.rotate()
    # Still inside its refresh window: keeps signing with the (still published) old key.
    stale = apps.token(http, shop).json["access_token"]
    assert b64_header(stale)["kid"] == signing_keys["active"]
    with node.app_context():
        assert verify_access_token(stale, "https://shop3.example")
        key_cache().invalidate()
    fresh = apps.token(http, shop).json["access_token"]
    assert b64_header(fresh)["kid"] == signing_keys["next"]


def test_unknown_kid_triggers_reload_for_keys_published_elsewhere(make_app, apps, signing_keys):
    """A verifier whose cached key set predates another node's new key looks again."""
    shop = apps.confidential("shop4", "credits:read")
    verifier = make_app(IDP_KEY_REFRESH_SECONDS=3600)
    with verifier.app_context():
        key_cache().public_jwks()  # cache the current set
    signer = make_app(IDP_KEY_REFRESH_SECONDS=0)
    with signer.app_context():
        services.rotate()
        services.rotate(force=True)  # a key the verifier has never seen now signs
    token = apps.token(signer.test_client(), shop).json["access_token"]
    with verifier.app_context():
        cache = key_cache()
        # Within the reload window an unknown kid costs no query (garbage kids are cheap)...
        cache.unknown_kid_reload_seconds = 3600
        with pytest.raises(TokenRejected, match="unknown signing key"):
            verify_access_token(token, "https://shop4.example")
        # ...once the window has passed, an unknown kid makes the verifier look again.
        cache.unknown_kid_reload_seconds = 0
        assert verify_access_token(token, "https://shop4.example")["client_id"] == "shop4"


def test_cli_rotate_and_list(runner, signing_keys):
    import json

    result = runner.invoke(args=["keys", "rotate", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["kid"] == signing_keys["next"]
    listed = json.loads(runner.invoke(args=["keys", "list", "--json"]).output)
    assert sorted(k["status"] for k in listed) == ["active", "next", "retired"]
    refused = runner.invoke(args=["keys", "rotate"])
    assert refused.exit_code != 0 and "published for" in refused.output


def test_revoked_token_stays_rejected_after_rotation(client, apps, shop, signing_keys):
    token = apps.token(client, shop).json["access_token"]
    client.post(
        "/oauth/revoke",
        data={"token": token},
        headers={
            "Authorization": "Basic "
            + __import__("base64").b64encode(f"shop:{shop['client_secret']}".encode()).decode()
        },
    )
    services.rotate()
    key_cache().invalidate()
    with pytest.raises(TokenRejected, match="revoked"):
        verify_access_token(token, "https://shop.example")
