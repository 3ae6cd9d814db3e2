"""Error descriptions: where Authlib gives none, and where one echoes what a client sent.

Every error this server answers carries an ``error_description``; :func:`described`
supplies it for the errors Authlib raises bare.  RFC 6749 section 5.2 allows only
%x20-21 / %x23-5B / %x5D-7E there, and Authlib raises (ValueError) when asked to build
an error whose description holds anything else: an echoed scope or response type must
be made printable first (:func:`printable`)."""

from __future__ import annotations


def printable(text: str) -> str:
    """``text`` with every character section 5.2 forbids replaced by ``?``."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in text)


# For the errors Authlib raises without a description.
_DESCRIPTIONS = {
    "invalid_grant": "the grant is invalid, expired, revoked or was issued to another client",
    "unsupported_grant_type": "this grant_type is not supported",
    "unsupported_token_type": "this token type is not supported here",
    "missing_authorization": "the request carries no bearer token",
    "invalid_client": "client authentication failed",
}


def described(error: str) -> str:
    return _DESCRIPTIONS.get(error, "the request was refused")
