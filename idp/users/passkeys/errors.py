"""Why a passkey ceremony is refused; each ``error`` code is stable (the page script and
the tests read it)."""

from idp.core.errors import IdPError
from idp.core.i18n import _l


class PasskeyError(IdPError):
    error = "passkey_failed"
    description = _l("Your passkey could not be used. Try again.")
    status_code = 400


class ChallengeExpired(PasskeyError):
    """No pending challenge for this browser and purpose: never asked, already used, or
    too old."""

    error = "challenge_expired"
    description = _l("That took too long or was already used. Try again.")


class PasskeyRejected(PasskeyError):
    """The authenticator's answer does not verify (origin, RP id, signature, flags)."""

    error = "passkey_rejected"
    description = _l("Your passkey could not be verified. Try again.")


class PasskeyNotRecognised(PasskeyError):
    """A credential no (active) account holds: removed from the account, or never ours."""

    error = "passkey_not_recognised"
    description = _l(
        "This passkey is not registered with your account. Sign in with your password."
    )
    status_code = 401


class PasskeyCloned(PasskeyError):
    """The signature counter went backwards: two authenticators hold the same key."""

    error = "passkey_counter_regressed"
    description = _l("This passkey may have been copied, so it was refused. Sign in another way.")
    status_code = 401


class ReauthenticationRequired(PasskeyError):
    error = "reauthentication_required"
    description = _l("Confirm your password again before changing your passkeys.")
    status_code = 403


class InvalidPasskeyName(PasskeyError):
    error = "invalid_name"
    description = _l("Give the passkey a name of at most 64 characters.")


class TooManyPasskeys(PasskeyError):
    error = "too_many_passkeys"
    description = _l("You have registered as many passkeys as an account can hold.")
    status_code = 409


class MalformedCeremony(PasskeyError):
    """Not the JSON body a ceremony's step takes."""

    error = "invalid_request"
    description = _l("The request is invalid. Reload the page and try again.")


class CeremonyForgery(PasskeyError):
    """No valid CSRF token: not sent by our page in this browser."""

    error = "csrf_failed"
    description = _l("This page expired. Reload it and try again.")


class NotSignedIn(PasskeyError):
    error = "login_required"
    description = _l("Your sign-in has ended. Sign in again.")
    status_code = 401


class NoSecondStep(PasskeyError):
    """A second step with no password proved before it (or with one that expired)."""

    error = "no_pending_sign_in"
    description = _l("Sign in with your password first.")
    status_code = 401
