"""The one error handler: a 5xx's description is logged, the caller reads a generic
one (unless the error was written for callers); JSON for the API, the hosted page for
browsers."""

from __future__ import annotations

import logging

import pytest
from flask import Blueprint

from keys.errors import KeyDecryptionFailed
from wallet.errors import PaymentsDisabled

DETAIL = "A signing key cannot be decrypted with the configured IDP_KEY_ENCRYPTION_KEY."


def _failing(make_app, exc: Exception):
    node = make_app()

    def fail():
        raise exc

    node.add_url_rule("/api/test-failure", "api_failure", fail)
    node.add_url_rule("/test-failure", "page_failure", fail)
    return node.test_client()


def test_a_5xx_shows_a_generic_description_and_logs_the_detail(make_app, caplog):
    caplog.set_level(logging.ERROR, logger="idp")
    http = _failing(make_app, KeyDecryptionFailed())
    api, page = http.get("/api/test-failure"), http.get("/test-failure")
    assert api.status_code == page.status_code == 500
    assert api.json == {
        "error": "server_error",
        "error_description": "The server could not complete the request.",
    }
    assert page.mimetype == "text/html"
    assert b"IDP_KEY_ENCRYPTION_KEY" not in api.data + page.data
    assert "The server could not complete the request." in page.get_data(as_text=True)
    assert DETAIL in caplog.text


@pytest.mark.parametrize(
    "exc", [PaymentsDisabled(), PaymentsDisabled("The billing portal is not available.")]
)
def test_a_5xx_written_for_callers_is_shown(make_app, exc):
    response = _failing(make_app, exc).get("/api/test-failure")
    assert response.status_code == 503
    assert response.json["error_description"] == exc.description


@pytest.mark.parametrize(
    ("method", "path", "json"),
    [
        ("GET", "/oauth/token", True),  # 405 on an API route
        ("DELETE", "/openapi.json", True),
        ("PUT", "/healthz", True),
        ("GET", "/api/no-such-thing", True),  # an unknown URL under /api/
        ("PUT", "/oauth/authorize", False),  # 405 on a browser endpoint
        ("POST", "/docs", False),
        ("GET", "/no-such-page", False),
        ("GET", "/.well-known/no-such-document", True),
    ],
)
def test_json_or_page_is_decided_by_the_routes_blueprint(client, method, path, json):
    response = client.open(path, method=method)
    assert response.status_code in (404, 405)
    assert (response.mimetype == "application/json") is json
    if json:
        assert response.json["error"] in ("not_found", "method_not_allowed")


def test_a_json_blueprint_answers_its_own_failures_in_json(make_app):
    from idp.core.errors import JSONBlueprint

    node = make_app()
    api, pages = JSONBlueprint("probe_api", __name__), Blueprint("probe_pages", __name__)

    @api.get("/probe/api")
    @pages.get("/probe/page")
    def fail():
        raise PaymentsDisabled()

    node.register_blueprint(api)
    node.register_blueprint(pages)
    http = node.test_client()
    assert http.get("/probe/api").mimetype == "application/json"
    assert http.get("/probe/page").mimetype == "text/html"
