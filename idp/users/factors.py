"""Second factors: how a person authenticated, and the second step of a sign-in.

The seam every factor plugs into (TOTP and recovery codes here, passkeys in
``idp.users.passkeys``):

* **Methods and levels.**  ``amr`` values are RFC 8176's (:data:`PWD`, :data:`OTP`,
  :data:`HWK`, :data:`SWK`, :data:`USER`, :data:`MFA`); a session's ``acr`` is one of two
  levels, advertised in discovery (``acr_values_supported``): :data:`ACR_1FA`, one
  factor, and :data:`ACR_2FA`, two factors of different kinds (``amr`` then holds
  :data:`MFA`).  :func:`combined` and :func:`acr_of` compute them; nothing else should.
* **The registry.**  :func:`register_second_factor` makes a factor appear on the second
  step page for the users who have it: ``available(user) -> bool`` says who, ``url`` (an
  endpoint name, or ``url(carry) -> str``) is where its form lives; ``carry`` holds the
  ``return_to`` and ``client_id`` to pass along.
* **The pending second step.**  After a correct password, a user who has a factor (or
  a signed-in one asked for a stronger sign-in: step-up) is not signed in yet:
  :func:`begin_second_step` keeps who, how far they got and where they go next in this
  browser's signed session cookie for ``IDP_SECOND_STEP_TTL`` seconds.  A factor's page
  reads :func:`pending_user`, checks its own proof, then calls
  :func:`complete_second_step` with the proof's ``amr`` value: that opens the SSO
  session (``sessions.start`` with the combined ``amr``/``acr`` and a fresh
  ``auth_time``) and returns a :class:`Completed` whose ``apply(response)`` sets the
  session cookie and whose ``next`` is where to send the browser (the completion is
  audited: :data:`AUDIT_SECOND_STEP`, with the method).

A passwordless sign-in (a passkey alone) needs no pending step: it calls
``token = sessions.start(user, amr=[...])`` directly, then
``sessions.set_cookie(response, token)``.  ``register_second_factor(..., reset=fn)``
lets ``flask users mfa reset`` remove that kind too (``fn(user)`` deletes, uncommitted,
and says whether there was one).  The audit events of every factor are the
``AUDIT_*`` names below; the mails are ``idp.users.alerts``'s (``factor_added``,
``factor_removed``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, session, url_for

from idp.audit import services as audit
from idp.core import outbox
from idp.core.i18n import _

from . import alerts, sessions
from .accounts import get
from .methods import (  # noqa: F401  (the seam's names, defined below sessions)
    ACR_1FA,
    ACR_2FA,
    ACR_VALUES,
    HWK,
    MFA,
    OTP,
    PWD,
    SWK,
    USER,
    acr_of,
    combined,
    satisfies,
)
from .models import User

_PENDING = "idp_second_step"

# Audit events of second factors (``detail`` names the factor's kind, never a secret).
AUDIT_FACTOR_ADDED = "mfa.factor_added"
AUDIT_FACTOR_REMOVED = "mfa.factor_removed"
AUDIT_FACTOR_FAILED = "mfa.factor_failed"
AUDIT_SECOND_STEP = "mfa.second_step_completed"
AUDIT_RECOVERY_CODES = "mfa.recovery_codes_created"
AUDIT_RECOVERY_USED = "mfa.recovery_code_used"
AUDIT_RESET = "mfa.reset"


# -- the registry ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SecondFactor:
    """A kind of second factor a user may hold, and where its form is."""

    kind: str
    label: str
    available: Callable[[User], bool]
    url: str | Callable[[dict], str]
    reset: Callable[[User], bool] | None = None

    def href(self, carry: dict) -> str:
        """The factor's page for this sign-in (its ``return_to``/``client_id`` carried)."""
        if callable(self.url):
            return self.url(carry)
        return url_for(self.url, **{k: v for k, v in carry.items() if v})


_FACTORS: dict[str, SecondFactor] = {}


def register_second_factor(
    kind: str,
    label: str,
    available: Callable[[User], bool],
    url: str | Callable[[dict], str],
    reset: Callable[[User], bool] | None = None,
) -> None:
    """Offer ``kind`` on the second step page to the users for whom ``available(user)``
    holds (registering a kind again replaces it: every app of a process shares this).
    ``reset(user)`` removes every factor of that kind the user holds, uncommitted, and
    says whether there was one (``flask users mfa reset``)."""
    _FACTORS[kind] = SecondFactor(kind, label, available, url, reset)


def offered(user: User) -> list[SecondFactor]:
    """The factors ``user`` holds, in order of registration."""
    return [f for f in _FACTORS.values() if f.available(user)]


def has_second_factor(user: User) -> bool:
    """Whether a sign-in of ``user`` needs a second step (recovery codes alone do not
    count: they stand in for a factor, they are not one)."""
    return any(f.kind != "recovery" for f in offered(user))


def reset_all(user: User) -> list[str]:
    """Remove every second factor of ``user`` (support's reset); the kinds removed.
    Uncommitted: the caller audits and commits."""
    return [f.kind for f in list(_FACTORS.values()) if f.reset is not None and f.reset(user)]


def support_reset(user: User, actor: str) -> list[str]:
    """Support's ``flask users mfa reset``: every second factor and recovery code of
    ``user`` removed, audited with who did it, the owner mailed; the kinds removed."""
    removed = reset_all(user)
    audit.record(AUDIT_RESET, user.id, commit=False, actor=actor, removed=removed)
    if removed:
        alerts.factor_removed(user, _("Two-step verification"), by_operator=True)
    outbox.commit()
    return removed


# -- the pending second step --------------------------------------------------------------
@dataclass(frozen=True)
class Pending:
    """A sign-in waiting for its second factor."""

    user: User
    amr: list[str]
    next: str
    replaces: int | None  # the session a step-up upgrades (ended when it completes)


def begin_second_step(
    user: User, amr, next_url: str, replaces: sessions.CrossAppSession | None = None
) -> None:
    """Hold the sign-in of ``user`` (so far ``amr``) until a second factor completes it;
    ``replaces`` is the session of a step-up (the new one takes its place)."""
    session[_PENDING] = {
        "uid": user.id,
        "amr": combined(amr),
        "next": next_url,
        "sid": replaces.id if replaces is not None else None,
        "at": int(time.time()),
    }


def pending() -> Pending | None:
    """This browser's sign-in waiting for a second factor, unless expired or gone."""
    held = session.get(_PENDING)
    if not isinstance(held, dict):
        return None
    if time.time() - held.get("at", 0) > current_app.config["IDP_SECOND_STEP_TTL"]:
        session.pop(_PENDING, None)
        return None
    user = get(held.get("uid"))
    if user is None or user.disabled:
        session.pop(_PENDING, None)
        return None
    return Pending(user, list(held.get("amr") or []), held.get("next") or "/", held.get("sid"))


def pending_user() -> User | None:
    """The user whose sign-in waits for a second factor in this browser, if any."""
    found = pending()
    return found.user if found else None


def cancel_second_step() -> None:
    """Forget the pending sign-in (the person chose to start again)."""
    session.pop(_PENDING, None)


@dataclass(frozen=True)
class Completed:
    """A sign-in completed: the new session's cookie and where the browser goes next."""

    token: str
    next: str

    def apply(self, response):
        """Set the session cookie on ``response`` (returned)."""
        return sessions.set_cookie(response, self.token)


def complete_second_step(amr: str) -> Completed:
    """Finish this browser's pending sign-in with a second factor proved by ``amr``:
    a new SSO session with the combined methods and their level, ``auth_time`` now; a
    step-up's old session ends.  Raises :class:`LookupError` when nothing is pending."""
    found = pending()
    if found is None:
        raise LookupError("no sign-in is waiting for a second factor")
    session.pop(_PENDING, None)
    methods = combined(found.amr, amr)
    step_up = {"step_up": True} if found.replaces is not None else {}
    audit.record(AUDIT_SECOND_STEP, found.user.id, commit=False, method=amr, **step_up)
    token = sessions.start(found.user, amr=methods, ends=found.replaces)
    return Completed(token, found.next)
