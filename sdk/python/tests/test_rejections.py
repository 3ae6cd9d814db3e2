"""Every rejection, against the real server's JWKS: forged tokens are signed with the
key the server publishes (rsa_key_1), so only the one thing wrong with each is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import sdk_live as live
from cross_app_sdk import ConfigurationError, InvalidToken, Reason, TokenVerifier

SHOP = "https://shop.example"


@pytest.fixture(scope="module")
def verifier(server):
    return TokenVerifier(server.url, SHOP)


@pytest.fixture(scope="module")
def kid(services):
    return services.data["kids"]["active"]


@pytest.fixture
def claims(server, ada):
    now = int(time.time())
    return {
        "iss": server.url,
        "sub": ada["sub"],
        "aud": [SHOP, server.url + "/api/wallet"],
        "client_id": "shop",
        "scope": "openid credits:read",
        "jti": secrets.token_urlsafe(16),
        "iat": now,
        "exp": now + 300,
        "auth_time": now - 5,
    }


def _typ(**header):
    return {"typ": "at+jwt", **header}


def test_a_forged_token_with_nothing_wrong_verifies(verifier, kid, claims):
    """The baseline: what every case below changes one thing of."""
    got = verifier.verify(live.sign(claims, kid, **_typ()))
    assert got.sub == claims["sub"] and got.scopes == {"openid", "credits:read"}


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"])
def test_typ_spellings_accepted(verifier, kid, claims, typ):
    assert verifier.verify(live.sign(claims, kid, typ=typ)).jti == claims["jti"]


def test_alg_none(verifier, kid, claims):
    token = live.compact({"alg": "none", "typ": "at+jwt", "kid": kid}, claims)
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    assert caught.value.reason == Reason.ALG_NOT_ALLOWED


def test_hs256_signed_with_the_public_key(verifier, kid, claims):
    """The classic key-confusion attack: the public key PEM used as an HMAC secret."""
    public_pem = (
        live.private_key_1()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "typ": "at+jwt", "kid": kid}
    unsigned = live.compact(header, claims).rsplit(".", 1)[0]
    mac = hmac.new(public_pem, unsigned.encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(unsigned + "." + live.b64(mac))
    assert caught.value.reason == Reason.ALG_NOT_ALLOWED


def test_an_algorithm_not_configured(verifier, kid, claims):
    token = jwt.encode(claims, live.private_key_1(), "RS512", headers={"kid": kid, **_typ()})
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    assert caught.value.reason == Reason.ALG_NOT_ALLOWED


def test_unknown_kid(verifier, claims):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = live.sign(claims, "not-" + secrets.token_hex(8), key=stranger, **_typ())
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    assert caught.value.reason == Reason.UNKNOWN_KID


def test_published_kid_other_key(verifier, kid, claims):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(live.sign(claims, kid, key=stranger, **_typ()))
    assert caught.value.reason == Reason.INVALID_SIGNATURE


def test_tampered_payload(verifier, kid, claims):
    header, _, signature = live.sign(claims, kid, **_typ()).split(".")
    forged = live.b64(json.dumps({**claims, "scope": "credits:consume admin"}).encode())
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(f"{header}.{forged}.{signature}")
    assert caught.value.reason == Reason.INVALID_SIGNATURE


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"typ": "JWT"}, Reason.INVALID_TYP),
        ({"typ": "at+jwt+more"}, Reason.INVALID_TYP),
        ({}, Reason.INVALID_TYP),
        ({"typ": "at+jwt", "crit": ["exp"]}, Reason.UNSUPPORTED_CRIT),
    ],
)
def test_header_rejections(verifier, kid, claims, header, reason):
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(live.sign(claims, kid, **header))
    assert caught.value.reason == reason


def test_missing_kid(verifier, claims):
    token = jwt.encode(claims, live.private_key_1(), "RS256", headers=_typ())
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    assert caught.value.reason == Reason.MISSING_KID


def _shifted(claims, **changes):
    return {**claims, **changes}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"iss": "https://evil.example"}, Reason.INVALID_ISSUER),
        ({"iss": "{url}/"}, Reason.INVALID_ISSUER),
        ({"aud": "https://other.example"}, Reason.INVALID_AUDIENCE),
        ({"aud": ["https://other.example", "{url}/api/wallet"]}, Reason.INVALID_AUDIENCE),
        ({"aud": 7}, Reason.INVALID_CLAIM),
        ({"exp": -31}, Reason.EXPIRED),
        ({"exp": -3600}, Reason.EXPIRED),
        ({"nbf": 60}, Reason.NOT_YET_VALID),
        ({"iat": 60}, Reason.ISSUED_IN_FUTURE),
        ({"exp": "soon"}, Reason.INVALID_CLAIM),
        ({"exp": True}, Reason.INVALID_CLAIM),
        ({"exp": float("inf")}, Reason.INVALID_CLAIM),  # never expiring
        ({"nbf": float("nan")}, Reason.INVALID_CLAIM),
        ({"sub": 42}, Reason.INVALID_CLAIM),
        ({"scope": ["credits:read"]}, Reason.INVALID_CLAIM),
    ],
)
def test_claim_rejections(verifier, kid, claims, server, change, reason):
    now = int(time.time())
    for name in ("exp", "nbf", "iat"):  # relative seconds from now
        if isinstance(change.get(name), int) and not isinstance(change[name], bool):
            change = {**change, name: now + change[name]}
    change = json.loads(json.dumps(change).replace("{url}", server.url))
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(live.sign({**claims, **change}, kid, **_typ()))
    assert caught.value.reason == reason


@pytest.mark.parametrize("name", ["iss", "sub", "aud", "exp", "iat", "client_id", "jti"])
def test_missing_claims(verifier, kid, claims, name):
    del claims[name]
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(live.sign(claims, kid, **_typ()))
    assert caught.value.reason == Reason.MISSING_CLAIM
    assert name in caught.value.description


@pytest.mark.parametrize(
    ("change", "ok"),
    [({"exp": -20}, True), ({"nbf": 20}, True), ({"iat": 20}, True), ({"exp": -40}, False)],
)
def test_leeway(verifier, kid, claims, change, ok):
    name, delta = next(iter(change.items()))
    token = live.sign({**claims, name: int(time.time()) + delta}, kid, **_typ())
    if ok:
        assert verifier.verify(token)
    else:
        with pytest.raises(InvalidToken):
            verifier.verify(token)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "e30.e30.",
        "eyJhbGciOiJSUzI1NiJ9.not base64.sig",
        "W10.e30.c2ln",  # header is a JSON array
        "x" * 20000,
        None,
        b"bytes.are.not",
    ],
)
def test_malformed(verifier, token):
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    assert caught.value.reason in (Reason.MALFORMED, Reason.ALG_NOT_ALLOWED)


@pytest.mark.parametrize(
    "options",
    [
        {"algorithms": ["HS256"]},
        {"algorithms": ["none"]},
        {"algorithms": []},
        {"issuer": "http://idp.example"},
        {"audience": ""},
    ],
)
def test_unsafe_configuration_is_refused(server, options):
    arguments = {"issuer": server.url, "audience": SHOP, **options}
    with pytest.raises(ConfigurationError):
        TokenVerifier(arguments.pop("issuer"), arguments.pop("audience"), **arguments)
