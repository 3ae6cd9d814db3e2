"""Deny-list of revoked JWT ids (RFC 7009 for self-contained tokens).

A JWT cannot be recalled, so revocation records its ``jti`` until the moment the
token would have expired anyway; introspection and our own APIs consult it.

The database is the source of truth: a revocation is committed there first.  With
``REDIS_URL`` set, Redis is a cache in front of it, shared by every node: a revocation
is written to it as well, and a lookup Redis cannot answer (a new jti, or every jti
after Redis restarted without persistence) is answered by the database and cached.
A "not revoked" answer is cached only where nothing is cached yet (``SET NX``), so it
can never hide a revocation written at the same moment, which always overwrites it.
When Redis is unreachable the database answers.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from idp.core.db_types import utcnow
from idp.core.extensions import db
from idp.core.redis_client import get_redis

from .models import RevokedToken

_PREFIX = "idp:revoked:"
_NOT_REVOKED = b"-"  # cached answer for a jti the database does not deny


def revoke(jti: str, client_id: str, exp: int) -> None:
    """Deny ``jti`` until ``exp`` (a Unix time); revoking twice is harmless."""
    now = utcnow()
    expires_at = datetime.fromtimestamp(exp, UTC)
    if expires_at <= now:
        return  # already dead
    db.session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= now))
    db.session.add(
        RevokedToken(jti=jti, client_id=client_id, expires_at=expires_at, revoked_at=now)
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # a concurrent revocation of the same token won
    redis = get_redis()
    if redis is not None:
        # Overwrites a cached "not revoked".  Should Redis fail here the revocation is
        # still committed: other nodes see it once their cached answer (if any) expires.
        redis.set(_PREFIX + jti, client_id, exat=exp)


def is_revoked(jti: str) -> bool:
    redis = get_redis()
    if redis is None:
        return _denied_until(jti) is not None
    try:
        cached = redis.get(_PREFIX + jti)
    except RedisError:
        return _denied_until(jti) is not None
    if cached is not None:
        return cached != _NOT_REVOKED
    until = _denied_until(jti)
    try:
        if until is None:
            ttl = current_app.config["IDP_DENYLIST_NEGATIVE_CACHE_SECONDS"]
            redis.set(_PREFIX + jti, _NOT_REVOKED, ex=ttl, nx=True)
        else:
            redis.set(_PREFIX + jti, b"revoked", exat=until)  # warmed from the database
    except RedisError:
        pass  # the answer stands; the next lookup asks the database again
    return until is not None


def _denied_until(jti: str) -> int | None:
    """When the database's deny-list entry for ``jti`` ends (Unix time), or None."""
    expires_at = db.session.scalar(
        select(RevokedToken.expires_at).where(
            RevokedToken.jti == jti, RevokedToken.expires_at > utcnow()
        )
    )
    return None if expires_at is None else int(expires_at.timestamp())
