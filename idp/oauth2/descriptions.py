"""Error descriptions that echo what a client sent.

RFC 6749 section 5.2 allows only %x20-21 / %x23-5B / %x5D-7E in ``error_description``,
and Authlib raises (ValueError) when asked to build an error whose description holds
anything else: an echoed scope or response type must be made printable first."""

from __future__ import annotations


def printable(text: str) -> str:
    """``text`` with every character section 5.2 forbids replaced by ``?``."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in text)
