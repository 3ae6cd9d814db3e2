"""Which event types any active webhook endpoint listens to, cached in each process.

``credits.consumed`` and ``credits.low`` are emitted on every consume, the hot path of
the wallet API: on a server where no endpoint listens to a type, emitting it must not
cost a query, nor a fall of the balance that crosses no endpoint's threshold.  So the
writer asks :meth:`ListenerCache.get` first (:meth:`Listening.hears`), which answers
from memory and reads the database at most every ``IDP_WEBHOOK_LISTENERS_CHECK_MS``:

- Every change that may add a listener (an endpoint added, re-enabled, given other
  types or a ``credits.low`` threshold; see :func:`changed`) replaces the token in the one-row
  ``webhook_listeners`` table, in the transaction of the change.  A process that finds
  a token other than the one it last saw reads the listened types again (the token
  first, then the types, so a change committed in between is seen by the next check).
- A random token rather than a counter: a change rolled back after this process read
  its uncommitted token, then another change committed, can never leave the value it
  saw.
- The process that made the change forgets its cache at once; other processes and nodes
  notice within ``IDP_WEBHOOK_LISTENERS_CHECK_MS`` (1 s by default).
- Every ``_RELOAD_SECONDS`` the types are read again whatever the token says: nodes of
  the previous release, during a rollout, add endpoints without replacing it.

The cache may hold a type or threshold nobody listens to any more (removed or disabled
endpoints do not replace the token): the writer's own query then finds no one, which
is correct and costs what it cost before the cache.  It never lacks a listened type
past the delay.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import NamedTuple

from flask import current_app
from sqlalchemy import select

from idp.core.extensions import db

from .models import ACTIVE, WebhookEndpoint, WebhookListeners

_EXTENSION = "idp_event_listeners"
_ROW = 1
_RELOAD_SECONDS = 60.0
LOW = "credits.low"


class Listening(NamedTuple):
    """What active endpoints listen to: their types, and the ``credits.low`` thresholds
    (an endpoint without one does not count as listening to that type)."""

    types: frozenset[str]
    thresholds: frozenset[int]

    def hears(self, kind: str, data: dict) -> bool:
        """Whether any endpoint may hear this event (the writer's query then says which);
        a fall of the balance only if it crosses some endpoint's threshold."""
        if kind not in self.types:
            return False
        return kind != LOW or any(crosses(data, t) for t in self.thresholds)


def crosses(data: dict, threshold: int | None) -> bool:
    """Whether a fall of the available credits crosses ``threshold`` downwards: before at
    or above it, after below it (so it is told once per crossing)."""
    before, after = data.get("available_before"), data.get("available_after")
    if threshold is None or not isinstance(before, int) or not isinstance(after, int):
        return False
    return before >= threshold > after


class ListenerCache:
    """:class:`Listening` of the active endpoints, checked at most every
    ``check_seconds``."""

    def __init__(self, check_seconds: float) -> None:
        self.check_seconds = check_seconds
        self._known: Listening | None = None
        self._token: str | None = None
        self._checked = self._loaded = 0.0
        self._lock = threading.Lock()

    def get(self) -> Listening:
        now = time.monotonic()
        known = self._known
        if known is not None and now - self._checked < self.check_seconds:
            return known
        return self._refresh(now)

    def types(self) -> frozenset[str]:
        return self.get().types

    def _refresh(self, now: float) -> Listening:
        token = db.session.scalar(select(WebhookListeners.token).where(WebhookListeners.id == _ROW))
        known = self._known
        if known is not None and token == self._token and now - self._loaded < _RELOAD_SECONDS:
            self._checked = now
            return known
        rows = db.session.execute(
            select(WebhookEndpoint.event_types, WebhookEndpoint.low_balance_threshold).where(
                WebhookEndpoint.status == ACTIVE
            )
        ).all()
        types, thresholds = set(), set()
        for kinds, threshold in rows:
            kinds = set(kinds or ())
            if LOW in kinds and threshold is None:
                kinds.discard(LOW)
            elif LOW in kinds:
                thresholds.add(threshold)
            types |= kinds
        listening = Listening(frozenset(types), frozenset(thresholds))
        with self._lock:
            self._known, self._token, self._checked, self._loaded = listening, token, now, now
        return listening

    def forget(self) -> None:
        with self._lock:
            self._known = None


def init_app(app) -> None:
    seconds = app.config["IDP_WEBHOOK_LISTENERS_CHECK_MS"] / 1000
    app.extensions[_EXTENSION] = ListenerCache(seconds)


def cache() -> ListenerCache:
    return current_app.extensions[_EXTENSION]


def changed() -> None:
    """An endpoint may listen to more than before: tell every process (a new token, in
    the caller's transaction) and this one at once."""
    db.session.merge(WebhookListeners(id=_ROW, token=secrets.token_hex(16)))
    cache().forget()
