"""RFC 6749 section 5.2 allows only %x20-21 / %x23-5B / %x5D-7E in ``error_description``.
Authlib refuses to build an error whose description breaks that (ValueError), so an
error that echoes what the client sent (a response type, a scope) must not echo bytes
outside that set: found by fuzzing, these were 500s."""

from __future__ import annotations

import re

import pytest

from tests.helpers import Apps, basic, query_of, token_request

from .conftest import SHOP_CB

ALLOWED = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*\Z")
ODD = ["\x07x", "é", "Ⱥ", 'a"b', "a\\b"]


@pytest.mark.parametrize("value", ODD)
def test_an_odd_response_type_goes_back_as_unsupported_response_type(flow, shop, value):
    response, _, _ = flow.authorize(shop, response_type=value)
    assert response.status_code == 302
    assert response.location.startswith(SHOP_CB)
    query = query_of(response.location)
    assert query["error"] == "unsupported_response_type"
    assert ALLOWED.match(query["error_description"])


@pytest.mark.parametrize("value", ODD)
def test_an_odd_scope_goes_back_as_invalid_scope(flow, shop, value):
    response, _, _ = flow.authorize(shop, scope=f"openid {value}")
    assert response.status_code == 302
    query = query_of(response.location)
    assert query["error"] == "invalid_scope"
    assert ALLOWED.match(query["error_description"])


@pytest.mark.parametrize("value", ODD)
def test_an_odd_response_type_of_an_unknown_client_is_our_page(client, value):
    response = client.get("/oauth/authorize", query_string={"response_type": value})
    assert response.status_code == 400
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("value", ODD)
def test_an_odd_client_credentials_scope_is_invalid_scope(client, apps: Apps, value):
    app = apps.confidential("svc", "credits:read")
    form = {"grant_type": "client_credentials", "scope": f"credits:read {value}"}
    response = token_request(client, app, form)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_scope"
    assert ALLOWED.match(response.json["error_description"])


@pytest.mark.parametrize("value", [*ODD, "password"])
def test_an_unsupported_grant_type_is_described(client, apps: Apps, value):
    app = apps.confidential("svc", "credits:read")
    response = token_request(client, app, {"grant_type": value})
    assert response.status_code == 400
    assert response.json["error"] == "unsupported_grant_type"
    assert ALLOWED.match(response.json["error_description"])


def test_an_unknown_refresh_token_is_a_described_invalid_grant(client, apps: Apps):
    app = apps.confidential("svc", "credits:read")
    form = {"grant_type": "refresh_token", "refresh_token": "no-such-token"}
    response = token_request(client, app, form)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_grant"
    assert response.json["error_description"]


@pytest.mark.parametrize("hint", ["id_token", *ODD])
def test_an_unsupported_token_type_hint_is_a_plain_described_400(client, apps: Apps, hint):
    """RFC 7009 section 2.2.1: an RFC 6749 section 5.2 error, so no challenge header."""
    app = apps.confidential("svc", "credits:read")
    form = {"token": "x", "token_type_hint": hint}
    response = client.post("/oauth/revoke", data=form, headers=basic(app))
    assert response.status_code == 400
    assert response.json["error"] == "unsupported_token_type"
    assert ALLOWED.match(response.json["error_description"])
    assert "WWW-Authenticate" not in response.headers


def test_revoking_another_apps_token_is_a_described_invalid_grant(client, apps: Apps):
    owner = apps.confidential("owner", "credits:read")
    other = apps.confidential("other", "credits:read")
    token = Apps.token(client, owner, "credits:read").json["access_token"]
    response = client.post("/oauth/revoke", data={"token": token}, headers=basic(other))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_grant"
    assert response.json["error_description"]


@pytest.mark.parametrize(
    ("header", "error"),
    [(None, "missing_authorization"), ("Basic eDp5", "unsupported_token_type"), ("Bearer", None)],
)
def test_a_request_without_a_bearer_token_is_described(client, header, error):
    headers = {"Authorization": header} if header else {}
    response = client.get("/oauth/userinfo", headers=headers)
    assert response.status_code == 401
    assert response.json["error_description"]
    if error:
        assert response.json["error"] == error
        assert response.headers["WWW-Authenticate"] == "Bearer"
