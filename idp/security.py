"""Response headers every response carries."""

from __future__ import annotations


def init_app(app) -> None:
    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        # Nothing here is meant to be framed; hosted pages will open this per app.
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        if app.config["IDP_ENV"] == "production":
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
