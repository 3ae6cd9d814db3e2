"""Authorization codes and consents: every query on them.  Refresh tokens are in
``refresh_tokens.py``; this module is the package's public face for all three."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app, has_request_context, request
from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError

from idp.audit import services as audit
from idp.core import scopes as scope_names
from idp.core.db_types import utcnow
from idp.core.events_hook import emit
from idp.core.extensions import db
from idp.users.access import ACCOUNT_DELETED
from idp.users.models import User

from . import denylist
from .models import AuthorizationCode, Consent
from .refresh_tokens import (  # noqa: F401  (the package's public services)
    REFRESH_SUPERSEDED,
    complete_rotation,
    find_refresh_token,
    find_refresh_token_and_user,
    refresh_token_live,
    refresh_token_subject,
    revoke_family,
    revoke_refresh_token,
    revoke_refresh_tokens,
    revoke_user_grants,
    save_refresh_token,
    use_refresh_token,
)
from .subject import Subject, epoch, token_hash  # noqa: F401  (shared by every grant)


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
            amr=subject.amr,
            acr=subject.acr,
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


# -- consent ---------------------------------------------------------------------------------
def _consent(user_id: int, client_id: str) -> Consent | None:
    """The consent row, read once per request: the authorization view asks whether
    consent is needed, then records the decision, and the second step reuses the row the
    first one read (kept on the request, not ``g``, which may outlive it)."""
    cache = getattr(request, "idp_consents", {}) if has_request_context() else {}
    key = (user_id, client_id)
    if key in cache and (cache[key] is None or cache[key] in db.session):
        return cache[key]
    row = db.session.scalar(
        select(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id)
    )
    _remember(key, row)
    return row


def _remember(key: tuple[int, str], row: Consent | None) -> None:
    if has_request_context():
        request.idp_consents = {**getattr(request, "idp_consents", {}), key: row}


def granted_scopes(user_id: int, client_id: str) -> set[str]:
    """The scopes the user has granted the app (none when it never asked)."""
    row = _consent(user_id, client_id)
    return set(row.scopes) if row else set()


# Built once: every call of an app acting for a user (the wallet API) runs it.
_USER_AND_CONSENT = (
    select(User, Consent.scopes)
    .outerjoin(
        Consent, and_(Consent.user_id == User.id, Consent.client_id == bindparam("client_id"))
    )
    .where(User.sub == bindparam("sub"))
)


def user_and_granted_scopes(sub: str, client_id: str) -> tuple[User, set[str]] | None:
    """The user ``sub`` names and the scopes they granted ``client_id`` (none when they
    never did), in one query; None when no user has that sub."""
    row = db.session.execute(_USER_AND_CONSENT, {"sub": sub, "client_id": client_id}).first()
    if row is None:
        return None
    return row[0], set(row[1] or ())


def needs_consent(user_id: int, client, scope: str) -> bool:
    """Whether the user must be asked: first-party apps never ask (OIDC Core 3.1.2.4)."""
    if client.first_party:
        return False
    return not set(scope_names.to_list(scope)) <= granted_scopes(user_id, client.client_id)


def grant_consent(user_id: int, client_id: str, scope: str) -> None:
    """Remember the scopes (added to any granted before).  Two grants at once (two tabs
    consenting, two nodes) both count: the first consent's INSERT that loses to the
    unique (user, app) key becomes an update, and an update locks the row, so neither's
    scopes are lost."""
    now = utcnow()
    key = (user_id, client_id)
    scopes = scope_names.to_list(scope)
    inserted = False
    if _consent(user_id, client_id) is None:
        row = Consent(
            user_id=user_id, client_id=client_id, scopes=scopes, granted_at=now, updated_at=now
        )
        try:
            with db.session.begin_nested():
                db.session.add(row)
            inserted = True
            _remember(key, row)
        except IntegrityError:  # granted concurrently: add ours to it below
            pass
    if not inserted:
        row = db.session.scalar(
            select(Consent)
            .where(Consent.user_id == user_id, Consent.client_id == client_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        row.scopes = sorted(set(row.scopes) | set(scopes))
        row.updated_at = now
        _remember(key, row)
    audit.record(audit.CONSENT_GRANTED, user_id, client_id, commit=False, scope=scope)
    emit("consent.granted", user_id, {"client_id": client_id, "scopes": scopes}, client_id)
    db.session.commit()


def revoke_consent(user_id: int, client_id: str) -> None:
    """Forget the consent and end the app's offline access (its refresh tokens)."""
    db.session.execute(
        delete(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id)
    )
    audit.record(audit.CONSENT_REVOKED, user_id, client_id, commit=False)
    emit("consent.revoked", user_id, {"client_id": client_id}, client_id)
    db.session.commit()
    _remember((user_id, client_id), None)
    revoke_refresh_tokens(user_id, client_id, "consent_revoked")


def forget_consents(user_id: int, reason: str) -> None:
    """Access ender (``idp.users.access``): a deleted account's consents go with it, so
    no app is listed as holding what nobody granted any more.  Signing out everywhere or
    a password change keeps them (the person still agreed).  Not committed: deletion
    commits once, after its steps (the partner events of ``user.deleted`` were found from
    these consents before this runs)."""
    if reason != ACCOUNT_DELETED:
        return
    db.session.execute(delete(Consent).where(Consent.user_id == user_id))
    if has_request_context():
        request.idp_consents = {}


def consents(user_id: int) -> list[Consent]:
    """Every app the user granted something, oldest first."""
    return list(
        db.session.scalars(
            select(Consent).where(Consent.user_id == user_id).order_by(Consent.granted_at)
        )
    )


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
