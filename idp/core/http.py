"""The request class (only ``POST`` submits, and JSON that cannot be parsed is a 400)
and the cookie session opened only for requests that carry one."""

from __future__ import annotations

from flask import Request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import BadRequest


class IdPRequest(Request):
    # Bodies are small JSON documents and forms; a larger body is refused with 413.
    max_content_length = 1024 * 1024

    def __init__(self, environ, *args, **kwargs):
        super().__init__(environ, *args, **kwargs)
        if self.method == "HEAD":
            # Flask answers HEAD with the GET view, and views tell a page view from a
            # form submission by ``request.method == "GET"``: a HEAD carrying a form
            # would run the submission without CSRF (Flask-WTF checks only POST, PUT,
            # PATCH, DELETE) or rate limit (counted on POST).  Every view sees HEAD as
            # the GET it stands for; Werkzeug still drops the body from the response,
            # as it looks at the environ, and any body sent with the HEAD is ignored.
            self.method = "GET"

    def on_json_loading_failed(self, e):
        raise BadRequest("The request body is not valid JSON.")

    def get_json(self, force=False, silent=False, cache=True):
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            # Deeply nested JSON exhausts the parser's stack: treat it as malformed.
            if silent:
                return None
            raise BadRequest("The request body is not valid JSON.") from None


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie session, without its cost on requests that send no cookie
    (every API call): Flask builds a signing serializer per request before it looks for
    the cookie.  A request without one gets a new empty session, as Flask would give it;
    one that writes to it is saved by Flask's own ``save_session``."""

    def open_session(self, app, request):
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)
