"""Per-app user metadata: GET and PATCH (RFC 7396) /api/cross-app/user/metadata."""

import time

import pytest

from idp.crossapp.services import MAX_DEPTH, MAX_METADATA_BYTES
from idp.users import services as users
from keys.signer import key_cache
from tests.helpers import b64_claims, bearer, user_tokens

# Per-app metadata is a JSON column (JSON on PostgreSQL, text on SQLite) and its first
# write may race into a unique constraint.
pytestmark = pytest.mark.postgres

URL = "/api/cross-app/user/metadata"


@pytest.fixture
def token(shop_tokens):
    return shop_tokens["access_token"]


def get(client, token):
    return client.get(URL, headers=bearer(token))


def patch(client, token, document):
    return client.patch(URL, json=document, headers=bearer(token))


def nested(depth: int, leaf=1, container=dict):
    """A document whose objects (or arrays) nest ``depth`` deep, the document included."""
    value = leaf
    for _ in range(depth - 1):
        value = {"k": value} if container is dict else [value]
    return {"k": value}


def test_empty_until_written(client, token):
    response = get(client, token)
    assert response.status_code == 200
    assert response.json == {"metadata": {}}


# RFC 7396 appendix A, those whose target and patch are objects without nulls stored.
@pytest.mark.parametrize(
    ("original", "merge_patch", "result"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"a": "foo"}, {"a": None, "b": None}, {}),
        ({"a": "b"}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
        ({"a": {"b": 1}}, {}, {"a": {"b": 1}}),
    ],
)
def test_merge_patch(client, token, original, merge_patch, result):
    assert patch(client, token, original).json == {"metadata": original}
    response = patch(client, token, merge_patch)
    assert response.status_code == 200
    assert response.json == {"metadata": result}
    assert get(client, token).json == {"metadata": result}


def test_each_app_keeps_its_own_document(client, signed_in, token, blog):
    blog_token = user_tokens(client, blog, "openid user:metadata", sign_in=False)["access_token"]
    patch(client, token, {"theme": "dark"})
    assert get(client, blog_token).json == {"metadata": {}}
    patch(client, blog_token, {"theme": None, "lang": "fr"})
    assert get(client, token).json == {"metadata": {"theme": "dark"}}
    assert get(client, blog_token).json == {"metadata": {"lang": "fr"}}


def test_size_limit(client, token):
    overhead = len('{"k":""}')
    fits = {"k": "x" * (MAX_METADATA_BYTES - overhead)}
    assert patch(client, token, fits).status_code == 200
    response = patch(client, token, {"k2": 1})
    assert response.status_code == 400
    assert response.json["error"] == "invalid_metadata"
    assert get(client, token).json == {"metadata": fits}  # the refused patch left no trace


def test_size_limit_counts_the_merged_document(client, token):
    half = MAX_METADATA_BYTES // 2
    assert patch(client, token, {"a": "x" * half}).status_code == 200
    response = patch(client, token, {"b": "x" * half})
    assert response.status_code == 400
    assert response.json["error"] == "invalid_metadata"
    assert patch(client, token, {"a": None, "b": "x" * half}).status_code == 200


@pytest.mark.parametrize("container", [dict, list])
def test_depth_limit(client, token, container):
    assert patch(client, token, nested(MAX_DEPTH, container=container)).status_code == 200
    response = patch(client, token, nested(MAX_DEPTH + 1, container=container))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_metadata"


def test_depth_limit_counts_the_merged_document(client, token):
    assert patch(client, token, nested(MAX_DEPTH - 1, leaf={})).status_code == 200
    assert patch(client, token, nested(MAX_DEPTH - 1, leaf={"x": {}})).status_code == 400


def test_very_deep_patch_is_refused_not_crashed(client, token):
    body = '{"k":' * 800 + "1" + "}" * 800
    response = client.patch(URL, data=body, content_type="application/json", headers=bearer(token))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_metadata"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("[]", "application/json"),
        ('["a"]', "application/json"),
        ('"dark"', "application/json"),
        ("42", "application/json"),
        ("null", "application/json"),
        ("{not json", "application/json"),
        ("theme=dark", "application/x-www-form-urlencoded"),
    ],
)
def test_body_must_be_a_json_object(client, token, body, content_type):
    response = client.patch(URL, data=body, content_type=content_type, headers=bearer(token))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_metadata"


@pytest.mark.parametrize("method", ["get", "patch"])
def test_scope_is_required(client, signed_in, shop, method):
    token = user_tokens(client, shop, "openid profile", sign_in=False)["access_token"]
    response = client.open(URL, method=method.upper(), json={}, headers=bearer(token))
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"


@pytest.mark.parametrize("method", ["get", "patch"])
def test_client_credentials_token_has_no_user(client, apps, shop, method):
    token = apps.token(client, shop, "user:metadata").json["access_token"]
    response = client.open(URL, method=method.upper(), json={"a": 1}, headers=bearer(token))
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_wrong_audience(client, token):
    """Our own signature and the right scope, but not minted for this API."""
    claims = b64_claims(token)
    claims.update(aud="https://shop.example", jti="other-jti", iat=int(time.time()))
    forged = key_cache().sign(claims, typ="at+jwt")
    for response in (get(client, forged), patch(client, forged, {"a": 1})):
        assert response.status_code == 401
        assert response.json["error"] == "invalid_token"


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "missing_authorization"),
        (bearer("garbage"), "invalid_token"),
        ({"Authorization": "Basic eDp5"}, "unsupported_token_type"),
    ],
)
def test_token_is_required(client, signing_keys, headers, error):
    response = client.get(URL, headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == error


def test_disabled_user(client, token, user):
    users.set_disabled(user.email, True)
    response = get(client, token)
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"
