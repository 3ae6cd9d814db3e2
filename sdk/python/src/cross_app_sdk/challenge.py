"""RFC 9470 step-up: what a guard demands of a token's sign-in (``require_acr``,
``max_age``), and reading the challenge an API answers with."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable

from .claims import Claims
from .errors import ConfigurationError, InsufficientUserAuthentication

# RFC 9110 section 11.2 auth-param: a token or a quoted-string value.
_PARAM = re.compile(r'([A-Za-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([!#$%&\'*+.^`|~0-9A-Za-z-]+))')


def acr_set(require_acr: str | Iterable[str] | None) -> tuple[str, ...]:
    """The acceptable ``acr`` values, preferred first (a space-separated string or a list)."""
    if require_acr is None:
        return ()
    values = require_acr.split() if isinstance(require_acr, str) else list(require_acr)
    if not values or not all(isinstance(v, str) and v for v in values):
        raise ConfigurationError("require_acr names no authentication level")
    return tuple(values)


def check_max_age(max_age: int | None) -> int | None:
    if max_age is not None and (not isinstance(max_age, int) or max_age < 0):
        raise ConfigurationError("max_age must be a whole number of seconds, 0 or more")
    return max_age


def demand(
    claims: Claims,
    acr_values: tuple[str, ...],
    max_age: int | None,
    leeway: float = 0,
    now: float | None = None,
) -> None:
    """RFC 9470 section 3: refuse a token whose ``acr`` is none of ``acr_values``, or
    whose ``auth_time`` is older than ``max_age`` seconds (or absent: an app's own token
    names no sign-in at all)."""
    if acr_values and claims.acr not in acr_values:
        raise InsufficientUserAuthentication(
            "a stronger sign-in is required", acr_values=acr_values, max_age=max_age
        )
    if max_age is not None:
        current = time.time() if now is None else now
        if claims.auth_time is None or current - claims.auth_time > max_age + leeway:
            raise InsufficientUserAuthentication(
                "a more recent sign-in is required", acr_values=acr_values, max_age=max_age
            )


def parse(header: str | None) -> dict[str, str]:
    """The parameters of a ``Bearer`` challenge (``WWW-Authenticate``), unquoted."""
    if not header or header[:6].lower() != "bearer":
        return {}
    found: dict[str, str] = {}
    for name, quoted, token in _PARAM.findall(header):
        found[name] = re.sub(r"\\(.)", r"\1", quoted) if quoted or not token else token
    return found


def parameters(header: str | None, body: dict) -> tuple[tuple[str, ...], int | None]:
    """(acr_values, max_age) of an RFC 9470 refusal: the challenge's, else the body's."""
    found = parse(header)
    acr = found.get("acr_values", body.get("acr_values"))
    raw_age = found.get("max_age", body.get("max_age"))
    try:
        max_age = int(raw_age) if raw_age is not None else None
    except (TypeError, ValueError):
        max_age = None
    if max_age is not None and max_age < 0:
        max_age = None
    return (tuple(acr.split()) if isinstance(acr, str) else ()), max_age
