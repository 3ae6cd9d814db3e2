"""What every grant's records share: the person a grant acts for, how its one-time
secrets are stored, and how its times are written into tokens."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime


def token_hash(value: str) -> str:
    """Codes and refresh tokens are stored only as their SHA-256 (256-bit random values:
    a slow hash would add nothing)."""
    return hashlib.sha256(value.encode()).hexdigest()


def epoch(value: datetime) -> int:
    """A stored time as an RFC 7519 NumericDate."""
    return int(value.astimezone(UTC).timestamp())


@dataclass(frozen=True)
class Subject:
    """The person a grant acts for, with how and when they authenticated."""

    user_id: int
    sub: str
    auth_time: datetime
    session_id: int | None = None
    # RFC 8176 methods (space-separated, as stored) and the OIDC acr level they reach.
    amr: str | None = None
    acr: str | None = None

    @property
    def methods(self) -> list[str]:
        """The ``amr`` claim: a password for grants stored before methods were."""
        return (self.amr or "pwd").split()

    def get_user_id(self) -> str:  # Authlib hook
        return self.sub
