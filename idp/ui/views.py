"""Rendering helpers shared by the hosted pages: branding, framing policy, errors."""

from __future__ import annotations

from flask import current_app, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from idp.apps.services import get, query_client
from idp.core.i18n import _, _l

from . import waits
from .branding import brand_of
from .links import app_home, try_again_url


def requesting_app():
    """The active partner app this page is shown for (``client_id`` in the query), if any."""
    client_id = request.args.get("client_id") or request.form.get("client_id")
    return query_client(client_id) if client_id else None


def frame_policy(response, app=None):
    """Hosted pages may be framed only by the registered origins of the app in the request,
    and load images from its logo's origin only (idp.ui.branding), nothing else off-site."""
    origins = " ".join(app.allowed_origins) if app and app.allowed_origins else "'none'"
    brand = brand_of(app)
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src {brand.style_sources}; img-src {brand.img_sources}; "
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
    wait = waits.noted() if status == 429 else None
    if wait:  # a form a rate limit refused: it says for how long (forms.js counts down)
        context.update(wait=wait, wait_words=waits.in_words(wait))
    context.setdefault("app_home", app_home(app))  # "Back to <App>"
    html = render_template(
        template, app=app, app_name=_app_name(app), brand=brand_of(app), **context
    )
    return frame_policy(make_response(html, status), app)


def _app_name(app) -> str | None:
    return None if app is None else get(app.client_id).name


# What the error page tells a person, by error code: (heading, what happened and what to
# do), instead of the handler's description (written for any client: "Reload the page",
# Werkzeug's 404 text).  Other errors keep their description, and where it is written
# for developers (an app's bad request) it is folded away under "Technical details".
_COPY = {
    "not_found": (
        _l("Page not found"),
        _l("There is nothing at this address. The link may be old or mistyped."),
    ),
    "csrf_failed": (
        _l("This form expired"),
        _l(
            "For your safety, the form you sent had expired or came from another site, "
            "so nothing was changed. Open it again and send it once more."
        ),
    ),
    "rate_limited": (
        _l("Too many attempts"),
        _l("For your safety, this is paused for a while."),
    ),
    "server_error": (
        _l("Something went wrong on our side"),
        _l("It is not your fault. Try again in a moment."),
    ),
    "method_not_allowed": (
        _l("This page cannot be opened that way"),
        _l("Open it from a link or a button instead."),
    ),
}
_REPLACED = {"not_found", "csrf_failed", "rate_limited", "method_not_allowed"}
# Refusals of a request an app sent the browser with: the app's set-up, not the person.
_APP_REQUEST_PATHS = ("/oauth/",)


def _copy(error: str, app_name: str | None) -> tuple[str, str | None]:
    if error in _COPY:
        return _COPY[error]
    if request.path.startswith(_APP_REQUEST_PATHS):
        if app_name:
            message = _(
                "%(app)s made a request that this service cannot accept. "
                "Contact %(app)s and show them the technical details below.",
                app=app_name,
            )
        else:
            message = _(
                "The app that sent you here made a request that this service cannot "
                "accept. Contact that app and show them the technical details below."
            )
        return _("This app isn't set up correctly"), message
    return _("We could not continue"), None


def _answers_get(path: str) -> bool:
    try:
        current_app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:
        return False
    return True


def error_page(error: str, description: str | None, status: int = 400):
    """The hosted error page.  It never reads the body (the error may be that the body is
    too large, and reading it again raises again) and names the app only from a clean
    ``client_id`` in the query (the error may be that it was not clean: a NUL byte or an
    unpaired surrogate is not printable, and no client id holds anything unprintable).

    It speaks to the person: what happened, what to do, the wait of a rate limit; the
    way back to the app (and "Try again", the GET of the page the refused request came
    from); the technical detail folded away for whoever they contact."""
    try:
        client_id = request.args.get("client_id")
    except UnicodeDecodeError:  # a query string that is not UTF-8: maybe this very error
        client_id = None
    app = query_client(client_id) if client_id and client_id.isprintable() else None
    name = _app_name(app)
    heading, message = _copy(error, name)
    wait = waits.noted() if status == 429 else None
    # Sending an app's refused request again would only be refused again.
    app_request = error not in _COPY and request.path.startswith(_APP_REQUEST_PATHS)
    retry = None if app_request or error == "not_found" else _try_again()
    # Not ``error=``: base.html shows that as the page's inline form error.
    html = render_template(
        "error.html",
        app=app,
        app_name=name,
        brand=brand_of(app),
        app_home=app_home(app),
        heading=heading,
        message=message,
        code=error,
        description=None if error in _REPLACED else description or error,
        wait=wait,
        wait_words=waits.in_words(wait) if wait else None,
        try_again=retry,
    )
    return frame_policy(make_response(html, status), app)


def _try_again() -> str | None:
    try:
        return try_again_url(request.path, request.query_string, _answers_get)
    except (UnicodeError, ValueError):
        return None
