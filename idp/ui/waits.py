"""How long a refused visitor must wait, in words a person reads.

The rate limiter (composition layer, above this package) notes the wait of the limit a
request broke with :func:`note`; the page that answers the 429 reads it back with
:func:`noted`, so the form says "try again in 5 minutes" instead of "wait a little", and
says the same number as the ``Retry-After`` header."""

from __future__ import annotations

import math

from flask import g

from idp.core.i18n import ngettext

_KEY = "idp_retry_after"


def note(seconds: float) -> None:
    """Remember, for this request, the seconds until the broken limit lets it through."""
    g.setdefault(_KEY, 0)
    g.idp_retry_after = max(g.idp_retry_after, max(1, math.ceil(seconds)))


def noted() -> int | None:
    """The seconds noted for this request, or None (no limit was broken here)."""
    return g.get(_KEY)


def in_words(seconds: int) -> str:
    """``seconds`` rounded up to what a person needs: "45 seconds", "6 minutes", "2 hours"."""
    if seconds < 60:
        return ngettext("%(num)d second", "%(num)d seconds", max(1, seconds))
    if seconds < 3600:
        return ngettext("%(num)d minute", "%(num)d minutes", math.ceil(seconds / 60))
    return ngettext("%(num)d hour", "%(num)d hours", math.ceil(seconds / 3600))
