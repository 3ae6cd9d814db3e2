"""Why a second factor is refused (kept apart from ``errors``: the account errors'
module is being translated meanwhile).  Each ``error`` code is stable: the pages and
the tests read it."""

from idp.core.i18n import _l

from .errors import AccountError


class WrongTotpCode(AccountError):
    """Not a code of the authenticator app for now (or one already used: a replay is
    told apart from a typo by nobody but the log)."""

    error = "invalid_totp_code"
    description = _l("That code is not right. Enter the 6 digits your authenticator app shows now.")
    status_code = 401
    field = "code"


class WrongRecoveryCode(AccountError):
    error = "invalid_recovery_code"
    description = _l("That recovery code is not right, or was already used.")
    status_code = 401
    field = "recovery_code"


class TotpAlreadyOn(AccountError):
    error = "totp_already_enabled"
    description = _l("Two-step verification with an authenticator app is already on.")
    status_code = 409


class TotpNotStarted(AccountError):
    error = "totp_not_started"
    description = _l("Start again: the setup of your authenticator app has expired.")
    status_code = 409


class SecondStepExpired(AccountError):
    error = "second_step_expired"
    description = _l("That took too long. Sign in again.")
    status_code = 400
