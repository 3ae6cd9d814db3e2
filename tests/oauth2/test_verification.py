"""Our own access-token verification rejects every forgery RFC 8725 warns about."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from idp.oauth2.verification import TokenRejected, verify_access_token
from keys.signer import key_cache
from tests.helpers import b64_claims, b64_header, basic, bearer, fixed_private_key


def _b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture
def shop(apps):
    return apps.confidential("shop", "credits:read", audience="https://shop.example")


@pytest.fixture
def issued(client, apps, shop):
    return apps.token(client, shop).json["access_token"]


def _claims(**overrides):
    now = int(time.time())
    claims = {
        "iss": "https://idp.test",
        "sub": "shop",
        "aud": "https://shop.example",
        "client_id": "shop",
        "scope": "credits:read",
        "jti": "j" * 22,
        "iat": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return claims


def _sign(claims, key: RSAKey, **header):
    return jwt.encode(
        {"alg": "RS256", "typ": "at+jwt", "kid": key.kid, **header},
        claims,
        key,
        algorithms=["RS256"],
    )


def test_valid_token_passes(issued):
    claims = verify_access_token(issued, "https://shop.example")
    assert claims["client_id"] == "shop"


def test_alg_none_rejected(issued):
    header = {**b64_header(issued), "alg": "none"}
    forged = f"{_b64(header)}.{issued.split('.')[1]}."
    with pytest.raises(TokenRejected, match="algorithm"):
        verify_access_token(forged, "https://shop.example")


def test_hs256_with_public_key_rejected(issued, signing_keys):
    """The classic confusion attack: HMAC keyed with the published RSA public key."""
    public = key_cache().public_key(signing_keys["active"])
    secret = public.as_pem(private=False)
    header = {"alg": "HS256", "typ": "at+jwt", "kid": signing_keys["active"]}
    signing_input = f"{_b64(header)}.{_b64(_claims())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{_b64(mac)}"
    with pytest.raises(TokenRejected, match="algorithm"):
        verify_access_token(forged, "https://shop.example")


def test_unknown_kid_rejected(signing_keys, shop):
    stranger = RSAKey.import_key(fixed_private_key(3), {"kid": "not-ours"})
    with pytest.raises(TokenRejected, match="unknown signing key"):
        verify_access_token(_sign(_claims(), stranger), "https://shop.example")


def test_foreign_key_claiming_our_kid_rejected(signing_keys, shop):
    impostor = RSAKey.import_key(fixed_private_key(3), {"kid": signing_keys["active"]})
    with pytest.raises(TokenRejected, match="signature"):
        verify_access_token(_sign(_claims(), impostor), "https://shop.example")


def test_missing_kid_rejected(signing_keys, shop):
    ours = key_cache().signing_key()
    token = jwt.encode({"alg": "RS256", "typ": "at+jwt"}, _claims(), ours, algorithms=["RS256"])
    with pytest.raises(TokenRejected, match="unknown signing key"):
        verify_access_token(token, "https://shop.example")


def test_expired_token_rejected(signing_keys, shop):
    ours = key_cache().signing_key()
    token = _sign(_claims(iat=int(time.time()) - 600, exp=int(time.time()) - 31), ours)
    with pytest.raises(TokenRejected, match="expired"):
        verify_access_token(token, "https://shop.example")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"typ": "JWT"}, "not an access token"),
        ({"claims": {"iss": "https://evil.example"}}, "issuer"),
        ({"claims": {"exp": "never"}}, "expired"),
        ({"drop": "jti"}, "missing"),
        ({"drop": "client_id"}, "missing"),
    ],
)
def test_claim_and_header_rejections(signing_keys, shop, change, reason):
    ours = key_cache().signing_key()
    claims = _claims(**change.get("claims", {}))
    claims.pop(change.get("drop", ""), None)
    header = {"typ": change["typ"]} if "typ" in change else {}
    with pytest.raises(TokenRejected, match=reason):
        verify_access_token(_sign(claims, ours, **header), "https://shop.example")


def test_tampered_payload_rejected(issued):
    header, _, signature = issued.split(".")
    claims = {**b64_claims(issued), "scope": "credits:read admin"}
    with pytest.raises(TokenRejected, match="signature"):
        verify_access_token(f"{header}.{_b64(claims)}.{signature}", "https://shop.example")


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "x" * 9000, None, 42])
def test_garbage_rejected(signing_keys, garbage):
    with pytest.raises(TokenRejected):
        verify_access_token(garbage, "https://shop.example")


def test_audience_isolation_between_apps(client, apps, shop, issued):
    """A token minted for app A fails audience validation at app B."""
    apps.confidential("blog", "credits:read", audience="https://blog.example")
    with pytest.raises(TokenRejected, match="audience"):
        verify_access_token(issued, "https://blog.example")
    assert verify_access_token(issued, "https://shop.example")["client_id"] == "shop"


def test_disabled_app_tokens_stop_working(issued):
    from idp.apps import services

    services.disable("shop")
    with pytest.raises(TokenRejected, match="client disabled"):
        verify_access_token(issued, "https://shop.example")


@pytest.mark.parametrize(
    ("token_kind", "status", "error"),
    [
        ("none", 401, "missing_authorization"),
        ("garbage", 401, "invalid_token"),
        ("alg-none", 401, "invalid_token"),
        ("wrong-aud", 401, "invalid_token"),
    ],
)
def test_api_answers_rfc6750(client, issued, token_kind, status, error):
    """Our APIs turn each rejection into an RFC 6750 error with WWW-Authenticate."""
    tokens = {
        "garbage": "not-a-jwt",
        "alg-none": f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{issued.split('.')[1]}.",
        "wrong-aud": issued,  # a shop token at the admin API
    }
    headers = bearer(tokens[token_kind]) if token_kind in tokens else {}
    response = client.get("/api/cross-app/apps", headers=headers)
    assert response.status_code == status
    assert response.json["error"] == error
    if token_kind != "none":
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic c2hvcDpzZWNyZXQ="}])
def test_a_request_without_a_bearer_token_gets_a_challenge_without_error(client, headers):
    """RFC 6750 section 3.1: no authentication information, no error code in the challenge."""
    response = client.get("/oauth/userinfo", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_insufficient_scope_names_the_scope_in_the_challenge(client, user, apps):
    """RFC 6750 section 3.1: 403 with error="insufficient_scope" and the scope needed."""
    from tests.helpers import mint_tokens

    reader = apps.partner("reader", "openid user:metadata")
    token = mint_tokens(reader, user, "user:metadata")["access_token"]
    response = client.get("/api/cross-app/user-info", headers=bearer(token))
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope", error_description="')
    assert challenge.endswith(', scope="openid"')


# -- clock leeway (IDP_CLOCK_LEEWAY, 30 s by default) -----------------------------------------
@pytest.mark.parametrize(
    ("times", "reason"),
    [
        ({"exp": -5}, None),  # just expired: within the leeway
        ({"exp": -31}, "expired"),
        ({"nbf": 20}, None),
        ({"nbf": 60}, "not yet valid"),
        ({"iat": 20}, None),
        ({"iat": 60}, "issued in the future"),
        ({"nbf": "soon"}, "not yet valid"),
    ],
)
def test_times_are_checked_with_one_leeway(signing_keys, shop, times, reason):
    now = int(time.time())
    claims = _claims(
        **{k: now + v if isinstance(v, int) else v for k, v in times.items()},
    )
    token = _sign(claims, key_cache().signing_key())
    if reason is None:
        assert verify_access_token(token, "https://shop.example")["client_id"] == "shop"
    else:
        with pytest.raises(TokenRejected, match=reason):
            verify_access_token(token, "https://shop.example")


# -- a disabled user's tokens -----------------------------------------------------------------
@pytest.fixture
def ada_token(apps, user):
    from tests.helpers import mint_tokens

    reader = apps.partner("reader", "openid profile user:metadata")
    return reader, mint_tokens(reader, user, "openid user:metadata")["access_token"]


def test_a_disabled_users_tokens_stop_working(client, user, ada_token):
    from idp.users import services as users

    reader, token = ada_token
    assert client.get("/api/cross-app/user/metadata", headers=bearer(token)).status_code == 200
    users.set_disabled(user.email, True)

    response = client.get("/api/cross-app/user/metadata", headers=bearer(token))
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"
    introspected = client.post("/oauth/introspect", data={"token": token}, headers=basic(reader))
    assert introspected.status_code == 200
    assert introspected.json == {"active": False}
