"""Refresh tokens (RFC 6749 section 6): storing the first of a family, claiming one for
rotation with reuse detection (RFC 9700 section 4.14.2), revoking.  The conditional
updates that keep one live token per family are in ``families.py``."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from idp.audit import services as audit
from idp.core.db_types import utcnow
from idp.core.extensions import db
from idp.users import services as users
from idp.users.models import User

from . import families
from .families import Rotation
from .models import RefreshToken
from .subject import Subject, token_hash

# A superseded refresh token presented again (tabs racing, or a replay that lost): not
# reuse of a rotated token, so the family lives on, but worth an operator's look.
REFRESH_SUPERSEDED = "refresh_token.superseded_presented"


def _lifetimes(client) -> tuple[timedelta, timedelta]:
    return (
        timedelta(seconds=client.refresh_token_idle_lifetime),
        timedelta(seconds=client.refresh_token_absolute_lifetime),
    )


def save_refresh_token(
    value: str,
    client,
    subject: Subject,
    scope: str,
    family_id: str,
    family_expires_at: datetime | None = None,
    access: tuple[str, int] | None = None,
) -> RefreshToken:
    """Store the first token of a family; ``access`` is the (jti, exp) of the access
    token issued with it, denied if the family is ever revoked."""
    now = utcnow()
    idle, absolute = _lifetimes(client)
    family_expires_at = family_expires_at or now + absolute
    jti, exp = access or (None, None)
    row = RefreshToken(
        token_hash=token_hash(value),
        family_id=family_id,
        client_id=client.client_id,
        user_id=subject.user_id,
        session_id=subject.session_id,
        scope=scope,
        auth_time=subject.auth_time,
        amr=subject.amr,
        acr=subject.acr,
        created_at=now,
        expires_at=min(now + idle, family_expires_at),
        family_expires_at=family_expires_at,
        access_jti=jti,
        access_exp=exp,
    )
    db.session.add(row)
    db.session.commit()
    return row


def use_refresh_token(value: object, client, row: RefreshToken | None = None) -> Rotation | None:
    """Claim a refresh token for rotation (RFC 9700 section 4.14.2).

    A family has at most one live token.  A rotated token presented again is reuse:
    the whole family is revoked (its access tokens denied) and the event audited, even
    once the rotated token's own idle lifetime has passed.  Only within the app's
    ``refresh_reuse_grace_seconds`` of the first use (tabs racing; 0 by default) does
    a reuse instead supersede the successor, which then answers ``invalid_grant``.
    ``row``: the stored token of ``value``, when the caller has looked it up already.
    The rotation is committed by :func:`complete_rotation`.
    """
    if not isinstance(value, str) or len(value) > 256:
        return None
    row = row or find_refresh_token(value)
    if row is None or row.client_id != client.client_id:
        return None
    now = utcnow()
    if not _claimable(row, now):
        return None
    rotation = families.rotate(row, client, now)
    if rotation is None:
        return _presented_again(row, client, now)
    return rotation


def _claimable(row: RefreshToken, now: datetime) -> bool:
    """Within its family's lifetime, not revoked, and not idle-expired before any use
    (nothing leaked then).  A superseded token presented again is audited."""
    if row.family_expires_at <= now:
        return False
    if row.revoked_at is not None:
        if row.revoke_reason == families.SUPERSEDED:
            audit.record(REFRESH_SUPERSEDED, row.user_id, row.client_id, family=row.family_id)
        return False
    return not (row.used_at is None and row.expires_at <= now)


def _presented_again(row: RefreshToken, client, now: datetime) -> Rotation | None:
    """A token already rotated: superseded inside the app's grace window, else reuse,
    which revokes the family."""
    db.session.refresh(row)
    if row.revoked_at is not None:
        return None  # revoked meanwhile: nothing left to detect
    grace = timedelta(seconds=client.refresh_reuse_grace_seconds)
    within_grace = grace and now - row.used_at <= grace
    rotation = families.supersede(row, client, now) if within_grace else None
    if rotation is None:
        revoke_family(row.family_id, "reuse_detected")
        audit.record(audit.REFRESH_REUSE, row.user_id, row.client_id, family=row.family_id)
    return rotation


def complete_rotation(rotation: Rotation, value: str | None, jti: str, exp: int) -> bool:
    """Record what a rotation issued; False if the family was revoked meanwhile, in
    which case the access token is already denied and nothing may be handed out."""
    return families.complete(rotation, value, jti, exp)


def revoke_family(family_id: str, reason: str) -> None:
    """Revoke a grant: every refresh token of the family and the access tokens it minted."""
    families.revoke(family_id, reason)


def revoke_refresh_tokens(
    user_id: int, client_id: str | None = None, reason: str = "revoked"
) -> None:
    """Revoke a user's refresh tokens, for one app or all of them.

    The rows are locked first, in id order as :func:`families.revoke` does: a rotation
    in flight holds its parent's lock until it commits its successor, and only an
    UPDATE that starts after that commit sees the successor (PostgreSQL's UPDATE does
    not pick up rows committed while it waited)."""
    live = (RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
    if client_id:
        live += (RefreshToken.client_id == client_id,)
    db.session.execute(
        select(RefreshToken.id).where(*live).order_by(RefreshToken.id).with_for_update()
    )
    db.session.execute(
        update(RefreshToken).where(*live).values(revoked_at=utcnow(), revoke_reason=reason)
    )
    db.session.commit()


def revoke_user_grants(user_id: int, reason: str) -> None:
    """Access ender (``idp.users.access``): every refresh token of the user, all apps."""
    revoke_refresh_tokens(user_id, reason=reason)


def find_refresh_token(value: str) -> RefreshToken | None:
    """The stored token ``value`` is, whatever its state."""
    return db.session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash(value))
    )


def find_refresh_token_and_user(value: str) -> tuple[RefreshToken, User] | tuple[None, None]:
    """:func:`find_refresh_token` and the token's user, in one query (the grant needs
    both)."""
    row = db.session.execute(
        select(RefreshToken, User)
        .join(User, User.id == RefreshToken.user_id)
        .where(RefreshToken.token_hash == token_hash(value))
    ).first()
    return (row[0], row[1]) if row else (None, None)


def refresh_token_live(row: RefreshToken) -> bool:
    """Not rotated, revoked or expired, and its user may still sign in (RFC 7662 "active")."""
    now = utcnow()
    if row.used_at or row.revoked_at or row.expires_at <= now or row.family_expires_at <= now:
        return False
    user = users.get(row.user_id)
    return user is not None and not user.disabled


def refresh_token_subject(row: RefreshToken) -> str:
    """The ``sub`` of the token's user."""
    return users.get(row.user_id).sub


def revoke_refresh_token(row: RefreshToken) -> None:
    """RFC 7009 section 2.1: revoking a refresh token revokes its whole grant (family)."""
    revoke_family(row.family_id, "client_revoked")
