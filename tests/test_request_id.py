"""Request ids: taken from ``X-Request-ID`` when it is safe, else drawn; returned in the
response; carried into every log line of the request, and into its JSON access line
with the route, status, latency, client id and user."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from idp.core import logs
from tests.helpers import Flow, csrf_of

DRAWN = re.compile(r"[0-9a-f]{32}\Z")


@pytest.fixture
def json_lines():
    """``json_lines()``: what the ``idp`` loggers wrote during the test, in the JSON
    format production uses, one dict per line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JSONFormatter())
    log = logging.getLogger("idp")
    log.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    log.removeHandler(handler)


def access_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "idp.access"]


def test_a_given_request_id_is_returned_and_logged(client, json_lines):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.42"
    (line,) = access_lines(json_lines())
    assert line["request_id"] == "lb-7f3a.42"
    assert line["method"] == "GET" and line["route"] == "/healthz" and line["status"] == 200
    assert isinstance(line["latency_ms"], float) and line["latency_ms"] >= 0


@pytest.mark.parametrize(
    "given",
    ["", "has space", "x" * 129, 'quote"d', "new\\nline", "caf\u00e9", "a,b", "<script>"],
)
def test_an_unsafe_request_id_is_replaced(client, json_lines, given):
    response = client.get("/healthz", headers={"X-Request-ID": given})
    drawn = response.headers["X-Request-ID"]
    assert DRAWN.match(drawn) and drawn != given
    assert access_lines(json_lines())[0]["request_id"] == drawn


def test_without_one_each_request_draws_its_own(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert DRAWN.match(first) and DRAWN.match(second) and first != second


@pytest.mark.parametrize(
    ("path", "status"), [("/no/such/page", 404), ("/healthz?x=a%00b", 400), ("/oauth/token", 405)]
)
def test_refusals_carry_the_request_id_too(client, json_lines, path, status):
    response = client.get(path, headers={"X-Request-ID": "trace-1"})
    assert response.status_code == status
    assert response.headers["X-Request-ID"] == "trace-1"
    assert access_lines(json_lines())[0]["status"] == status


def test_every_line_of_the_request_carries_its_id(client, user, json_lines):
    """A failed sign-in writes an audit line as well as the access line: both name it."""
    csrf = csrf_of(client.get("/login").data)
    client.post(
        "/login",
        data={"email": user.email, "password": "not-the-password", "csrf_token": csrf},
        headers={"X-Request-ID": "req-login-1"},
    )
    mine = [line for line in json_lines() if line["request_id"] == "req-login-1"]
    assert {line["logger"] for line in mine} >= {"idp.audit", "idp.access"}
    assert any("login.failed" in line["message"] for line in mine)


def test_the_token_endpoint_names_the_client_and_user(client, user, signed_in, apps, json_lines):
    shop = apps.create(
        client_id="shop",
        type="confidential",
        redirect_uris=["https://shop.example/cb"],
        allowed_scopes="openid",
        audience="https://shop.example",
    )
    flow = Flow(client, signed_in)
    flow.tokens(shop, "openid")
    (line,) = [x for x in access_lines(json_lines()) if x["route"] == "/oauth/token"]
    assert line["client_id"] == "shop"
    assert line["sub"] == user.sub


def test_the_route_is_logged_never_the_path_or_query(client, signing_keys, json_lines):
    client.get("/.well-known/jwks.json?code=not-to-be-logged")
    text = json.dumps(json_lines())
    assert "not-to-be-logged" not in text and "/.well-known/jwks.json" in text


def test_text_lines_carry_the_request_id(client, caplog):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.TextFormatter())
    logging.getLogger("idp").addHandler(handler)
    try:
        client.get("/healthz", headers={"X-Request-ID": "text-1"})
    finally:
        logging.getLogger("idp").removeHandler(handler)
    assert "[text-1]: GET /healthz 200" in stream.getvalue()


def test_the_format_setting(make_app):
    from idp.core.config import ConfigError

    with pytest.raises(ConfigError, match="IDP_LOG_FORMAT"):
        make_app(IDP_LOG_FORMAT="xml")
