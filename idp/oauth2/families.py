"""Refresh-token families: the conditional updates that keep one live token per family.

RFC 9700 section 4.14.2 wants a rotated token's reuse detected; that only works if a
family never branches.  Every step that issues a token therefore retires exactly one
live token in the same transaction (its parent when rotating, the parent's unused
child when a reuse inside the app's grace window supersedes it), so the count of live
tokens (neither used, revoked nor expired) never rises above one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from idp.core.db_types import utcnow
from idp.core.extensions import db

from . import denylist
from .models import RefreshToken

SUPERSEDED = "superseded"
NOT_ISSUED = "not_issued"


@dataclass(frozen=True)
class Rotation:
    """A claimed refresh token and the successor reserved for it in the same commit;
    what Authlib's refresh-token grant holds as ``request.refresh_token``."""

    token: RefreshToken
    successor_id: int

    def check_client(self, client) -> bool:
        return self.token.check_client(client)

    def get_scope(self) -> str:
        return self.token.scope


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# The statements of a rotation, built once, on the table itself (SQLAlchemy Core): the
# ORM's unit of work and bulk-update paths cost more than the round trips they make.
_TOKENS = RefreshToken.__table__
_NOT_TAKEN = (_TOKENS.c.used_at.is_(None), _TOKENS.c.revoked_at.is_(None))
_CLAIM = (
    update(_TOKENS)
    .where(_TOKENS.c.id == bindparam("parent"), *_NOT_TAKEN)
    .values(used_at=bindparam("now"))
)
_RESERVE = insert(_TOKENS).returning(_TOKENS.c.id)
_OUTCOME = (_TOKENS.c.client_id, _TOKENS.c.revoked_at, _TOKENS.c.revoke_reason)
_HAND_OVER = (
    update(_TOKENS)
    .where(_TOKENS.c.id == bindparam("successor"))
    .values(
        token_hash=bindparam("token_hash"),
        access_jti=bindparam("jti"),
        access_exp=bindparam("exp"),
    )
    .returning(*_OUTCOME)
)
_NOTHING_TO_HAND_OVER = (
    update(_TOKENS)
    .where(_TOKENS.c.id == bindparam("successor"))
    .values(
        access_jti=bindparam("jti"),
        access_exp=bindparam("exp"),
        revoked_at=func.coalesce(
            _TOKENS.c.revoked_at, bindparam("now", type_=_TOKENS.c.revoked_at.type)
        ),
        revoke_reason=func.coalesce(_TOKENS.c.revoke_reason, NOT_ISSUED),
    )
    .returning(*_OUTCOME)
)


def _reserve(parent: RefreshToken, client, now: datetime) -> int:
    """Insert the successor of ``parent`` in the caller's transaction.

    Its value is not known yet (Authlib mints it after the claim), so it starts with
    the hash of a random string nobody holds; :func:`complete` sets the real one.
    Reserving here is what makes the claim and the new live token one commit.
    """
    idle = timedelta(seconds=client.refresh_token_idle_lifetime)
    row = {
        "token_hash": _hash(secrets.token_urlsafe(32)),
        "family_id": parent.family_id,
        "client_id": parent.client_id,
        "user_id": parent.user_id,
        "session_id": parent.session_id,
        "scope": parent.scope,  # RFC 6749 section 6: the grant keeps its scope
        "auth_time": parent.auth_time,
        "amr": parent.amr,
        "acr": parent.acr,
        "created_at": now,
        "expires_at": min(now + idle, parent.family_expires_at),
        "family_expires_at": parent.family_expires_at,
        "parent_id": parent.id,
    }
    return db.session.execute(_RESERVE, row).scalar_one()


def rotate(parent: RefreshToken, client, now: datetime) -> Rotation | None:
    """Claim an unused ``parent`` and reserve its successor in the caller's transaction,
    which :func:`complete` commits; None when another request used (or a revocation
    took) ``parent`` first.

    No commit here: the claim's row lock is held while the access token is signed, so
    a revocation of the family waits for :func:`complete` and then sees the successor
    (one commit per refresh instead of three)."""
    claimed = db.session.execute(_CLAIM, {"parent": parent.id, "now": now})
    if claimed.rowcount != 1:
        return None
    set_committed_value(parent, "used_at", now)  # what the UPDATE wrote, no reload
    return Rotation(parent, _reserve(parent, client, now))


def supersede(parent: RefreshToken, client, now: datetime) -> Rotation | None:
    """A reuse of the rotated ``parent`` inside the grace window: retire its unused
    child and reserve a new one.  None when the child was already used or revoked (the
    family moved on, so the presentation is plain reuse).

    Requests for the same parent queue on its row lock (PostgreSQL; SQLite has one
    writer anyway), so each sees the child the previous one issued.
    """
    db.session.execute(
        select(RefreshToken.id).where(RefreshToken.id == parent.id).with_for_update()
    )
    retired = db.session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.parent_id == parent.id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=now, revoke_reason=SUPERSEDED)
    )
    # Committed by :func:`complete`, as a rotation is (the parent's lock held till then).
    return Rotation(parent, _reserve(parent, client, now)) if retired.rowcount else None


def complete(rotation: Rotation, value: str | None, jti: str, exp: int) -> bool:
    """Give the reserved successor its value and the access token issued with it, and
    commit the rotation (claim, successor and this) as one transaction.

    False when the family was revoked meanwhile (not merely this token superseded):
    that access token is denied at once and the response must not be sent.  A
    revocation running beside the rotation waits for the claim's row lock, then sees
    the committed successor and denies its access token; one that got in first (in
    this transaction) is what ``RETURNING`` shows here.
    """
    params = {"successor": rotation.successor_id, "jti": jti, "exp": exp}
    if value is None:  # the grant held no offline_access: nothing to hand over
        statement, params["now"] = _NOTHING_TO_HAND_OVER, utcnow()
    else:
        statement, params["token_hash"] = _HAND_OVER, _hash(value)
    client_id, revoked_at, reason = db.session.execute(statement, params).one()
    db.session.commit()
    if revoked_at is None or reason in (SUPERSEDED, NOT_ISSUED):
        return True
    denylist.revoke(jti, client_id, exp)
    return False


def revoke(family_id: str, reason: str) -> None:
    """Revoke every token of the family, and deny the unexpired access tokens it minted
    (RFC 7009 section 2.1: the grant's access tokens go with it)."""
    # Lock in id order, parents before children as :func:`supersede` does, so the two
    # queue instead of deadlocking.
    db.session.execute(
        select(RefreshToken.id)
        .where(RefreshToken.family_id == family_id)
        .order_by(RefreshToken.id)
        .with_for_update()
    )
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoke_reason=reason)
    )
    db.session.commit()
    minted = db.session.execute(
        select(RefreshToken.access_jti, RefreshToken.client_id, RefreshToken.access_exp).where(
            RefreshToken.family_id == family_id,
            RefreshToken.access_jti.is_not(None),
            RefreshToken.access_exp > int(utcnow().timestamp()),
        )
    ).all()
    for jti, client_id, exp in minted:
        denylist.revoke(jti, client_id, exp)
