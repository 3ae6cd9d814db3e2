"""The verified claims of an access token."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, TypeGuard


@dataclass(frozen=True, slots=True)
class Claims:
    """A verified RFC 9068 access token.

    ``is_user`` is true for a token issued to a person (it carries ``auth_time``), false
    for an app's own client-credentials token (then ``sub == client_id``).  ``raw`` is the
    whole payload; ``token`` the compact JWT itself, so it can be forwarded to the wallet
    API on the user's behalf (never logged, not in ``repr``).
    """

    sub: str
    client_id: str
    scopes: frozenset[str]
    roles: tuple[str, ...]
    aud: tuple[str, ...]
    iss: str
    exp: int
    iat: int
    jti: str
    auth_time: int | None
    raw: dict[str, Any] = field(repr=False, compare=False)
    token: str = field(default="", repr=False, compare=False)
    #: The authentication level of the sign-in (OIDC ``acr``), when the token carries it.
    acr: str | None = None
    #: How the user authenticated (RFC 8176 ``amr`` values), when the token carries them.
    amr: tuple[str, ...] = ()

    @property
    def is_user(self) -> bool:
        return self.auth_time is not None

    def has_scopes(self, *scopes: str) -> bool:
        return all(s in self.scopes for s in scopes)

    @classmethod
    def from_payload(cls, payload: dict[str, Any], token: str = "") -> Claims:
        """Build from a payload whose required claims were already checked."""
        aud = payload["aud"]
        roles = payload.get("roles")
        scope = payload.get("scope")
        auth_time = payload.get("auth_time")
        acr, amr = payload.get("acr"), payload.get("amr")
        return cls(
            sub=payload["sub"],
            client_id=payload["client_id"],
            scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
            roles=tuple(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else (),
            aud=(aud,) if isinstance(aud, str) else tuple(aud),
            iss=payload["iss"],
            exp=int(payload["exp"]),
            iat=int(payload["iat"]),
            jti=payload["jti"],
            auth_time=int(auth_time) if _is_time(auth_time) else None,
            raw=payload,
            token=token,
            acr=acr if isinstance(acr, str) else None,
            amr=tuple(m for m in amr if isinstance(m, str)) if isinstance(amr, list) else (),
        )


def _is_time(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
