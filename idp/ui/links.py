"""Where a hosted page may send the browser afterwards: our own paths only."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from flask import request
from flask_babel import get_locale

from idp.core.i18n import LOCALES, SWITCH

# The pages a ``return_to`` may name (no open redirect).
_RETURN_PREFIXES = ("/oauth/authorize?", "/account", "/purchase")


def safe_return_to(value: str | None, default: str | None = "/account") -> str | None:
    """``value`` if it is one of our own pages (a path, never another origin), else
    ``default``."""
    if (
        isinstance(value, str)
        and value.startswith(_RETURN_PREFIXES)
        and "\\" not in value
        and "//" not in value.split("?", 1)[0]
    ):
        return value
    return default


def app_home(app) -> str | None:
    """Where "Back to <App>" goes: its registered home page (``client_uri``), else its
    first registered web origin, else the origin of its first http(s) redirect URI (all
    registered by the app, so no open redirect); None for an app with none (native)."""
    if app is None:
        return None
    if getattr(app, "client_uri", None):
        return app.client_uri
    for origin in getattr(app, "allowed_origins", None) or ():
        return origin.rstrip("/") + "/"
    for uri in getattr(app, "redirect_uris", None) or ():
        parts = urlsplit(uri)
        if parts.scheme in ("http", "https") and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}/"
    return None


def try_again_url(path: str, query: bytes | str, answers_get) -> str | None:
    """The GET of the page a refused request came from (a POST's own URL shows its form
    again: every form posts to its page's URL, with ``client_id``/``return_to`` in the
    query), or None when that URL shows no page (``answers_get(path)`` is false) or is
    not one of our own paths."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    if not answers_get(path):
        return None
    query = query.decode("latin-1") if isinstance(query, bytes) else query
    return path + ("?" + query if query else "")


# Parameters a page carries through its links (idp.pages.routes._carry); nothing else of
# a query is copied into a page (a protocol request's ``state`` is reflected nowhere).
_CARRIED = ("client_id", "return_to")


def language_links() -> list[tuple[str, str, str, bool]]:
    """The language switcher: (code, name, URL of this page in it, current) for each
    language; none on the protocol endpoints' pages (consent, logout: their URL is the
    app's request, which a link must not copy), where the app's ``ui_locales`` or an
    earlier choice decides."""
    if request.path.startswith("/oauth/"):
        return []
    try:
        carried = {name: request.args.get(name) for name in _CARRIED}
    except UnicodeDecodeError:
        carried = {}
    if carried.get("return_to") is not None:
        carried["return_to"] = safe_return_to(carried["return_to"], default=None)
    if carried.get("client_id") and not carried["client_id"].isprintable():
        carried["client_id"] = None
    current = str(get_locale())
    return [
        (
            code,
            name,
            request.path + "?" + urlencode({**_present(carried), SWITCH: code}),
            code == current,
        )
        for code, name in LOCALES.items()
    ]


def _present(params: dict) -> dict:
    return {k: v for k, v in params.items() if v}
