"""Who the relying party is: its id and origin come from ``IDP_ISSUER`` alone, never
from the request's Host header (WebAuthn L3 §5.1.3: the RP id is a registrable domain
suffix of the origin; a passkey made for one id never works for another)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def rp_id() -> str:
    """The issuer's host name (``localhost`` in development: browsers refuse an IP)."""
    return urlsplit(current_app.config["IDP_ISSUER"]).hostname or "localhost"


def origin() -> str:
    """The only origin a ceremony's client data may name: the issuer's."""
    parts = urlsplit(current_app.config["IDP_ISSUER"])
    return f"{parts.scheme}://{parts.netloc}"


def name() -> str:
    """What the authenticator shows beside the account (the issuer's host)."""
    return rp_id()
