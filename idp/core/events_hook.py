"""Partner events, as the packages that cause them see them: one call, ``emit``.

The wallet and the protocol layer say what happened (``emit("credits.purchased",
user_id, {...})``) inside the transaction that makes it happen; the events package
(``idp.events``, above them) registers the writer that turns it into rows of that same
transaction, so an event commits with its cause or not at all.  Without a writer (an
app built without ``idp.events``) ``emit`` does nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

_WRITER = "idp_events_writer"  # app.extensions key

Writer = Callable[[str, int, dict, "str | None"], None]


def register_writer(app, writer: Writer) -> None:
    """``writer(kind, user_id, data, client_id)`` adds the event to the session."""
    app.extensions[_WRITER] = writer


def emit(kind: str, user_id: int, data: dict | None = None, client_id: str | None = None) -> None:
    """Record that ``kind`` happened to ``user_id``, in the caller's transaction (it is
    delivered once that commits).  ``client_id``: only that app hears of it (a consent)."""
    writer = current_app.extensions.get(_WRITER)
    if writer is not None:
        writer(kind, user_id, dict(data or {}), client_id)
