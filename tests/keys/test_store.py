"""Private keys at rest and the published JWKS."""

import base64

import pytest
from cryptography.hazmat.primitives import serialization

from keys import crypto, services
from keys.errors import KeyDecryptionFailed
from keys.models import SigningKey
from tests.helpers import fixed_private_key

# Key states are kept unique by partial unique indexes, which each database enforces.
pytestmark = pytest.mark.postgres


def test_private_key_is_encrypted_at_rest(db, signing_keys):
    row = db.session.get(SigningKey, signing_keys["active"])
    der = fixed_private_key(1).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert der not in row.private_key and der[64:96] not in row.private_key
    assert b"PRIVATE KEY" not in row.private_key
    assert "d" not in row.public_jwk and "p" not in row.public_jwk


def test_wrong_key_encryption_key_cannot_decrypt(db, signing_keys):
    row = db.session.get(SigningKey, signing_keys["active"])
    other = crypto.parse_kek(base64.urlsafe_b64encode(b"z" * 32).decode())
    with pytest.raises(KeyDecryptionFailed):
        crypto.unseal(other, row.kid, row.private_key)


def test_ciphertext_is_bound_to_its_kid(db, app, signing_keys):
    """Swapping sealed blobs between rows must not yield a usable key."""
    row = db.session.get(SigningKey, signing_keys["active"])
    kek = crypto.parse_kek(app.config["IDP_KEY_ENCRYPTION_KEY"])
    with pytest.raises(KeyDecryptionFailed):
        crypto.unseal(kek, signing_keys["next"], row.private_key)
    assert services.load_private(row).kid == row.kid


@pytest.mark.parametrize("value", ["not base64 !!", base64.urlsafe_b64encode(b"short").decode()])
def test_bad_kek_is_a_config_error(value):
    from idp.core.config import ConfigError

    with pytest.raises(ConfigError, match="IDP_KEY_ENCRYPTION_KEY"):
        crypto.parse_kek(value)


def test_jwks_document(client, signing_keys):
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=60"
    keys = response.json["keys"]
    assert {k["kid"] for k in keys} == {signing_keys["active"], signing_keys["next"]}
    for key in keys:
        assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
        assert set(key) == {"kty", "n", "e", "kid", "alg", "use"}


def test_jwks_etag_revalidation(client, signing_keys):
    first = client.get("/.well-known/jwks.json")
    again = client.get("/.well-known/jwks.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_kid_is_the_rfc7638_thumbprint(db, signing_keys):
    from joserfc.jwk import RSAKey

    assert signing_keys["active"] == RSAKey.import_key(fixed_private_key(1)).thumbprint()
