"""Step-up authentication for resources (RFC 9470): a caller whose sign-in is not strong
or recent enough for an operation is told so, and how to get one that is.

An API caller (a bearer token) gets 401 ``insufficient_user_authentication`` with the
``acr_values`` and ``max_age`` to send in a new authorization request (the SDKs do that
for it); a browser on a hosted page is sent to the second step page
(``pages.second_factor``), which comes back.  The wallet asks for it on purchases above
``IDP_STEP_UP_PURCHASE_CREDITS`` (:func:`require_recent_second_factor`).
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from authlib.oauth2.base import OAuth2Error
from flask import current_app, request, url_for

from idp.core.errors import IdPError
from idp.core.i18n import _l
from idp.users import factors, sessions

from .bearer import bearer_caller
from .subject import epoch


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "").replace('"', "'") + '"'


class InsufficientUserAuthentication(OAuth2Error):
    """RFC 9470 section 3: the token's authentication does not meet the resource's
    requirement; the challenge names the ``acr_values`` and/or ``max_age`` to ask for."""

    error = "insufficient_user_authentication"
    status_code = 401

    def __init__(
        self, acr_values: str | None = None, max_age: int | None = None, description=None
    ) -> None:
        super().__init__(description=description or "a stronger or more recent sign-in is required")
        self.acr_values, self.max_age = acr_values, max_age

    def get_headers(self):
        params = [
            f"error={_quoted(self.error)}",
            f"error_description={_quoted(self.get_error_description())}",
        ]
        if self.acr_values:
            params.append(f"acr_values={_quoted(self.acr_values)}")
        if self.max_age is not None:
            params.append(f"max_age={_quoted(str(self.max_age))}")
        return [*super().get_headers(), ("WWW-Authenticate", "Bearer " + ", ".join(params))]


class StepUpRequired(IdPError):
    """A hosted page's operation that needs a recent second factor: ``url`` is the
    second step page, which comes back to the page afterwards."""

    error = "step_up_required"
    description = _l("Confirm it is you with your second factor, then try again.")
    status_code = 401

    def __init__(self, url: str, description: str | None = None) -> None:
        super().__init__(description)
        self.url = url


def require_user_authentication(claims: dict, acr: str, max_age: int | None = None) -> None:
    """RFC 9470 section 3 for verified access-token ``claims``: the ``acr`` level, and an
    authentication at most ``max_age`` seconds old (when given)."""
    if not factors.satisfies(claims.get("acr"), acr) or _too_old(claims.get("auth_time"), max_age):
        raise InsufficientUserAuthentication(acr, max_age)


def _too_old(auth_time, max_age: int | None) -> bool:
    if max_age is None:
        return False
    return not isinstance(auth_time, int) or time.time() - auth_time > max_age


def require_recent_second_factor(credits: int) -> None:
    """A purchase of ``credits``: above ``IDP_STEP_UP_PURCHASE_CREDITS`` it needs a
    second factor proved within ``IDP_STEP_UP_MAX_AGE`` seconds, by the bearer token's
    sign-in for an API call, by this browser's session on a hosted page."""
    cfg = current_app.config
    limit, max_age = cfg["IDP_STEP_UP_PURCHASE_CREDITS"], cfg["IDP_STEP_UP_MAX_AGE"]
    if not limit or credits <= limit:
        return
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        caller = bearer_caller()
        # An app's own token has no sign-in to strengthen: a person's token is needed.
        claims = {} if caller.is_app else caller.claims
        require_user_authentication(claims, factors.ACR_2FA, max_age)
        return
    found = sessions.current()
    session = found[0] if found else None
    if (
        session is not None
        and factors.satisfies(session.acr, factors.ACR_2FA)
        and not _too_old(epoch(session.auth_time), max_age)
    ):
        return
    kept = ("client_id", "return_to", "package_id", "amount", "mode", "state", "origin")
    carried = {k: request.values[k] for k in kept if request.values.get(k)}
    back = request.path + ("?" + urlencode(carried) if carried else "")
    raise StepUpRequired(url_for("pages.second_factor", return_to=back))
