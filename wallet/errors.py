"""Wallet errors: stable codes for the credit API."""

from idp.core.errors import IdPError, NotFound


class WalletError(IdPError):
    error = "invalid_request"
    status_code = 400


class InsufficientCredits(WalletError):
    """402 with the balance, so the caller can offer a top-up."""

    error = "insufficient_credits"
    description = "Not enough credits."
    status_code = 402


class IdempotencyConflict(WalletError):
    error = "idempotency_key_reused"
    description = "This idempotency key was already used with a different request."
    status_code = 409


class HoldNotActive(WalletError):
    error = "hold_not_active"
    description = "The hold was already captured, released or has expired."
    status_code = 409


class HoldNotFound(NotFound):
    description = "No such hold."


class PackageNotFound(NotFound):
    description = "No such package on sale."


class PaymentsDisabled(WalletError):
    error = "payments_not_configured"
    description = "Payments are not configured on this server."
    status_code = 503
    public = True  # an operator's choice the caller may read


class PaymentProviderError(WalletError):
    error = "payment_provider_error"
    description = "The payment provider could not complete the request. Try again."
    status_code = 502
    public = True  # says what to do; the provider's own message is only logged


class InvalidSignature(WalletError):
    error = "invalid_signature"
    description = "The webhook signature is missing, invalid or too old."


class SpendLimitReached(WalletError):
    """402 with the limit, its period and when it resets (``wallet.spend_limits``): the
    user capped what this app may spend per day or month."""

    error = "spend_limit_reached"
    description = "The user's spend limit for this app is reached."
    status_code = 402
