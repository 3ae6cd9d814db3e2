"""Rendering helpers shared by the hosted pages: branding, framing policy, errors."""

from __future__ import annotations

from flask import make_response, render_template, request

from idp.apps.services import get, query_client


def requesting_app():
    """The active partner app this page is shown for (``client_id`` in the query), if any."""
    client_id = request.args.get("client_id") or request.form.get("client_id")
    return query_client(client_id) if client_id else None


def frame_policy(response, app=None):
    """Hosted pages may be framed only by the registered origins of the app in the request."""
    origins = " ".join(app.allowed_origins) if app and app.allowed_origins else "'none'"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self' https: data:; "
        f"script-src 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors {origins}"
    )
    if origins == "'none'":
        response.headers["X-Frame-Options"] = "DENY"
    else:
        # X-Frame-Options cannot name several origins; CSP frame-ancestors governs.
        response.headers["X-Frame-Options"] = ""
        del response.headers["X-Frame-Options"]
    response.headers["Cache-Control"] = "no-store"
    return response


def page(template: str, status: int = 200, **context):
    """Render a hosted page for the app in the request (branding + framing)."""
    app = context.pop("app", None) or requesting_app()
    html = render_template(template, app=app, app_name=_app_name(app), **context)
    return frame_policy(make_response(html, status), app)


def _app_name(app) -> str | None:
    return None if app is None else get(app.client_id).name


def error_page(error: str, description: str | None, status: int = 400):
    """The hosted error page.  It never reads the body (the error may be that the body is
    too large, and reading it again raises again) and names the app only from a clean
    ``client_id`` in the query (the error may be that it was not clean: a NUL byte or an
    unpaired surrogate is not printable, and no client id holds anything unprintable)."""
    try:
        client_id = request.args.get("client_id")
    except UnicodeDecodeError:  # a query string that is not UTF-8: maybe this very error
        client_id = None
    app = query_client(client_id) if client_id and client_id.isprintable() else None
    # Not ``error=``: base.html shows that as the page's inline form error.
    html = render_template(
        "error.html", app=app, app_name=_app_name(app), code=error, description=description or error
    )
    return frame_policy(make_response(html, status), app)
