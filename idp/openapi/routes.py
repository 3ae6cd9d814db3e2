"""``/openapi.json`` (the document, its server set to this issuer) and ``/docs`` (the
same document as a page rendered here, with no script and nothing fetched elsewhere)."""

from __future__ import annotations

import functools
import json

from flask import Blueprint, current_app, make_response, render_template

from idp.core.errors import JSONBlueprint

from . import document
from .render import Reference

bp = JSONBlueprint("openapi", __name__)
# The reference is a page: its failures are the hosted error page.
docs_bp = Blueprint(
    "docs",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/openapi",
)


@functools.cache
def _served(issuer: str) -> bytes:
    doc = document()
    doc["servers"] = [{"url": issuer}]
    return json.dumps(doc, ensure_ascii=False).encode()


@bp.get("/openapi.json")
def openapi_json():
    response = current_app.response_class(
        _served(current_app.config["IDP_ISSUER"]), mimetype="application/json"
    )
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@docs_bp.get("/docs")
def docs():
    html = render_template("openapi/docs.html", ref=Reference(document()))
    response = make_response(html)
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
