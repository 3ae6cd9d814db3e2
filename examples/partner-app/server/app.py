"""The example partner app's back end (Flask): serves the built front end and its API.

What a partner's server does with the Python SDK (`cross_app_sdk`):

- `TokenVerifier` + `require_scope` verify the access token the browser sends
  (`Authorization: Bearer`) offline, against the IdP's published keys: issuer, our
  audience, expiry, signature, and the scope the route needs;
- `WalletClient` spends the user's credits server to server, forwarding the user's own
  token (the verified `Claims`), so the IdP's wallet checks the same token again and
  charges once per idempotency key, even when a retry follows a dropped connection.

Run it yourself: `npm run build`, then `flask --app server/app.py run --port 5173` in
examples/partner-app (settings below, from the environment).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from cross_app_sdk import ApiError, InsufficientCredits, TokenVerifier, WalletClient
from cross_app_sdk.flask import ResourceProtector, require_scope
from flask import Flask, Response, current_app, g, jsonify, send_from_directory

GENERATE_COST = 10
DIST = Path(__file__).resolve().parent.parent / "dist"
DEFAULTS = {
    # The IdP's issuer URL; also where the wallet API lives.
    "PARTNER_ISSUER": "http://127.0.0.1:5000",
    # The client id of the public (browser) app registered at the IdP.
    "PARTNER_CLIENT_ID": "partner-app",
    # The audience registered for that app (`apps create --audience`): tokens must name it.
    "PARTNER_AUDIENCE": "http://localhost:5173",
    # The built front end (`npm run build`).
    "PARTNER_DIST": str(DIST),
}
_OUTPUTS = ("a lighthouse at dusk", "a fox in the snow", "a city of glass", "a quiet harbour")


def create_app(config: dict | None = None) -> Flask:
    """The back end: defaults, then the environment (`PARTNER_*`), then `config`."""
    app = Flask(__name__, static_folder=None)
    app.config.update(DEFAULTS)
    app.config.update({k: os.environ[k] for k in DEFAULTS if k in os.environ})
    app.config.update(config or {})
    issuer = app.config["PARTNER_ISSUER"]
    ResourceProtector(TokenVerifier(issuer, app.config["PARTNER_AUDIENCE"]), app)
    # No client secret: the wallet is called with the user's own token.
    app.extensions["wallet"] = WalletClient(issuer)
    app.register_error_handler(ApiError, _api_error)
    _routes(app)
    return app


def _api_error(error: ApiError):
    """The wallet's refusal, passed on in the IdP's error format (402 keeps its balance)."""
    body = {"error": error.error, "error_description": error.description}
    if isinstance(error, InsufficientCredits):
        body.update(balance=error.balance, available=error.available)
    status = error.status_code if error.status_code and error.status_code < 500 else 502
    return jsonify(body), status


def _routes(app: Flask) -> None:
    @app.post("/api/generate")
    @require_scope("credits:consume")
    def generate():
        """Spend GENERATE_COST credits, then do the (pretend) work."""
        wallet: WalletClient = current_app.extensions["wallet"]
        spent = wallet.consume(g.claims, GENERATE_COST, "generate")
        picture = random.choice(_OUTPUTS)
        return {
            "output": f"Generated: {picture}",
            "cost": GENERATE_COST,
            "available": spent.available,
        }

    @app.get("/config.json")
    def config():
        """What the front end needs to start the SDK (read at start-up, not built in)."""
        cfg = current_app.config
        body = {"issuer": cfg["PARTNER_ISSUER"], "clientId": cfg["PARTNER_CLIENT_ID"]}
        return jsonify(body), 200, {"Cache-Control": "no-store"}

    @app.get("/")
    @app.get("/<path:path>")
    def front_end(path: str = "index.html") -> Response:
        """The built pages and assets (index.html for unknown paths: a single-page app)."""
        dist = Path(current_app.config["PARTNER_DIST"])
        if not (dist / path).is_file():
            path = "index.html"
        return send_from_directory(dist, path)
