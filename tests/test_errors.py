"""The one error handler: a 5xx's description is logged, the caller reads a generic
one (unless the error was written for callers); JSON for the API, the hosted page for
browsers."""

from __future__ import annotations

import logging

import pytest

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
