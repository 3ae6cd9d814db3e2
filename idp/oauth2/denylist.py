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

A revoked token never becomes valid again because Redis restarted or failed over:

* a "not revoked" answer is tagged with the run_id of the Redis server that holds it
  (``idp.core.redis_client``); one restored from a snapshot by a restarted Redis, or
  held by a replica promoted in its place, carries another run_id and is not trusted;
  the database answers and the stale entry is replaced only if it is still there
  (compare-and-set), never over a revocation written meanwhile;
* a revocation whose Redis write fails is committed all the same and kept in this
  process, which writes it to Redis before answering any lookup from Redis again.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from idp.core.db_types import utcnow
from idp.core.extensions import db
from idp.core.redis_client import get_redis, server_run_id

from .models import RevokedToken

_PREFIX = "idp:revoked:"
_NOT_REVOKED = b"-"  # cached answer for a jti the database does not deny, + the run_id
# app.extensions key: revocations committed while Redis failed, not yet written there
# (jti -> (client id, exp)), kept by each process.
_UNSYNCED = "idp_denylist_unsynced"
# SET the answer only if the key still holds what was read (nothing, or a stale answer).
_REPLACE = """
local v = redis.call('GET', KEYS[1])
if (v == false and ARGV[1] == '') or v == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
return false
"""


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
        # still committed, and this process writes it there before it trusts Redis again.
        _unsynced()[jti] = (client_id, exp)
        with contextlib.suppress(RedisError):
            _sync(redis)


def _unsynced() -> dict[str, tuple[str, int]]:
    return current_app.extensions.setdefault(_UNSYNCED, {})


def _sync(redis) -> None:
    """Write the revocations Redis missed (raises RedisError while it still fails)."""
    pending = _unsynced()
    for jti, (client_id, exp) in list(pending.items()):
        redis.set(_PREFIX + jti, client_id, exat=exp)
        pending.pop(jti, None)


def is_revoked(jti: str) -> bool:
    redis = get_redis()
    if redis is None:
        return _denied_until(jti) is not None
    try:
        if _unsynced():
            _sync(redis)
        cached = redis.get(_PREFIX + jti)
    except RedisError:
        return _denied_until(jti) is not None
    if cached is not None and not _is_not_revoked(cached):
        return True
    run_id = server_run_id(redis)
    fresh = _NOT_REVOKED + run_id if run_id else None  # unknown server: cache no "not"
    if fresh is not None and cached == fresh:
        return False
    # Nothing cached, or a "not revoked" from another Redis server's lifetime: ask.
    until = _denied_until(jti)
    try:
        if until is None and fresh is not None:
            ttl = current_app.config["IDP_DENYLIST_NEGATIVE_CACHE_SECONDS"]
            replace = redis.register_script(_REPLACE)
            replace(keys=[_PREFIX + jti], args=[cached or b"", fresh, ttl])
        elif until is not None:
            redis.set(_PREFIX + jti, b"revoked", exat=until)  # warmed from the database
    except RedisError:
        pass  # the answer stands; the next lookup asks the database again
    return until is not None


def _is_not_revoked(cached: bytes) -> bool:
    """A cached "not revoked" (tagged with a run_id or, written by older code, not)."""
    return cached.startswith(_NOT_REVOKED) and len(cached) in (1, 41)


def _denied_until(jti: str) -> int | None:
    """When the database's deny-list entry for ``jti`` ends (Unix time), or None."""
    expires_at = db.session.scalar(
        select(RevokedToken.expires_at).where(
            RevokedToken.jti == jti, RevokedToken.expires_at > utcnow()
        )
    )
    return None if expires_at is None else int(expires_at.timestamp())
