"""``flask keys rewrap``: rotating the key-encryption key without downtime.

The procedure (docs/deploy.md): every node learns the new key (``new,old``: the first
seals, each unseals), ``rewrap`` re-seals every row under the new key, then the old key
is dropped.  Nodes sign throughout, with the same kid.
"""

import base64

import pytest

from keys import crypto
from keys.models import SigningKey
from keys.signer import key_cache
from tests.helpers import KEK, b64_header

pytestmark = pytest.mark.postgres

NEW = base64.urlsafe_b64encode(b"n" * 32).decode()


@pytest.fixture
def shop(apps):
    return apps.confidential("shop", "credits:read", audience="https://shop.example")


def sealed_under(db, kek: str) -> dict[str, bool]:
    """For each stored key: does ``kek`` alone open it?"""
    opened = {}
    for row in db.session.scalars(db.select(SigningKey)):
        try:
            crypto.unseal(crypto.parse_kek(kek), row.kid, row.private_key)
            opened[row.kid] = True
        except crypto.KeyDecryptionFailed:
            opened[row.kid] = False
    return opened


def issued_kid(client, apps, shop) -> str:
    response = apps.token(client, shop)
    assert response.status_code == 200, response.json
    return b64_header(response.json["access_token"])["kid"]


def use(app, value: str) -> None:
    """This node now runs with ``IDP_KEY_ENCRYPTION_KEY=value`` (a restart with it)."""
    app.config["IDP_KEY_ENCRYPTION_KEY"] = value
    with app.app_context():
        key_cache(  # a restarted process has no decrypted key in memory
        ).invalidate()


def test_rewrap_reseals_every_key_and_nodes_sign_throughout(
    app, db, make_app, client, apps, shop, signing_keys, runner
):
    other = make_app()  # a second node, on the old setting until it is restarted
    other_client = other.test_client()
    assert issued_kid(other_client, apps, shop) == signing_keys["active"]

    use(app, f"{NEW},{KEK}")  # step 1: this node knows both, seals with the new one
    assert issued_kid(client, apps, shop) == signing_keys["active"]

    result = runner.invoke(args=["keys", "rewrap"])

    assert result.exit_code == 0, result.output
    assert "re-sealed 2 key(s); 0 already under the current key" in result.output
    assert set(sealed_under(db, NEW).values()) == {True}
    assert set(sealed_under(db, KEK).values()) == {False}
    # The node not yet restarted still signs from the key it holds in memory.
    assert issued_kid(other_client, apps, shop) == signing_keys["active"]
    use(other, f"{NEW},{KEK}")
    assert issued_kid(other_client, apps, shop) == signing_keys["active"]
    use(app, NEW)  # step 3: the old key is gone from the setting
    assert issued_kid(client, apps, shop) == signing_keys["active"]


def test_rewrap_again_changes_nothing(app, db, signing_keys, runner):
    use(app, f"{NEW},{KEK}")
    assert runner.invoke(args=["keys", "rewrap"]).exit_code == 0
    blobs = {row.kid: row.private_key for row in db.session.scalars(db.select(SigningKey))}

    result = runner.invoke(args=["keys", "rewrap"])

    assert result.exit_code == 0
    assert "re-sealed 0 key(s); 2 already under the current key" in result.output
    db.session.expire_all()
    assert {r.kid: r.private_key for r in db.session.scalars(db.select(SigningKey))} == blobs


def test_a_key_no_configured_kek_opens_stops_the_rewrap_before_any_write(
    app, db, signing_keys, runner
):
    use(app, NEW)  # the old key forgotten too early
    before = {row.kid: row.private_key for row in db.session.scalars(db.select(SigningKey))}

    result = runner.invoke(args=["keys", "rewrap"])

    assert result.exit_code == 1
    assert "opens under no key of IDP_KEY_ENCRYPTION_KEY" in result.output
    assert "Nothing was changed" in result.output
    db.session.expire_all()
    assert {r.kid: r.private_key for r in db.session.scalars(db.select(SigningKey))} == before


def test_a_node_that_knows_both_keys_reads_keys_sealed_by_either(app, db, signing_keys):
    """During the roll-out, nodes on ``old,new`` and ``new,old`` sign side by side."""
    use(app, f"{KEK},{NEW}")
    assert key_cache().signing_key().kid == signing_keys["active"]
    use(app, f"{NEW},{KEK}")
    assert key_cache().signing_key().kid == signing_keys["active"]


@pytest.mark.parametrize("value", ["", " , "])
def test_an_empty_setting_is_a_config_error(value):
    from idp.core.config import ConfigError

    with pytest.raises(ConfigError, match="IDP_KEY_ENCRYPTION_KEY"):
        crypto.parse_keks(value)
