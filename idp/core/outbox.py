"""The outbox: outgoing messages written in the transaction that decides to send them,
delivered afterwards (transactional outbox).

A request never talks to a mail server: it adds a row here and commits it with the
rest of its work, so a slow or failing SMTP server neither delays nor changes its
answer, and nothing is sent for work that rolled back.  Delivery is at least once:
a message is *claimed* by pushing ``next_attempt_at`` forward by a lease (a
conditional UPDATE, so two workers never hold it at once), handed to the handler
registered for its ``kind``, then marked sent.  A failure retries with exponential
backoff up to ``IDP_OUTBOX_MAX_ATTEMPTS``; a process that dies mid-delivery leaves the
lease to expire, and the message is tried again.

Who drains (``IDP_OUTBOX_DELIVERY``): a thread of each process (``worker``), the
caller itself right after its commit (``request``: :func:`commit`, the tests' mode, so
they read the mail as soon as the response is back), or only ``flask mail send``
(``cli``: cron or a separate process).

The core knows no kinds: packages above register a handler per kind (``register``).
Payloads hold codes and links: they are emptied once a message is done (sent or given
up) and never logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask, current_app, g
from sqlalchemy import JSON, Integer, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.db_types import UTCDateTime, utcnow
from idp.core.extensions import db

log = logging.getLogger("idp.outbox")

WORKER, REQUEST, CLI = "worker", "request", "cli"
_LEASE = timedelta(minutes=5)  # longer than any SMTP timeout: a live delivery keeps it
_MAX_BACKOFF = timedelta(hours=1)
_HANDLERS: dict[str, Callable[[OutboxMessage], None]] = {}


class OutboxMessage(db.Model):
    """One outgoing message of any ``kind``; ``next_attempt_at`` NULL means done."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(254))
    payload: Mapped[dict] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The exception's class only: its message may quote the payload or the server's reply.
    last_error: Mapped[str | None] = mapped_column(String(100))


def register(kind: str, handler: Callable[[OutboxMessage], None]) -> None:
    """Deliver messages of ``kind`` with ``handler``; it raises to have them retried.
    What it adds to the session commits with the message's "sent" mark."""
    _HANDLERS[kind] = handler


def enqueue(kind: str, recipient: str, payload: dict) -> OutboxMessage:
    """Add a message to the caller's transaction: it is sent only once that commits
    (by :func:`commit`, or any commit before the request ends)."""
    message = OutboxMessage(
        kind=kind,
        recipient=recipient,
        payload=payload,
        attempts=0,
        created_at=utcnow(),
        next_attempt_at=utcnow(),
    )
    db.session.add(message)
    g.idp_outbox_pending = True
    return message


def commit() -> None:
    """Commit the caller's transaction, then hand what it queued to delivery: wake the
    worker, or in ``request`` mode deliver at once (in a request, a CLI command or a
    test alike, so whoever asked reads the mail as soon as this returns)."""
    db.session.commit()
    _queued()


def _queued() -> None:
    if not g.pop("idp_outbox_pending", False):
        return
    delivery = current_app.extensions["idp_outbox"]
    if isinstance(delivery, _Worker):
        delivery.wake()
    elif delivery == REQUEST:
        try:
            drain()
        except Exception:  # the caller's work is committed: never fail it for the mail
            log.exception("outbox drain after a commit failed")
            db.session.rollback()


def drain(limit: int = 100) -> int:
    """Deliver every due message (and those their handlers enqueue), at most ``limit``
    attempts; returns how many were delivered."""
    delivered, seen = 0, set()
    while len(seen) < limit:
        due = db.session.scalars(
            select(OutboxMessage.id)
            # Once per call: a message retried at once (no backoff) must not spend every
            # attempt in one round.
            .where(OutboxMessage.next_attempt_at <= utcnow(), OutboxMessage.id.notin_(seen))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit - len(seen))
        ).all()
        db.session.rollback()  # end the read: claims are short transactions of their own
        if not due:
            break
        for message_id in due:
            seen.add(message_id)
            delivered += _attempt(message_id)
    g.pop("idp_outbox_pending", None)  # what the handlers queued was drained just now
    return delivered


def _attempt(message_id: int) -> bool:
    message = _claim(message_id)
    if message is None:
        return False  # another worker holds it, or it is done
    handler = _HANDLERS.get(message.kind)
    try:
        if handler is None:
            raise LookupError(f"no outbox handler for {message.kind!r}")
        handler(message)
    except Exception as exc:  # any failure: retried later, never lost
        db.session.rollback()
        _failed(db.session.get(OutboxMessage, message_id), exc)
        return False
    message.sent_at, message.next_attempt_at, message.payload = utcnow(), None, {}
    db.session.commit()
    return True


def _claim(message_id: int) -> OutboxMessage | None:
    now = utcnow()
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.next_attempt_at <= now)
        .values(attempts=OutboxMessage.attempts + 1, next_attempt_at=now + _LEASE)
    )
    db.session.commit()
    return db.session.get(OutboxMessage, message_id) if claimed.rowcount == 1 else None


def _failed(message: OutboxMessage, exc: Exception) -> None:
    message.last_error = type(exc).__name__[:100]
    if message.attempts >= current_app.config["IDP_OUTBOX_MAX_ATTEMPTS"]:
        message.next_attempt_at, message.payload = None, {}
        log.error(
            "outbox message %s (%s) given up after %s attempts: %s",
            message.id,
            message.kind,
            message.attempts,
            message.last_error,
        )
    else:
        base = timedelta(seconds=current_app.config["IDP_OUTBOX_RETRY_SECONDS"])
        delay = min(base * 2 ** (message.attempts - 1), _MAX_BACKOFF)
        message.next_attempt_at = utcnow() + delay
        log.warning(
            "outbox message %s (%s) attempt %s failed (%s); retry in %ss",
            message.id,
            message.kind,
            message.attempts,
            message.last_error,
            int(delay.total_seconds()),
        )
    db.session.commit()


# -- who drains ---------------------------------------------------------------------------
def delivery_mode(app: Flask) -> str:
    """``IDP_OUTBOX_DELIVERY``, or by default ``request`` under TESTING, else ``worker``."""
    return app.config["IDP_OUTBOX_DELIVERY"] or (REQUEST if app.testing else WORKER)


def init_app(app: Flask) -> None:
    mode = delivery_mode(app)
    if mode not in (WORKER, REQUEST, CLI):
        raise RuntimeError(f"IDP_OUTBOX_DELIVERY must be worker, request or cli, not {mode!r}")
    app.extensions["idp_outbox"] = _Worker(app) if mode == WORKER else mode

    @app.after_request
    def _deliver_after_request(response):
        # For callers that queued and then committed with a plain db.session.commit().
        _queued()
        return response


class _Worker:
    """A daemon thread per process, started by the first request that enqueues (not at
    import: `flask db upgrade` must not poll a table it has yet to create, and a thread
    started before a pre-forking server forks would not survive in its workers)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.event = threading.Event()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def wake(self) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="idp-outbox", daemon=True)
                self.thread.start()
        self.event.set()

    def _run(self) -> None:
        poll = self.app.config["IDP_OUTBOX_POLL_SECONDS"]
        while True:
            self.event.clear()
            with self.app.app_context():
                try:
                    drain()
                except Exception:  # e.g. the database restarting: try again next round
                    log.exception("outbox worker round failed")
                finally:
                    db.session.remove()
            self.event.wait(poll)
