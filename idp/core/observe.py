"""Events a higher layer may count: a lower package says what happened, the metrics
(``idp.metrics``, the composition layer) listen.  Without a listener, an event costs a
dictionary lookup.

Events and their fields (each a keyword argument):

- ``REQUEST``: route, status, seconds (``idp.core.logs``, once per request)
- ``AUDIT``: event, client_id (``idp.audit.services.record``: login failures, refresh reuse...)
- ``TOKEN_ISSUED``: grant_type, client_id (``idp.oauth2.server``)
- ``WEBHOOK``: type, outcome (``wallet.webhooks``)
- ``WALLET``: kind, amount (``wallet.ledger``, each entry written)
"""

from __future__ import annotations

from collections.abc import Callable

REQUEST = "request"
AUDIT = "audit"
TOKEN_ISSUED = "token_issued"  # noqa: S105 (an event name)
WEBHOOK = "webhook"
WALLET = "wallet"

_listeners: dict[str, tuple[Callable[..., None], ...]] = {}


def listen(event: str, listener: Callable[..., None]) -> None:
    """Call ``listener(**fields)`` on each ``event``; adding the same listener twice
    (one process building several apps) keeps one."""
    current = _listeners.get(event, ())
    if listener not in current:
        _listeners[event] = (*current, listener)


def emit(name: str, /, **fields) -> None:
    for listener in _listeners.get(name, ()):
        listener(**fields)
