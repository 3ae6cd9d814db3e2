"""Server-to-server client of the credit API: :class:`WalletClient` and its async twin
:class:`AsyncWalletClient`.

Who acts: pass ``user`` as the user's ``sub`` (a string) to act with the app's own
client-credentials token (fetched, cached until shortly before it expires, refreshed
single-flight) for a user who granted the app the scope; or as a :class:`UserToken` /
the :class:`~cross_app_sdk.Claims` a guard verified, to forward the user's own token.

Retries: connection errors, 5xx and 429 (honouring ``Retry-After``) are retried with
exponential backoff and full jitter; other 4xx never.  Every mutating call carries an
idempotency key (generated when you give none) that each retry reuses, so a retry after a
dropped connection charges once.
"""

from ._core import UserToken, new_idempotency_key, retry_after
from .aio import AsyncHold, AsyncWalletClient
from .client import Hold, WalletClient

__all__ = [
    "AsyncHold",
    "AsyncWalletClient",
    "Hold",
    "UserToken",
    "WalletClient",
    "new_idempotency_key",
    "retry_after",
]
