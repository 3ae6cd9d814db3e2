"""The signer's output is a standard RS256 JWS: independent libraries verify it."""

import jwt as pyjwt
import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from keys.signer import key_cache


def test_signed_token_verifies_with_pyjwt_and_joserfc(app, client, signing_keys):
    claims = {"iss": "https://idp.example", "sub": "s", "aud": ["a", "b"], "n": "é\u2028"}
    token = key_cache().sign(claims, typ="at+jwt")
    jwks = client.get("/.well-known/jwks.json").json
    header = pyjwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "typ": "at+jwt", "kid": signing_keys["active"]}
    key = pyjwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    decoded = pyjwt.decode(token, key, algorithms=["RS256"], audience="a")
    assert decoded == claims
    assert jws.deserialize_compact(token, KeySet.import_key_set(jwks)).protected == header
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(pyjwt.InvalidSignatureError):
        pyjwt.decode(tampered, key, algorithms=["RS256"], audience="a")


def test_jwks_before_the_first_key_is_an_empty_set_not_kept(app, client):
    """No key yet: 200 with an empty set (not a 500 from importing none), not cacheable,
    and the key made next is published at once."""
    empty = client.get("/.well-known/jwks.json")
    assert empty.status_code == 200
    assert empty.json == {"keys": []}
    assert empty.headers["Cache-Control"] == "no-cache"
    with app.app_context():
        token = key_cache().sign({"sub": "s"})  # the first signature makes the key
    jwks = client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    assert pyjwt.get_unverified_header(token)["kid"] in [k["kid"] for k in jwks.json["keys"]]
    assert "max-age" in jwks.headers["Cache-Control"]
