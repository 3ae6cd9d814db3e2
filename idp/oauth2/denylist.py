"""Deny-list of revoked JWT ids (RFC 7009 for self-contained tokens).

A JWT cannot be recalled, so revocation records its ``jti`` until the moment the
token would have expired anyway; introspection and our own APIs consult it.  Redis
when ``REDIS_URL`` is set (shared by every node, expiry built in), the database
otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from idp.db_types import utcnow
from idp.extensions import db
from idp.redis_client import get_redis

from .models import RevokedToken

_PREFIX = "idp:revoked:"


def revoke(jti: str, client_id: str, exp: int) -> None:
    """Deny ``jti`` until ``exp`` (a Unix time); revoking twice is harmless."""
    now = utcnow()
    expires_at = datetime.fromtimestamp(exp, UTC)
    if expires_at <= now:
        return  # already dead
    redis = get_redis()
    if redis is not None:
        redis.set(_PREFIX + jti, client_id, exat=exp, nx=True)
        return
    db.session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= now))
    db.session.add(
        RevokedToken(jti=jti, client_id=client_id, expires_at=expires_at, revoked_at=now)
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # a concurrent revocation of the same token won


def is_revoked(jti: str) -> bool:
    redis = get_redis()
    if redis is not None:
        return bool(redis.exists(_PREFIX + jti))
    return (
        db.session.scalar(
            select(RevokedToken.jti).where(
                RevokedToken.jti == jti, RevokedToken.expires_at > utcnow()
            )
        )
        is not None
    )
