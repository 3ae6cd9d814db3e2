"""Recovery codes: ten single-use codes that stand in for the second factor when the
phone or the passkey is gone.  Shown once when made; only a keyed hash is stored (as
the mailed codes are: ``codes._digest``), so a database dump yields none of them.
Using one is audited and mailed to the owner."""

from __future__ import annotations

import secrets

from flask import url_for
from sqlalchemy import delete, func, select, update

from idp.audit import services as audit
from idp.core import outbox
from idp.core.db_types import utcnow
from idp.core.extensions import db
from idp.core.i18n import _, _l

from . import alerts, factors, passwords
from .codes import _digest
from .errors import InvalidCredentials
from .mfa_errors import WrongRecoveryCode
from .models import RecoveryCode, User

KIND = "recovery"
LABEL = _l("Recovery code")
COUNT = 10
# 10 characters of a 32-letter alphabet without look-alikes (0/O, 1/l/I): 50 bits each.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_LENGTH = 10


def register() -> None:
    """Offer a recovery code on the second step page to whoever has one left."""
    factors.register_second_factor(
        KIND, LABEL, lambda user: remaining(user) > 0, _url, reset=_reset
    )


def _url(carry: dict) -> str:
    return url_for("pages.second_factor", method=KIND, **{k: v for k, v in carry.items() if v})


def _normalised(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


def _new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def remaining(user: User) -> int:
    """How many unused recovery codes ``user`` has."""
    return db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def replace(user: User, commit: bool = True) -> list[str]:
    """Ten new codes for ``user`` (earlier ones stop working); returns them, to be shown
    once.  Audited."""
    remove(user)
    now, codes = utcnow(), [_new_code() for _ in range(COUNT)]
    for code in codes:
        db.session.add(
            RecoveryCode(user_id=user.id, code_hash=_digest(_normalised(code)), created_at=now)
        )
    audit.record(factors.AUDIT_RECOVERY_CODES, user.id, commit=False, count=COUNT)
    if commit:
        db.session.commit()
    return codes


def regenerate(user: User, password: object) -> list[str]:
    """:func:`replace`, given the account's password (:class:`InvalidCredentials` else)."""
    if not isinstance(password, str) or not passwords.verify(user.password_hash, password):
        raise InvalidCredentials(_("Your password is incorrect."))
    return replace(user)


def remove(user: User) -> None:
    """Delete every recovery code of ``user`` (uncommitted)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def _reset(user: User) -> bool:
    had = remaining(user) > 0
    remove(user)
    return had


def use(user: User, code: object) -> int:
    """Spend one recovery code of ``user`` (once: a conditional UPDATE claims it), mail
    and audit its use; returns how many are left.  :class:`WrongRecoveryCode` else."""
    digest = _digest(_normalised(code)) if isinstance(code, str) and len(code) < 64 else None
    claimed = digest and db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == digest,
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    if not claimed or claimed.rowcount != 1:
        db.session.rollback()
        audit.record(factors.AUDIT_FACTOR_FAILED, user.id, factor=KIND, reason="wrong_code")
        raise WrongRecoveryCode()
    left = remaining(user)
    audit.record(factors.AUDIT_RECOVERY_USED, user.id, commit=False, left=left)
    alerts.recovery_code_used(user, left)
    outbox.commit()
    return left
