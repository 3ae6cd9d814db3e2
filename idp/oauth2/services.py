"""Authorization codes, refresh-token families and consents: every query on them."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from idp.audit import services as audit
from idp.core import scopes as scope_names
from idp.core.db_types import utcnow
from idp.core.extensions import db
from idp.users import services as users

from . import denylist, families
from .families import Rotation
from .models import AuthorizationCode, Consent, RefreshToken

# A superseded refresh token presented again (tabs racing, or a replay that lost): not
# reuse of a rotated token, so the family lives on, but worth an operator's look.
REFRESH_SUPERSEDED = "refresh_token.superseded_presented"


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Subject:
    """The person a grant acts for, with how and when they authenticated."""

    user_id: int
    sub: str
    auth_time: datetime
    session_id: int | None = None

    def get_user_id(self) -> str:  # Authlib hook
        return self.sub


# -- authorization codes -------------------------------------------------------------------
def save_code(
    code: str,
    client_id: str,
    subject: Subject,
    redirect_uri: str,
    scope: str,
    nonce: str | None,
    challenge: str | None,
    method: str | None,
) -> None:
    now = utcnow()
    ttl = current_app.config["IDP_AUTH_CODE_TTL"]
    db.session.add(
        AuthorizationCode(
            code_hash=token_hash(code),
            client_id=client_id,
            user_id=subject.user_id,
            session_id=subject.session_id,
            redirect_uri=redirect_uri,
            scope=scope,
            nonce=nonce,
            code_challenge=challenge,
            code_challenge_method=method,
            auth_time=subject.auth_time,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
    )
    db.session.commit()


def find_code(code: object, client_id: str) -> AuthorizationCode | None:
    """The code's row if it was issued to ``client_id``; no side effects, so a request
    can be checked against the code's bindings before the code is spent."""
    if not isinstance(code, str) or len(code) > 256:
        return None
    row = db.session.scalar(
        select(AuthorizationCode).where(AuthorizationCode.code_hash == token_hash(code))
    )
    if row is None or row.client_id != client_id:
        return None  # unknown, or another client's code
    return row


def redeem_code(row: AuthorizationCode) -> AuthorizationCode | None:
    """Claim a code exactly once.  A second presentation is a replay: the tokens the first
    one produced are revoked (RFC 6749 section 4.1.2) and None is returned."""
    now = utcnow()
    claimed = db.session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
        .values(used_at=now, issued_family=secrets.token_hex(16))
    )
    db.session.commit()
    db.session.refresh(row)
    if claimed.rowcount != 1:
        _revoke_code_tokens(row)
        return None
    if row.expires_at <= now:
        return None
    return row


def _revoke_code_tokens(row: AuthorizationCode) -> None:
    row.replayed_at = utcnow()
    db.session.commit()
    if row.issued_jti and row.issued_exp:
        denylist.revoke(row.issued_jti, row.client_id, row.issued_exp)
    if row.issued_family:
        revoke_family(row.issued_family, "code_replay")
    audit.record(audit.CODE_REPLAY, row.user_id, row.client_id)


def record_code_tokens(row: AuthorizationCode, jti: str, exp: int) -> None:
    """Remember the access token a code produced, for replay revocation; if a replay
    slipped in while the tokens were being minted, revoke them now."""
    row.issued_jti, row.issued_exp = jti, exp
    db.session.commit()
    db.session.refresh(row)
    if row.replayed_at is not None:
        _revoke_code_tokens(row)


# -- refresh tokens ----------------------------------------------------------------------------
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
        created_at=now,
        expires_at=min(now + idle, family_expires_at),
        family_expires_at=family_expires_at,
        access_jti=jti,
        access_exp=exp,
    )
    db.session.add(row)
    db.session.commit()
    return row


def use_refresh_token(value: object, client) -> Rotation | None:
    """Claim a refresh token for rotation (RFC 9700 section 4.14.2).

    A family has at most one live token.  A rotated token presented again is reuse:
    the whole family is revoked (its access tokens denied) and the event audited, even
    once the rotated token's own idle lifetime has passed.  Only within the app's
    ``refresh_reuse_grace_seconds`` of the first use (tabs racing; 0 by default) does
    a reuse instead supersede the successor, which then answers ``invalid_grant``.
    """
    if not isinstance(value, str) or len(value) > 256:
        return None
    row = find_refresh_token(value)
    if row is None or row.client_id != client.client_id:
        return None
    now = utcnow()
    if row.family_expires_at <= now:
        return None
    if row.revoked_at is not None:
        if row.revoke_reason == families.SUPERSEDED:
            audit.record(REFRESH_SUPERSEDED, row.user_id, row.client_id, family=row.family_id)
        return None
    if row.used_at is None and row.expires_at <= now:
        return None  # idle-expired before it was ever used: nothing leaked
    rotation = families.rotate(row, client, now)
    if rotation is None:
        db.session.refresh(row)
        if row.revoked_at is not None:
            return None  # revoked meanwhile: nothing left to detect
        grace = timedelta(seconds=client.refresh_reuse_grace_seconds)
        if grace and now - row.used_at <= grace:
            rotation = families.supersede(row, client, now)
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
    """Revoke a user's refresh tokens, for one app or all of them."""
    query = update(RefreshToken).where(
        RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)
    )
    if client_id:
        query = query.where(RefreshToken.client_id == client_id)
    db.session.execute(query.values(revoked_at=utcnow(), revoke_reason=reason))
    db.session.commit()


def find_refresh_token(value: str) -> RefreshToken | None:
    return db.session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash(value))
    )


def refresh_token_live(row: RefreshToken) -> bool:
    """Not rotated, revoked or expired, and its user may still sign in (RFC 7662 "active")."""
    now = utcnow()
    if row.used_at or row.revoked_at or row.expires_at <= now or row.family_expires_at <= now:
        return False
    user = users.get(row.user_id)
    return user is not None and not user.disabled


def refresh_token_subject(row: RefreshToken) -> str:
    return users.get(row.user_id).sub


def revoke_refresh_token(row: RefreshToken) -> None:
    """RFC 7009 section 2.1: revoking a refresh token revokes its whole grant (family)."""
    revoke_family(row.family_id, "client_revoked")


# -- consent ---------------------------------------------------------------------------------
def granted_scopes(user_id: int, client_id: str) -> set[str]:
    row = db.session.scalar(
        select(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id)
    )
    return set(row.scopes) if row else set()


def needs_consent(user_id: int, client, scope: str) -> bool:
    if client.first_party:
        return False
    return not set(scope_names.to_list(scope)) <= granted_scopes(user_id, client.client_id)


def grant_consent(user_id: int, client_id: str, scope: str) -> None:
    """Remember the scopes (added to any granted before)."""
    now = utcnow()
    row = db.session.scalar(
        select(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id)
    )
    scopes = scope_names.to_list(scope)
    if row is None:
        db.session.add(
            Consent(
                user_id=user_id, client_id=client_id, scopes=scopes, granted_at=now, updated_at=now
            )
        )
    else:
        row.scopes = sorted(set(row.scopes) | set(scopes))
        row.updated_at = now
    db.session.commit()
    audit.record(audit.CONSENT_GRANTED, user_id, client_id, scope=scope)


def revoke_consent(user_id: int, client_id: str) -> None:
    """Forget the consent and end the app's offline access (its refresh tokens)."""
    db.session.execute(
        delete(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id)
    )
    db.session.commit()
    revoke_refresh_tokens(user_id, client_id, "consent_revoked")
    audit.record(audit.CONSENT_REVOKED, user_id, client_id)


def consents(user_id: int) -> list[Consent]:
    return list(
        db.session.scalars(
            select(Consent).where(Consent.user_id == user_id).order_by(Consent.granted_at)
        )
    )


def epoch(value: datetime) -> int:
    return int(value.astimezone(UTC).timestamp())


def nonce_used(client_id: str, nonce: str) -> bool:
    """OIDC Core section 15.5.2: a nonce seen before for this client is a replay."""
    return (
        db.session.scalar(
            select(AuthorizationCode.id)
            .where(AuthorizationCode.client_id == client_id, AuthorizationCode.nonce == nonce)
            .limit(1)
        )
        is not None
    )
