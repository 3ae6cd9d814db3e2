"""Account errors.  Messages never reveal whether an email address has an account."""

from idp.core.errors import IdPError
from idp.core.i18n import _l


class AccountError(IdPError):
    error = "invalid_request"
    status_code = 400
    # The form field the message is about (the page shows it there), None for the form.
    field: str | None = None


class InvalidCredentials(AccountError):
    error = "invalid_credentials"
    description = _l("The email address or password is incorrect.")
    status_code = 401
    field = "password"


class WeakPassword(AccountError):
    error = "weak_password"
    description = _l("Choose a longer password.")
    field = "password"


class InvalidEmail(AccountError):
    error = "invalid_email"
    description = _l("Enter a valid email address.")
    field = "email"


class InvalidName(AccountError):
    error = "invalid_name"
    description = _l("Your name can be at most 100 characters.")
    field = "display_name"


class InvalidCode(AccountError):
    """A code that does not verify; the subclasses say why, and what to do."""

    error = "invalid_code"
    description = _l("That code is not valid. Check the latest email or ask for a new code.")
    field = "code"


class WrongCode(InvalidCode):
    description = _l(
        "That code is not right. Check the 6 digits in our latest email and try again."
    )


class ExpiredCode(InvalidCode):
    error = "expired_code"
    description = _l("That code has expired. Ask for a new code below.")


class CodeAttemptsExhausted(InvalidCode):
    error = "code_attempts_exhausted"
    description = _l("Too many wrong tries for this code. Ask for a new code below.")


class InvalidResetToken(AccountError):
    error = "invalid_reset_token"
    description = _l("This reset link is invalid or has expired. Ask for a new one.")


class DeletionRefused(AccountError):
    """A deletion step could not do its part (the wallet could not cancel a subscription
    at the payment provider): nothing was deleted, and the page says why."""

    error = "deletion_refused"
    description = _l("Your account could not be deleted just now. Nothing was changed; try again.")
    status_code = 503


class EmailTaken(AccountError):
    """Only for operator tools (CLI); hosted pages never show it."""

    error = "email_in_use"
    description = _l("An account with this email address already exists.")
    status_code = 409
