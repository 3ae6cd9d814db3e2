"""Where a hosted page may send the browser afterwards: our own paths only."""

from __future__ import annotations

from urllib.parse import urlsplit

# The pages a ``return_to`` may name (no open redirect).
_RETURN_PREFIXES = ("/oauth/authorize?", "/account", "/purchase")


def safe_return_to(value: str | None, default: str = "/account") -> str:
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
