"""The scopes this server knows, and which grants may carry them."""

from __future__ import annotations

# Scopes that describe a signed-in person; meaningless without one.
USER_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
# Resource scopes: the wallet API and per-app user metadata.
WALLET_SCOPES = frozenset({"credits:read", "credits:consume", "credits:purchase"})
RESOURCE_SCOPES = WALLET_SCOPES | {"user:metadata", "roles:manage"}
# Scopes served by this server's own user APIs (userinfo, metadata, roles).
API_SCOPES = frozenset({"openid", "profile", "email", "user:metadata", "roles:manage"})
# Operator access to the admin API; only first-party confidential apps may hold it.
ADMIN_SCOPE = "admin"
# Reading /metrics (a Prometheus scraper's client-credentials token); admin implies it.
METRICS_SCOPE = "metrics"
OPERATOR_SCOPES = frozenset({ADMIN_SCOPE, METRICS_SCOPE})

SUPPORTED = USER_SCOPES | RESOURCE_SCOPES | OPERATOR_SCOPES
# Standard OpenID Connect scopes (OIDC Core section 5.4) this server does not offer: a
# relying party may ask for them routinely, so they are dropped rather than refused
# (section 3.1.2.1: scope values not understood SHOULD be ignored).  Any other unknown
# scope is still invalid_scope, so a typo is not silently granted less than meant.
IGNORED_OIDC_SCOPES = frozenset({"address", "phone"})
# Scopes an app holds for itself: never granted by a person in the code flow.
CLIENT_ONLY_SCOPES = OPERATOR_SCOPES | {"roles:manage"}


def to_list(scope: str | list | tuple | None) -> list[str]:
    """Split a space-delimited scope string (RFC 6749 section 3.3), keeping order, no repeats."""
    if scope is None:
        return []
    items = scope.split() if isinstance(scope, str) else [str(s) for s in scope]
    return list(dict.fromkeys(items))


def to_string(scopes) -> str:
    return " ".join(scopes)
