"""Hostile input never gives a 5xx: NUL bytes and lone surrogates are a 400 in the
endpoint's own format on every route, and the credit API's numbers are strict and bounded.

The routes come from ``app.url_map``, so a new endpoint is covered without being listed
here.  NUL is the PostgreSQL crash (text cannot hold it), hence the ``postgres`` marker.
"""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.helpers import mint_tokens
from tests.pages.html import alerts
from tests.wallet.actions import PARTNER_SCOPES, USER_SCOPE, Credits, fund

NUL, SURROGATE = "a\x00b", "a\ud800b"
# Names the views read: each gets the hostile value (the guard refuses any name alike).
FIELDS = (
    "client_id",
    "client_secret",
    "email",
    "password",
    "display_name",
    "service",
    "idempotency_key",
    "package_id",
    "user",
    "sub",
    "redirect_uri",
    "state",
    "code",
)
ORIGIN = "https://shop.example"  # registered for "shop": the CORS hooks look it up
# The API side: RFC 6749 / JSON errors.  Everything else is a hosted page (HTML).
JSON_PREFIXES = (
    "/api/",
    "/oauth/token",
    "/oauth/introspect",
    "/oauth/revoke",
    "/oauth/userinfo",
    "/.well-known/",
    "/stripe/",
    "/healthz",
    "/purchase/status/",
    "/passkeys/",  # the ceremonies' JSON steps (idp.pages.passkeys)
    "/openapi.json",
)
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
INLINE_MESSAGE = re.compile("unpaired surrogate|not valid UTF-8")
PATH_PARAM = re.compile(r"<(?:[^<>:]+:)?[^<>]+>")


def basic(raw: bytes) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def form_body(value: str) -> dict:
    return {"data": {name: value for name in FIELDS}}


def json_body(value: str) -> dict:
    document = {name: value for name in FIELDS}
    document["nested"] = {"deeper": [1, {"list": ["ok", value]}]}
    return {"data": json.dumps(document), "content_type": "application/json"}


def json_key(value: str) -> dict:
    return {"data": json.dumps({"metadata": {value: 1}}), "content_type": "application/json"}


# name -> (needs a body, request keyword arguments).  Each is refused with a 400.
HOSTILE = {
    "query-nul": (False, {"query_string": "&".join(f"{n}=a%00b" for n in FIELDS)}),
    "form-nul": (True, form_body(NUL)),
    "json-nul": (True, json_body(NUL)),
    "json-surrogate": (True, json_body(SURROGATE)),
    "json-key-surrogate": (True, json_key(SURROGATE)),
    # Raw UTF-8 of a surrogate: Python's JSON decoder takes it ("surrogatepass").
    "json-raw-surrogate": (
        True,
        {"data": b'{"client_id": "a\xed\xa0\x80b"}', "content_type": "application/json"},
    ),
    "header-nul": (False, {"headers": {"X-Probe": NUL}}),
    "header-surrogate": (False, {"headers": {"X-Probe": SURROGATE}}),
    "origin-nul": (False, {"headers": {"Origin": NUL}}),
    # Sent as idp_sso="a\000b": the cookie parser turns the octal escape into a NUL.
    "cookie-nul": (False, {"cookies": {"idp_sso": NUL, "idp_csrf": NUL}}),
    # WSGI hands over raw bytes as latin-1; Werkzeug decodes the query string strictly.
    "query-not-utf8": (False, {"environ_overrides": {"QUERY_STRING": "client_id=\xed\xa0\x80"}}),
    "basic-nul": (False, {"headers": basic(b"a\x00b:secret")}),
    "basic-percent-nul": (False, {"headers": basic(b"a%00b:secret")}),
}
# Odd but harmless once decoded (Werkzeug keeps invalid percent-escapes as text): any
# answer but a 5xx.
ODD = {
    "basic-not-utf8": (False, {"headers": basic(b"a\xed\xa0\x80b:secret")}),
    "query-escaped-surrogate": (False, {"query_string": "client_id=%ED%A0%80&email=%ff"}),
    "form-escaped-surrogate": (True, {"data": {"client_id": "%ED%A0%80"}}),
    "form-raw-bytes": (
        True,
        {
            "data": b"client_id=\xed\xa0\x80&email=\xff",
            "content_type": "application/x-www-form-urlencoded",
        },
    ),
    "json-not-utf8": (True, {"data": b'{"client_id": "\xff"}', "content_type": "application/json"}),
}


def route_requests(app, path_value: str = "x"):
    """(method, path) for every route and method, path parameters set to ``path_value``."""
    for rule in app.url_map.iter_rules():
        path = PATH_PARAM.sub(path_value, rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path


@pytest.fixture
def shop(apps):
    return apps.partner("shop", PARTNER_SCOPES, origin=True)


def send(client, method: str, path: str, cookies=None, **kwargs):
    headers = {"Origin": ORIGIN, **kwargs.pop("headers", {})}
    for name, value in (cookies or {}).items():
        client.set_cookie(name, value)
    try:
        return client.open(path, method=method, headers=headers, **kwargs), None
    except Exception as exc:  # raised out of the app: a crash inside an error handler
        return None, f"{method} {path}: raised {type(exc).__name__}: {exc}"


def problem_with_refusal(method: str, path: str, response, message=INLINE_MESSAGE) -> str | None:
    """None when ``response`` is a 400 in the format of ``path``: an invalid_request JSON
    error, or a hosted page with the message (``message``, default the guard's) inline."""
    where = f"{method} {path}: {response.status_code}"
    if response.status_code != 400:
        return f"{where} {response.data[:200]!r}"
    if path.startswith(JSON_PREFIXES):
        body = response.get_json(silent=True) or {}
        if body.get("error") != "invalid_request" or not body.get("error_description"):
            return f"{where} not an invalid_request JSON error: {response.data[:200]!r}"
    elif response.mimetype != "text/html" or not any(
        message is None or message.search(alert) for alert in alerts(response)
    ):
        return f"{where} not an HTML page with the message inline: {response.data[:200]!r}"
    return None


@pytest.mark.postgres
@pytest.mark.parametrize("variant", sorted(HOSTILE))
def test_hostile_values_are_a_400_in_the_endpoints_format(app, client, shop, variant):
    needs_body, kwargs = HOSTILE[variant]
    problems = []
    for method, path in route_requests(app):
        if needs_body and method not in BODY_METHODS:
            continue
        response, crash = send(client, method, path, **kwargs)
        problems.append(crash or problem_with_refusal(method, path, response))
    assert [p for p in problems if p] == []


@pytest.mark.postgres
def test_hostile_path_parameters_are_a_400(app, client, shop):
    problems = []
    for method, path in route_requests(app, "a%00b"):
        if "a%00b" in path:
            response, crash = send(client, method, path)
            # A page may give its own advice (a mangled reset link: "ask for a new one").
            problems.append(crash or problem_with_refusal(method, path, response, None))
    assert [p for p in problems if p] == []


@pytest.mark.postgres
@pytest.mark.parametrize("variant", sorted(ODD))
def test_odd_encodings_never_give_a_5xx(app, client, shop, variant):
    needs_body, kwargs = ODD[variant]
    problems = []
    for method, path in route_requests(app, "%ED%A0%80"):
        if needs_body and method not in BODY_METHODS:
            continue
        response, crash = send(client, method, path, **kwargs)
        if crash or response.status_code >= 500:
            problems.append(crash or f"{method} {path}: {response.status_code}")
    assert problems == []


def test_every_route_is_swept(app):
    """The sweep reads the routes from the app: it must see the ones the review named."""
    paths = {path for _, path in route_requests(app)}
    named = {"/oauth/authorize", "/oauth/token", "/oauth/logout", "/login", "/signup"}
    named |= {"/api/cross-app/credits/holds/x/capture", "/api/cross-app/credits/transactions"}
    assert named <= paths
    assert len(paths) >= 40


# -- bodies over the size limit: the error page must not read the body again -----------


@pytest.mark.parametrize("path", ["/login", "/signup", "/oauth/authorize", "/oauth/token"])
def test_body_over_the_size_limit_is_a_413_in_the_endpoints_format(client, shop, path):
    # No client_id in the query: the page looks for one in the (refused) body too.
    response = client.post(
        path,
        data={"client_id": "shop", "email": "x" * (2 * 1024 * 1024)},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 413
    if path.startswith(JSON_PREFIXES):
        assert response.json["error"] == "request_too_large"
    else:
        assert response.mimetype == "text/html"


def test_error_page_that_fails_to_render_is_still_an_answer(client, monkeypatch):
    from idp.ui import views

    def broken(*args, **kwargs):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(views, "render_template", broken)
    response = client.get("/login", query_string="client_id=a%00b")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert any("unpaired surrogate" in alert for alert in alerts(response))


# -- the credit API: booleans are not integers, every number has bounds ------------------


@pytest.fixture
def credits(client, shop, user) -> Credits:
    fund(user, 100)
    return Credits(client, mint_tokens(shop, user, USER_SCOPE)["access_token"])


@pytest.mark.postgres
@pytest.mark.parametrize("amount", [False, True, 1.5, -1, 10**30, "5", None, [5]])
def test_capture_amount_is_a_bounded_whole_number(credits, amount):
    hold_id = credits.hold_id(amount=40)
    response = credits.post(f"/credits/holds/{hold_id}/capture", {"amount": amount})
    assert response.status_code == 400, response.json
    assert response.json["error"] == "invalid_request"
    assert credits.state() == {"balance": 100, "held": 40, "available": 60}


@pytest.mark.postgres
@pytest.mark.parametrize("field", ["amount", "ttl_seconds"])
@pytest.mark.parametrize("value", [False, True, 10**30, -(10**30), 2.5])
def test_hold_numbers_are_bounded_whole_numbers(credits, field, value):
    body = {"amount": 10, "ttl_seconds": 60, "service": "render", "idempotency_key": "k1"}
    response = credits.post("/credits/holds", {**body, field: value})
    assert response.status_code == 400, response.json
    assert response.json["error"] == "invalid_request"


@pytest.mark.postgres
@pytest.mark.parametrize(
    "params",
    [
        {"before": "100000000000000000000"},
        {"before": str(2**63)},
        {"before": "0"},
        {"before": "-1"},
        {"before": "+5"},
        {"before": " 5"},
        {"before": "1_0"},
        {"before": "\u0661"},  # ARABIC-INDIC DIGIT ONE: int() would take it
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "9" * 5000},  # int() refuses this many digits with a ValueError of its own
    ],
)
def test_transaction_paging_numbers_are_bounded(credits, params):
    response = credits.transactions(**params)
    assert response.status_code == 400, response.data
    assert response.json["error"] == "invalid_request"
    assert "whole number" in response.json["error_description"]


@pytest.mark.postgres
def test_largest_cursor_is_accepted(credits):
    response = credits.transactions(before=str(2**63 - 1), limit="200")
    assert response.status_code == 200, response.json
