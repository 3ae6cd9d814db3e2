"""Key lifecycle: generation, rotation (next -> active -> retired -> removed), listing.

Every query on ``signing_keys`` lives here.  Rotation is a single transaction of
conditional updates; partial unique indexes guarantee that two nodes rotating at
the same moment cannot leave two active (or two next) keys behind.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta

from flask import current_app
from joserfc.jwk import RSAKey
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from idp.core.db_types import utcnow
from idp.core.extensions import db

from . import crypto
from .errors import KeyDecryptionFailed, RotationNotReady
from .models import ACTIVE, ALG, NEXT, RETIRED, SigningKey

log = logging.getLogger("idp.keys")


def _keks() -> list[bytes]:
    """The configured key-encryption keys, the sealing one first."""
    return crypto.parse_keks(current_app.config["IDP_KEY_ENCRYPTION_KEY"])


def _kek() -> bytes:
    return _keks()[0]


def _new_key(status: str, now: datetime, private=None) -> SigningKey:
    """A sealed key row; ``private`` (an RSA key object) is generated when not given."""
    private = private or crypto.generate_rsa(current_app.config["IDP_KEY_SIZE"])
    jwk = RSAKey.import_key(private)
    kid = jwk.thumbprint()  # RFC 7638: stable, derived from the public key
    public = {**jwk.as_dict(private=False), "kid": kid, "alg": ALG, "use": "sig"}
    return SigningKey(
        kid=kid,
        alg=ALG,
        status=status,
        private_key=crypto.seal(_kek(), kid, private),
        public_jwk=public,
        created_at=now,
        activated_at=now if status == ACTIVE else None,
    )


def import_key(private, status: str, now: datetime | None = None) -> SigningKey:
    """Store an existing RSA private key (operators migrating keys; fixed test keys)."""
    key = _new_key(status, now or utcnow(), private)
    db.session.add(key)
    db.session.commit()
    return key


def retirement_horizon() -> timedelta:
    """How long a retired key stays published: the longest token it may have signed,
    plus the window in which a node that has not yet seen the rotation still signs with it."""
    cfg = current_app.config
    return timedelta(seconds=cfg["IDP_MAX_ACCESS_TOKEN_LIFETIME"] + cfg["IDP_KEY_REFRESH_SECONDS"])


def rotate(now: datetime | None = None, force: bool = False) -> SigningKey:
    """Promote the `next` key to `active`, retire the old one, publish a fresh `next`.

    With no keys at all this bootstraps an active and a next key.  A next key signs
    only after it has been in the JWKS for ``IDP_JWKS_MAX_AGE`` seconds, so verifiers
    caching the JWKS already hold it; ``force`` skips that wait (emergency rotation).
    Returns the newly active key.
    """
    now = now or utcnow()
    active = db.session.scalar(select(SigningKey).where(SigningKey.status == ACTIVE))
    nxt = db.session.scalar(select(SigningKey).where(SigningKey.status == NEXT))
    try:
        if active is None and nxt is None:
            promoted = _new_key(ACTIVE, now)
            db.session.add(promoted)
            db.session.flush()
        else:
            promoted = _promote(active, nxt, now, force)
        db.session.add(_new_key(NEXT, now))
        db.session.flush()
        prune(now)
        db.session.commit()
    except IntegrityError:
        # Another node rotated in the same instant; its result stands.
        db.session.rollback()
        raise RotationNotReady("another process rotated the keys at the same time") from None
    log.info("signing key rotated: active kid=%s", promoted.kid)
    return promoted


def _promote(active: SigningKey | None, nxt: SigningKey | None, now, force) -> SigningKey:
    if nxt is None:
        nxt = _new_key(NEXT, now)
        db.session.add(nxt)
        db.session.flush()
    published_for = (now - nxt.created_at).total_seconds()
    wait = current_app.config["IDP_JWKS_MAX_AGE"]
    if published_for < wait and not force:
        raise RotationNotReady(
            f"next key {nxt.kid} has been published for {int(published_for)}s; verifiers may "
            f"cache the JWKS for {wait}s. Wait, or force an emergency rotation."
        )
    if active is not None:
        _transition(
            active.kid, ACTIVE, RETIRED, retired_at=now, publish_until=now + retirement_horizon()
        )
    _transition(nxt.kid, NEXT, ACTIVE, activated_at=now)
    db.session.expire_all()
    return db.session.get(SigningKey, nxt.kid)


def _transition(kid: str, old: str, new: str, **values) -> None:
    result = db.session.execute(
        update(SigningKey)
        .where(SigningKey.kid == kid, SigningKey.status == old)
        .values(status=new, **values)
    )
    if result.rowcount != 1:
        raise IntegrityError("concurrent rotation", None, Exception(kid))


def prune(now: datetime | None = None) -> int:
    """Delete retired keys whose every token has expired; returns how many."""
    now = now or utcnow()
    result = db.session.execute(
        delete(SigningKey).where(SigningKey.status == RETIRED, SigningKey.publish_until <= now)
    )
    return result.rowcount


def ensure_active() -> None:
    """Bootstrap keys on first use, so a fresh deployment signs without a manual step."""
    if db.session.scalar(select(SigningKey.kid).where(SigningKey.status == ACTIVE)) is None:
        with contextlib.suppress(RotationNotReady):  # another process bootstrapped meanwhile
            rotate()


def rotation_due(now: datetime | None = None) -> bool:
    """True when ``IDP_KEY_ROTATION_DAYS`` is set and the active key is older than that."""
    days = current_app.config["IDP_KEY_ROTATION_DAYS"]
    if days <= 0:
        return False
    activated = db.session.scalar(
        select(SigningKey.activated_at).where(SigningKey.status == ACTIVE)
    )
    return activated is not None and (now or utcnow()) - activated >= timedelta(days=days)


def active_key() -> SigningKey | None:
    return db.session.scalar(select(SigningKey).where(SigningKey.status == ACTIVE))


def active_kid() -> str | None:
    return db.session.scalar(select(SigningKey.kid).where(SigningKey.status == ACTIVE))


def load_private(key: SigningKey) -> RSAKey:
    """The decrypted private key as a joserfc key carrying its kid."""
    private, _ = crypto.unseal_any(_keks(), key.kid, key.private_key)
    return RSAKey.import_key(private, {"kid": key.kid, "alg": ALG, "use": "sig"})


def published(now: datetime | None = None) -> list[SigningKey]:
    """Keys verifiers must know: next, active, and retired ones still inside their horizon."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(SigningKey)
            .where(or_(SigningKey.status != RETIRED, SigningKey.publish_until > now))
            .order_by(SigningKey.created_at.desc())
        )
    )


def all_keys() -> list[SigningKey]:
    return list(db.session.scalars(select(SigningKey).order_by(SigningKey.created_at.desc())))


def rewrap() -> tuple[int, int]:
    """Re-seal every stored private key under the sealing key-encryption key (the first
    of ``IDP_KEY_ENCRYPTION_KEY``); returns (re-sealed, already under it).

    Nodes keep signing meanwhile: each row is one conditional UPDATE on the blob it read
    (a key rotated away or re-sealed by a concurrent run is left to that writer), and a
    node holds its decrypted key in memory.  A row no configured key opens raises
    :class:`KeyDecryptionFailed` before anything is written."""
    keks = _keks()
    plan = []
    stored = all_keys()
    for key in stored:
        try:
            private, opened_by = crypto.unseal_any(keks, key.kid, key.private_key)
        except KeyDecryptionFailed:
            raise KeyDecryptionFailed(
                f"Signing key {key.kid} opens under no key of IDP_KEY_ENCRYPTION_KEY."
            ) from None
        if opened_by:
            plan.append((key.kid, key.private_key, crypto.seal(keks[0], key.kid, private)))
    for kid, old, new in plan:
        db.session.execute(
            update(SigningKey)
            .where(SigningKey.kid == kid, SigningKey.private_key == old)
            .values(private_key=new)
        )
    db.session.commit()
    if plan:
        log.info("re-sealed %d signing key(s) under the current key-encryption key", len(plan))
    return len(plan), len(stored) - len(plan)
