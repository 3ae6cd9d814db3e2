"""Typed errors.  Verification failures carry a stable ``reason``; wallet failures mirror
the server's ``error`` codes (``{"error": ..., "error_description": ...}`` bodies)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime


class CrossAppError(Exception):
    """Base of every error this SDK raises."""


# -- verification ---------------------------------------------------------------------------


class Reason:
    """The ``reason`` codes of :class:`InvalidToken`."""

    MALFORMED = "malformed"
    ALG_NOT_ALLOWED = "alg_not_allowed"
    INVALID_TYP = "invalid_typ"
    UNSUPPORTED_CRIT = "unsupported_crit"
    MISSING_KID = "missing_kid"
    UNKNOWN_KID = "unknown_kid"
    INVALID_SIGNATURE = "invalid_signature"
    MISSING_CLAIM = "missing_claim"
    INVALID_CLAIM = "invalid_claim"
    INVALID_ISSUER = "invalid_issuer"
    INVALID_AUDIENCE = "invalid_audience"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    ISSUED_IN_FUTURE = "issued_in_future"
    REVOKED = "revoked"


class InvalidToken(CrossAppError):
    """The token must not be accepted (RFC 6750 ``invalid_token``, 401)."""

    error = "invalid_token"
    status_code = 401

    def __init__(self, reason: str, description: str | None = None) -> None:
        self.reason = reason
        self.description = description or reason.replace("_", " ")
        super().__init__(f"{reason}: {self.description}")


class InsufficientScope(CrossAppError):
    """A valid token without every scope the operation needs (RFC 6750, 403)."""

    error = "insufficient_scope"
    status_code = 403

    def __init__(self, missing: Iterable[str], required: Iterable[str] | None = None) -> None:
        self.missing = tuple(missing)
        self.required = tuple(required) if required is not None else self.missing
        self.description = "the token lacks the scope " + " ".join(self.missing)
        super().__init__(self.description)


class InsufficientUserAuthentication(CrossAppError):
    """RFC 9470: a valid token whose sign-in is not strong enough (``acr_values``: the
    levels that would do) or too old (``max_age``: seconds).  The guards answer it with
    401 and the RFC 9470 challenge; the wallet client raises it (as
    :class:`ApiInsufficientUserAuthentication`) when the API does, for the app to send the
    user to sign in again with those parameters."""

    error = "insufficient_user_authentication"
    status_code = 401

    def __init__(
        self,
        description: str | None = None,
        *,
        acr_values: Iterable[str] = (),
        max_age: int | None = None,
    ) -> None:
        self.acr_values = tuple(acr_values)
        self.max_age = max_age
        self.description = description or "a stronger or more recent sign-in is required"
        super().__init__(self.description)


class KeySetUnavailable(CrossAppError):
    """No usable signing keys: the IdP could not be reached and no key set fetched within
    the stale period is left.  Not the token's fault: answer 503, not 401."""

    error = "temporarily_unavailable"
    status_code = 503


class IntrospectionUnavailable(KeySetUnavailable):
    """``introspect=True`` was asked for and the introspection endpoint did not answer;
    the token is refused (fail closed) with 503."""


class ConfigurationError(CrossAppError, ValueError):
    """The verifier or client was configured unsafely (plain http, a symmetric alg...)."""


# -- wallet API -----------------------------------------------------------------------------


class ApiError(CrossAppError):
    """An error answer of the server's API: ``error`` code, description, HTTP status and
    the rest of the JSON body in ``body``."""

    error = "invalid_request"

    def __init__(
        self,
        description: str | None = None,
        *,
        status_code: int = 0,
        error: str | None = None,
        body: dict | None = None,
    ) -> None:
        if error:
            self.error = error
        self.status_code = status_code
        self.description = description or self.error
        self.body = body or {}
        super().__init__(f"{self.error} ({status_code}): {self.description}")


class InvalidRequest(ApiError):
    error = "invalid_request"


class NotFound(ApiError):
    error = "not_found"


class InsufficientCredits(ApiError):
    """402: ``balance`` and ``available`` (balance minus holds) let you offer a top-up."""

    error = "insufficient_credits"

    @property
    def balance(self) -> int | None:
        return self.body.get("balance")

    @property
    def available(self) -> int | None:
        return self.body.get("available")


class SpendLimitReached(ApiError):
    """402: the user capped what this app may spend per UTC day or month.  ``limit``,
    ``period`` (``"day"``/``"month"``), ``remaining`` in the window and ``resets_at``
    (an aware datetime) say what and until when."""

    error = "spend_limit_reached"

    @property
    def limit(self) -> int | None:
        return self.body.get("limit")

    @property
    def period(self) -> str | None:
        return self.body.get("period")

    @property
    def remaining(self) -> int | None:
        return self.body.get("remaining")

    @property
    def resets_at(self) -> datetime | None:
        value = self.body.get("resets_at")
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
        except (AttributeError, ValueError):
            return None


class IdempotencyConflict(ApiError):
    """409: the idempotency key was already used with a different request."""

    error = "idempotency_key_reused"


class HoldNotActive(ApiError):
    """409: the hold was already captured, released or has expired."""

    error = "hold_not_active"


class RateLimited(ApiError):
    """429 after the retries: ``retry_after`` seconds (from ``Retry-After``), or None."""

    error = "rate_limited"

    def __init__(self, *args, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class ApiInvalidToken(ApiError, InvalidToken):
    """401 from the API: the token sent was refused."""

    error = "invalid_token"

    def __init__(self, description: str | None = None, **kwargs) -> None:
        ApiError.__init__(self, description, **kwargs)
        self.reason = "rejected_by_server"


class ApiInsufficientScope(ApiError, InsufficientScope):
    """403 ``insufficient_scope`` from the API (the scope named in the challenge)."""

    error = "insufficient_scope"

    def __init__(self, description: str | None = None, *, scope: str = "", **kwargs) -> None:
        ApiError.__init__(self, description, **kwargs)
        self.missing = tuple(scope.split())
        self.required = self.missing


class ApiInsufficientUserAuthentication(ApiError, InsufficientUserAuthentication):
    """401 ``insufficient_user_authentication`` from the API (RFC 9470): ``acr_values``
    and ``max_age`` from the challenge (or the body)."""

    error = "insufficient_user_authentication"

    def __init__(
        self,
        description: str | None = None,
        *,
        acr_values: Iterable[str] = (),
        max_age: int | None = None,
        **kwargs,
    ) -> None:
        ApiError.__init__(self, description, **kwargs)
        # ApiError's super().__init__ reached InsufficientUserAuthentication's (the MRO)
        # with the whole message: what the server said is the description.
        self.description = description or self.error
        self.acr_values = tuple(acr_values)
        self.max_age = max_age


class InvalidClient(ApiError):
    """401 from the token endpoint: the app's client_id or secret was refused."""

    error = "invalid_client"


class PaymentsUnavailable(ApiError):
    error = "payments_not_configured"


class ServerError(ApiError):
    """5xx (or an unreadable answer) after the retries."""

    error = "server_error"


class TransportError(ServerError):
    """The server could not be reached (connection refused, reset, timed out) after the
    retries.  ``__cause__`` is the httpx exception."""

    error = "transport_error"


_BY_CODE: dict[str, type[ApiError]] = {
    "insufficient_credits": InsufficientCredits,
    "spend_limit_reached": SpendLimitReached,
    "idempotency_key_reused": IdempotencyConflict,
    "hold_not_active": HoldNotActive,
    "rate_limited": RateLimited,
    "invalid_token": ApiInvalidToken,
    "insufficient_scope": ApiInsufficientScope,
    "insufficient_user_authentication": ApiInsufficientUserAuthentication,
    "not_found": NotFound,
    "payments_not_configured": PaymentsUnavailable,
    "invalid_client": InvalidClient,
}


def api_error_class(status: int, code: str | None) -> type[ApiError]:
    """The typed exception for an error answer."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    if status == 429:
        return RateLimited
    if status == 401:
        return ApiInvalidToken
    if status >= 500:
        return ServerError
    if status == 404:
        return NotFound
    return InvalidRequest
