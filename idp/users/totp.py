"""TOTP (RFC 6238) with an authenticator app: enrolment by QR code, codes checked once.

The shared secret is sealed at rest (``idp.core.sealing``, bound to the account).  A
code is accepted within one time step either side of now (RFC 6238 section 5.2: clock
drift and typing time), and only for a step later than the last one accepted, so a code
seen over a shoulder or phished cannot be used again, nor an older one.
"""

from __future__ import annotations

import hmac
import time
from urllib.parse import urlsplit

import pyotp
import segno
from flask import current_app
from markupsafe import Markup
from sqlalchemy import delete, select, update

from idp.audit import services as audit
from idp.core import outbox, sealing
from idp.core.db_types import utcnow
from idp.core.extensions import db
from idp.core.i18n import _, _l

from . import alerts, factors, passwords, recovery_codes
from .errors import InvalidCredentials
from .mfa_errors import TotpAlreadyOn, TotpNotStarted, WrongTotpCode
from .models import TotpFactor, User

KIND = "totp"
LABEL = _l("Authenticator app")
_DIGITS = 6
_WINDOW = 1  # steps either side of now
_clock = time.time  # tests move it to a step of their choosing


def _bound_to(user: User) -> str:
    return f"totp:{user.id}"


def _factor(user: User, confirmed: bool | None = True) -> TotpFactor | None:
    query = select(TotpFactor).where(TotpFactor.user_id == user.id)
    if confirmed is not None:
        query = query.where(
            TotpFactor.confirmed_at.is_not(None) if confirmed else TotpFactor.confirmed_at.is_(None)
        )
    return db.session.scalar(query)


def enabled(user: User) -> bool:
    """Whether ``user`` signs in with an authenticator app's codes."""
    return _factor(user) is not None


def register() -> None:
    """Offer the authenticator app on the second step page to whoever has one."""
    factors.register_second_factor(KIND, LABEL, enabled, "pages.second_factor", reset=reset)


# -- enrolment ---------------------------------------------------------------------------
def start_enrolment(user: User) -> str:
    """A new secret for ``user``'s authenticator app, held unconfirmed until a code
    proves the app has it (an earlier unconfirmed one is replaced)."""
    if enabled(user):
        raise TotpAlreadyOn()
    secret = pyotp.random_base32()
    db.session.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id))
    db.session.add(
        TotpFactor(
            user_id=user.id,
            secret_sealed=sealing.seal(_bound_to(user), secret.encode()),
            last_step=0,
            created_at=utcnow(),
        )
    )
    db.session.commit()
    return secret


def enrolling_secret(user: User) -> str | None:
    """The secret of the enrolment ``user`` started and has not confirmed, if any."""
    row = _factor(user, confirmed=False)
    return _secret(user, row) if row else None


def _secret(user: User, row: TotpFactor) -> str:
    return sealing.unseal(_bound_to(user), row.secret_sealed).decode()


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` URI authenticator apps read from the QR code."""
    issuer = urlsplit(current_app.config["IDP_ISSUER"]).hostname or "IdP"
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_svg(uri: str) -> Markup:
    """The QR code of ``uri`` as inline SVG, drawn here (no third-party service sees it)."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=5,
        border=2,
        dark="#000",
        light="#fff",
        omitsize=True,
        title=_("QR code for your authenticator app"),
    )
    return Markup(svg)  # noqa: S704 (segno's own markup: the URI is escaped inside it)


def confirm(user: User, code: object) -> list[str]:
    """Turn the authenticator app on with its first code; returns the recovery codes
    made with it (shown once), none when the account already had some."""
    row = _factor(user, confirmed=False)
    if row is None:
        raise TotpNotStarted()
    _accept(user, row, code)
    row.confirmed_at = utcnow()
    created = [] if recovery_codes.remaining(user) else recovery_codes.replace(user, commit=False)
    audit.record(factors.AUDIT_FACTOR_ADDED, user.id, commit=False, factor=KIND)
    alerts.factor_added(user, str(LABEL))
    outbox.commit()
    return created


# -- codes ---------------------------------------------------------------------------------
def verify(user: User, code: object) -> None:
    """Accept one code of ``user``'s authenticator app, else :class:`WrongTotpCode`."""
    row = _factor(user)
    if row is None:
        raise WrongTotpCode()
    _accept(user, row, code)
    db.session.commit()


def _accept(user: User, row: TotpFactor, code: object) -> None:
    """Check ``code`` against the steps around now and claim its step; a step at or
    before the last one claimed is refused (a replay), the claim is one conditional
    UPDATE so two requests cannot both spend one code."""
    step = _matching_step(_secret(user, row), code)
    if step is None or step <= row.last_step:
        audit.record(
            factors.AUDIT_FACTOR_FAILED, user.id, factor=KIND,
            reason="replay" if step is not None else "wrong_code",
        )  # fmt: skip
        raise WrongTotpCode()
    claimed = db.session.execute(
        update(TotpFactor)
        .where(TotpFactor.id == row.id, TotpFactor.last_step < step)
        .values(last_step=step)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        raise WrongTotpCode()


def _matching_step(secret: str, code: object) -> int | None:
    if not isinstance(code, str):
        return None
    code = code.replace(" ", "").strip()
    if len(code) != _DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=_DIGITS)
    now = int(_clock()) // totp.interval
    found = None
    for step in range(now - _WINDOW, now + _WINDOW + 1):
        # Every step is compared (no early exit), in constant time.
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


# -- removal -------------------------------------------------------------------------------
def disable(user: User, password: object) -> None:
    """Turn the authenticator app off, given the account's password."""
    if not isinstance(password, str) or not passwords.verify(user.password_hash, password):
        raise InvalidCredentials(_("Your password is incorrect."))
    if not enabled(user):
        return
    _remove(user)
    audit.record(factors.AUDIT_FACTOR_REMOVED, user.id, commit=False, factor=KIND)
    alerts.factor_removed(user, str(LABEL))
    outbox.commit()


def reset(user: User) -> bool:
    """Remove the authenticator app (an operator's reset; the caller audits, mails and
    commits); whether there was one."""
    had = enabled(user)
    db.session.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id))
    return had


def forget(user: User, actor: str) -> None:
    """Deleting the account: its authenticator app and recovery codes go (uncommitted:
    the deletion commits once)."""
    reset(user)
    recovery_codes.remove(user)


def _remove(user: User) -> None:
    db.session.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id))
    if not factors.has_second_factor(user):
        recovery_codes.remove(user)  # nothing left for them to stand in for
