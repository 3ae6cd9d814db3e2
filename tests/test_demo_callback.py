"""The demo callback page (idp/demo.py) without a browser: its own script and stylesheet
from this origin under the hosted pages' CSP, no inline script, errors shown in the page."""

from __future__ import annotations

import re

import pytest

from idp import demo


@pytest.fixture
def demo_app(app, apps):
    demo.credentials()
    yield
    demo.credentials_path().unlink(missing_ok=True)


def test_the_page_loads_its_enhancements_from_its_own_origin(client, demo_app):
    response = client.get("/demo/callback?code=not-a-code&state=demo")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts == [' src="/demo/static/demo.js" defer']  # nothing inline
    assert '<link rel="stylesheet" href="/demo/static/demo.css">' in html
    # the refused code's answer, one member per block; only tokens get a copy button
    assert '<dt id="field-error">error</dt>' in html
    assert '<pre class="wrap">invalid_grant</pre>' in html
    assert "data-copy" not in html


@pytest.mark.parametrize(
    ("path", "mimetype", "needle"),
    [
        ("/demo/static/demo.js", "text/javascript", "navigator.clipboard"),
        ("/demo/static/demo.css", "text/css", "overflow-wrap: anywhere"),
    ],
)
def test_the_enhancements_are_served(client, path, mimetype, needle):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert needle in response.get_data(as_text=True)


def test_fields_mark_only_tokens_copyable():
    body = {"access_token": "a.b.c", "expires_in": 300, "token_type": "Bearer", "id_token": "x"}
    assert demo._fields(body) == [
        ("access_token", "a.b.c", True),
        ("expires_in", "300", False),
        ("token_type", "Bearer", False),
        ("id_token", "x", True),
    ]
    assert demo._fields(None) == []
