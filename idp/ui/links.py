"""Where a hosted page may send the browser afterwards: our own paths only."""

from __future__ import annotations

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
