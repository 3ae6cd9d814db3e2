"""Development only: the seeded demo partner app and its callback page.

`make run` seeds a confidential demo app whose redirect URI is a page on this
server, so a newcomer can walk the whole flow in a browser: the page shows the
code it received and exchanges it for tokens the way the app's backend would.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlencode

from flask import Blueprint, current_app, make_response, render_template_string, request

from .apps import services as app_services
from .apps.errors import AppNotFound
from .oauth2.internal import forward

DEMO_CLIENT_ID = "demo-app"
DEMO_SCOPE = "openid profile email offline_access credits:read credits:consume credits:purchase"

# Its own stylesheet and script (token wrapping, copy buttons): the page's CSP allows
# scripts and styles from this origin only, never inline.
bp = Blueprint("demo", __name__, static_folder="demo_static", static_url_path="/demo/static")


def redirect_uri() -> str:
    return current_app.config["IDP_ISSUER"] + "/demo/callback"


def credentials_path() -> Path:
    return Path(current_app.instance_path) / "demo_app.json"


def credentials() -> dict:
    """The demo app's id and secret; the secret is hashed in the database, so the dev copy
    lives in the instance folder.  If that copy is lost, a new secret is issued."""
    path = credentials_path()
    if path.exists():
        creds = json.loads(path.read_text())
        try:
            app_services.get(creds["client_id"])
            return creds
        except AppNotFound:
            pass
    try:
        app_services.get(DEMO_CLIENT_ID)
        _, secret = app_services.rotate_secret(DEMO_CLIENT_ID)
    except AppNotFound:
        issuer = current_app.config["IDP_ISSUER"]
        _, secret = app_services.create(
            {
                "client_id": DEMO_CLIENT_ID,
                "name": "Demo partner app",
                "type": "confidential",
                "redirect_uris": [redirect_uri()],
                "allowed_origins": [issuer],
                "allowed_scopes": DEMO_SCOPE + " user:metadata",
                "audience": issuer + "/demo",
            }
        )
    creds = {"client_id": DEMO_CLIENT_ID, "client_secret": secret}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(creds, fh)
    return creds


DEMO_PACKAGES = (
    ("starter-100", "Starter: 100 credits", 100, 500),
    ("plus-500", "Plus: 500 credits", 500, 2000),
)


def seed_packages() -> None:
    """Put two one-off credit packs on sale when the catalogue is empty (development)."""
    from wallet import packages

    if packages.all_packages():
        return
    for package_id, name, credits, price in DEMO_PACKAGES:
        packages.create(package_id, name, credits, price, "usd")


def authorize_url(**extra) -> str:
    params = {
        "response_type": "code",
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": redirect_uri(),
        "scope": DEMO_SCOPE,
        "state": "demo",
        **extra,
    }
    return current_app.config["IDP_ISSUER"] + "/oauth/authorize?" + urlencode(params)


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo app</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{{ url_for('pages.static', filename='idp.css') }}">
<link rel="stylesheet" href="{{ url_for('demo.static', filename='demo.css') }}">
<script src="{{ url_for('demo.static', filename='demo.js') }}" defer></script></head>
<body><main class="card demo"><h1>Demo partner app: callback</h1>
{% if error %}<div class="message error" role="alert">{{ error }}: {{ description }}</div>
{% endif %}
{% if code %}<p>Received <code>code</code> (state <code>{{ state }}</code>) and exchanged it at
<code>/oauth/token</code> like the app's backend would:</p>
<pre class="wrap">{{ exchange_curl }}</pre>
<h2>Response ({{ status }})</h2>
<dl class="fields">{% for name, value, copy in fields %}
<div class="field"><dt id="field-{{ name }}">{{ name }}</dt>
<dd><pre class="wrap"{% if copy %} data-copy aria-labelledby="field-{{ name }}"{% endif %}>
{{- value }}</pre></dd></div>{% endfor %}
</dl>
<details><summary>The whole response as JSON</summary><pre class="wrap">{{ tokens }}</pre></details>
{% endif %}
</main></body></html>"""


def _fields(body: object) -> list[tuple[str, str, bool]]:
    """Each member of the token response on its own (name, value, copyable): a token is
    one long word, so it gets its own wrapped block and a copy button."""
    if not isinstance(body, dict):
        return []
    return [
        (name, value if isinstance(value, str) else json.dumps(value), name.endswith("token"))
        for name, value in body.items()
    ]


@bp.get("/demo/callback")
def callback():
    code = request.args.get("code")
    context = {
        "error": request.args.get("error"),
        "state": request.args.get("state"),
        "description": request.args.get("error_description"),
        "code": code,
    }
    if code:
        creds = credentials()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri(),
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        }
        response = forward(None, form)
        context["status"] = response.status_code
        context["tokens"] = json.dumps(response.get_json(), indent=2)
        context["fields"] = _fields(response.get_json())
        context["exchange_curl"] = (
            f"curl -s -u {creds['client_id']}:<secret> -d grant_type=authorization_code "
            f"-d code=<code> --data-urlencode redirect_uri={redirect_uri()} "
            f"{current_app.config['IDP_ISSUER']}/oauth/token"
        )
    from .ui.views import frame_policy

    return frame_policy(make_response(render_template_string(_PAGE, **context)))


def init_app(app) -> None:
    if app.config["IDP_ENV"] == "development":
        app.register_blueprint(bp)
