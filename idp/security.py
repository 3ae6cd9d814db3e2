"""Response headers every response carries."""

from __future__ import annotations


def init_app(app) -> None:
    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        if "Content-Security-Policy" not in headers:
            # Nothing else is meant to be framed.  Hosted pages set their own policy per
            # app (idp.ui.views.frame_policy), which must not get a DENY added here.
            headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
            headers["X-Frame-Options"] = "DENY"
        if app.config["IDP_ENV"] == "production":
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
