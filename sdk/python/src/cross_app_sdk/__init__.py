"""Server SDK for the idp-wallet identity provider.

- :class:`TokenVerifier` / :class:`AsyncTokenVerifier`: offline RFC 9068 access-token
  verification with a JWKS cache that survives IdP outages and kid sprays.
- :mod:`cross_app_sdk.flask` / :mod:`cross_app_sdk.fastapi`: route guards.
- :class:`WalletClient` / :class:`AsyncWalletClient`: the credit API, server to server.
"""

from .claims import Claims
from .errors import (
    ApiError,
    ApiInsufficientUserAuthentication,
    ConfigurationError,
    CrossAppError,
    HoldNotActive,
    IdempotencyConflict,
    InsufficientCredits,
    InsufficientScope,
    InsufficientUserAuthentication,
    IntrospectionUnavailable,
    InvalidClient,
    InvalidRequest,
    InvalidToken,
    KeySetUnavailable,
    NotFound,
    PaymentsUnavailable,
    RateLimited,
    Reason,
    ServerError,
    SpendLimitReached,
    TransportError,
)
from .jwks import CachePolicy
from .models import (
    Balance,
    Checkout,
    Consumption,
    CreditCheck,
    HoldInfo,
    HoldResult,
    Package,
    Transaction,
)
from .verifier import AsyncTokenVerifier, TokenVerifier
from .wallet import AsyncHold, AsyncWalletClient, Hold, UserToken, WalletClient

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "ApiInsufficientUserAuthentication",
    "AsyncHold",
    "AsyncTokenVerifier",
    "AsyncWalletClient",
    "Balance",
    "CachePolicy",
    "Checkout",
    "Claims",
    "ConfigurationError",
    "Consumption",
    "CreditCheck",
    "CrossAppError",
    "Hold",
    "HoldInfo",
    "HoldNotActive",
    "HoldResult",
    "IdempotencyConflict",
    "InsufficientCredits",
    "InsufficientScope",
    "InsufficientUserAuthentication",
    "IntrospectionUnavailable",
    "InvalidClient",
    "InvalidRequest",
    "InvalidToken",
    "KeySetUnavailable",
    "NotFound",
    "Package",
    "PaymentsUnavailable",
    "RateLimited",
    "Reason",
    "ServerError",
    "SpendLimitReached",
    "TokenVerifier",
    "Transaction",
    "TransportError",
    "UserToken",
    "WalletClient",
]
