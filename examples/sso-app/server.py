"""Bolt Notes' server: its static pages, the SDK's build under /sdk/, and its settings.

A static site needs no back end of its own; this one only writes /config.js (the IdP's
address and the client id) so the same pages run against any IdP.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask, abort, send_from_directory

HERE = Path(__file__).resolve().parent
SDK_DIST = HERE.parent.parent / "sdk" / "js" / "dist"
PAGES = ("index.html", "callback.html", "app.js")


def create_app(issuer: str = "http://127.0.0.1:5000", client_id: str = "sso-app") -> Flask:
    app = Flask(__name__, static_folder=None)
    settings = json.dumps({"issuer": issuer, "clientId": client_id})

    @app.get("/config.js")
    def config():
        body = f"window.SSO_CONFIG = {settings};"
        return body, 200, {"Content-Type": "text/javascript", "Cache-Control": "no-store"}

    @app.get("/sdk/<path:path>")
    def sdk(path):
        return send_from_directory(SDK_DIST, path)

    @app.get("/")
    @app.get("/<path:path>")
    def page(path="index.html"):
        if path not in PAGES:
            abort(404)
        return send_from_directory(HERE, path)

    return app
