"""How a person authenticated: RFC 8176 ``amr`` values and the ``acr`` levels they reach
(OIDC Core section 2).  Re-exported by :mod:`idp.users.factors`, the seam's face; kept
apart so the sessions module can use them without importing the second step."""

from __future__ import annotations

# RFC 8176 section 2: the authentication methods this server records.
PWD = "pwd"  # noqa: S105 (a method name): a password
OTP = "otp"  # a one-time password: TOTP code or recovery code
HWK = "hwk"  # proof of possession of a hardware-secured key (a device-bound passkey)
SWK = "swk"  # proof of possession of a software-secured key (a synced passkey)
USER = "user"  # user presence and verification (a passkey's UV flag)
MFA = "mfa"  # more than one of the above kinds
#: Kinds of factor: what the user knows, has, is.  Two kinds make a second factor.
_KIND_OF = {PWD: "know", OTP: "have", HWK: "have", SWK: "have", USER: "are"}

#: OIDC Core section 2 ``acr`` values (discovery's ``acr_values_supported``).
ACR_1FA = "urn:idp:acr:1fa"  # one factor: a password, or a passkey without verification
ACR_2FA = "urn:idp:acr:2fa"  # two factors of different kinds (amr holds "mfa")
ACR_VALUES = (ACR_1FA, ACR_2FA)


def combined(*methods) -> list[str]:
    """Every method once, in order, plus :data:`MFA` when two kinds of factor are there."""
    seen: list[str] = []
    for method in methods:
        for value in [method] if isinstance(method, str) else method:
            if value and value != MFA and value not in seen:
                seen.append(value)
    if len({_KIND_OF[m] for m in seen if m in _KIND_OF}) >= 2:
        seen.append(MFA)
    return seen


def acr_of(amr) -> str:
    """The level that ``amr`` reaches."""
    return ACR_2FA if MFA in combined(amr) else ACR_1FA


def satisfies(acr: str | None, wanted: str) -> bool:
    """Whether a session at level ``acr`` meets ``wanted`` (levels are ordered)."""
    rank = {ACR_1FA: 1, ACR_2FA: 2}
    return rank.get(acr or ACR_1FA, 0) >= rank.get(wanted, 99)
