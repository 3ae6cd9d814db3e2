"""What the Flask and FastAPI guards share: reading the bearer token (RFC 6750 section
2.1) and turning a refusal into a status, a JSON body and a ``WWW-Authenticate`` challenge
(section 3), in the IdP's error format."""

from __future__ import annotations

import re

from .errors import (
    CrossAppError,
    InsufficientScope,
    InsufficientUserAuthentication,
    InvalidToken,
    KeySetUnavailable,
)

_BEARER = re.compile(r"Bearer +([A-Za-z0-9\-._~+/]+=*) *", re.IGNORECASE)


class MissingToken(CrossAppError):
    """No ``Authorization: Bearer`` credentials at all."""

    error = "missing_authorization"
    status_code = 401
    description = "a bearer access token is required"


class MalformedAuthorization(InvalidToken):
    def __init__(self) -> None:
        super().__init__("malformed", "the Authorization header is not a bearer token")


def bearer_token(header: str | None) -> str:
    """The token of ``Authorization: Bearer <token>``.  No header or another scheme is
    :class:`MissingToken`; a broken Bearer header is :class:`InvalidToken`."""
    if not header or not header[:7].lower().startswith("bearer"):
        raise MissingToken(MissingToken.description)
    match = _BEARER.fullmatch(header)
    if not match:
        raise MalformedAuthorization()
    return match.group(1)


def _quoted(value: str) -> str:
    """An RFC 7235 quoted-string of printable ASCII only (RFC 6750 section 3 limits
    ``error_description`` to %x20-21 / %x23-5B / %x5D-7E)."""
    safe = "".join(c for c in value if " " <= c <= "~" and c not in '"\\')
    return f'"{safe}"'


def refusal(error: Exception) -> tuple[int, dict, dict[str, str]]:
    """(status, JSON body, headers) for a guard's refusal."""
    headers = {"Cache-Control": "no-store"}
    if isinstance(error, MissingToken):
        headers["WWW-Authenticate"] = "Bearer"  # section 3.1: no error code without a token
        return 401, {"error": error.error, "error_description": error.description}, headers
    if isinstance(error, InsufficientScope):
        scope = " ".join(error.required)
        headers["WWW-Authenticate"] = (
            f'Bearer error="insufficient_scope", '
            f"error_description={_quoted(error.description)}, scope={_quoted(scope)}"
        )
        body = {"error": "insufficient_scope", "error_description": error.description}
        return 403, {**body, "scope": scope}, headers
    if isinstance(error, InsufficientUserAuthentication):
        return _step_up(error, headers)
    if isinstance(error, InvalidToken):
        headers["WWW-Authenticate"] = (
            f'Bearer error="invalid_token", error_description={_quoted(error.description)}'
        )
        return 401, {"error": "invalid_token", "error_description": error.description}, headers
    if isinstance(error, KeySetUnavailable):
        headers["Retry-After"] = "5"
        body = {"error": "temporarily_unavailable", "error_description": str(error)}
        return 503, body, headers
    raise error


def _step_up(error: InsufficientUserAuthentication, headers: dict) -> tuple[int, dict, dict]:
    """RFC 9470 section 3: 401 with the levels that would do and the sign-in's maximum
    age, in the challenge and (for JSON clients) the body."""
    challenge = [
        'Bearer error="insufficient_user_authentication"',
        f"error_description={_quoted(error.description)}",
    ]
    body: dict = {"error": error.error, "error_description": error.description}
    if error.acr_values:
        challenge.append(f"acr_values={_quoted(' '.join(error.acr_values))}")
        body["acr_values"] = " ".join(error.acr_values)
    if error.max_age is not None:
        challenge.append(f'max_age="{error.max_age}"')
        body["max_age"] = error.max_age
    headers["WWW-Authenticate"] = ", ".join(challenge)
    return 401, body, headers
