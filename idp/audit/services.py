"""Recording and reading security events (login, consent, refresh reuse, rotation...)."""

from __future__ import annotations

import logging

from flask import has_request_context, request
from sqlalchemy import select

from idp.core import observe
from idp.core.db_types import utcnow
from idp.core.extensions import db

from .models import AuditEvent

log = logging.getLogger("idp.audit")

LOGIN_OK = "login.succeeded"
LOGIN_FAILED = "login.failed"
SIGNUP = "signup"
EMAIL_VERIFIED = "email.verified"
PASSWORD_RESET_REQUESTED = "password.reset_requested"  # noqa: S105 (event name)
PASSWORD_CHANGED = "password.changed"  # noqa: S105 (event name)
CONSENT_GRANTED = "consent.granted"
CONSENT_REVOKED = "consent.revoked"
REFRESH_REUSE = "refresh_token.reuse_detected"
CODE_REPLAY = "authorization_code.replay_detected"
LOGOUT = "logout"
LOGOUT_EVERYWHERE = "logout.everywhere"
KEY_ROTATED = "key.rotated"


def record(
    event: str,
    user_id: int | None = None,
    client_id: str | None = None,
    commit: bool = True,
    **detail,
) -> None:
    """Append one event.  ``detail`` must never hold secrets (passwords, tokens, codes)."""
    ip = (request.remote_addr or "") if has_request_context() else ""
    db.session.add(
        AuditEvent(
            at=utcnow(), event=event, user_id=user_id, client_id=client_id, ip=ip, detail=detail
        )
    )
    if commit:
        db.session.commit()
    log.info("audit %s user=%s client=%s %s", event, user_id, client_id, detail or "")
    # The metrics count login failures and refresh-token reuse from here, one choke point.
    observe.emit(observe.AUDIT, event=event, client_id=client_id, reason=detail.get("reason"))


def tail(limit: int = 20, after_id: int = 0, event: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.id > after_id)
    if event:
        query = query.where(AuditEvent.event == event)
    rows = db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit))
    return list(reversed(list(rows)))


def to_dict(row: AuditEvent) -> dict:
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "event": row.event,
        "user_id": row.user_id,
        "client_id": row.client_id,
        "ip": row.ip,
        "detail": row.detail,
    }
