"""Account errors.  Messages never reveal whether an email address has an account."""

from idp.core.errors import IdPError


class AccountError(IdPError):
    error = "invalid_request"
    status_code = 400


class InvalidCredentials(AccountError):
    error = "invalid_credentials"
    description = "The email address or password is incorrect."
    status_code = 401


class WeakPassword(AccountError):
    error = "weak_password"
    description = "Choose a longer password."


class InvalidEmail(AccountError):
    error = "invalid_email"
    description = "Enter a valid email address."


class InvalidName(AccountError):
    error = "invalid_name"
    description = "Your name can be at most 100 characters."


class InvalidCode(AccountError):
    error = "invalid_code"
    description = "That code is not valid. Check the latest email or ask for a new code."


class InvalidResetToken(AccountError):
    error = "invalid_reset_token"
    description = "This reset link is invalid or has expired. Ask for a new one."


class EmailTaken(AccountError):
    """Only for operator tools (CLI); hosted pages never show it."""

    error = "email_in_use"
    description = "An account with this email address already exists."
    status_code = 409
