"""Validation of the URLs an app registers: redirect URIs (RFC 9700 section 4.1, RFC 8252
section 7.1), web origins (RFC 6454) and its logo.  Each refusal names its field."""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .errors import InvalidRedirectURI, RegistryError

if TYPE_CHECKING:
    from .schemas import Policy

_ORIGIN_RE = re.compile(r"https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?")


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _split(uri: str):
    """``urlsplit``, or None for a malformed URL (bad IPv6 literal or port)."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018  (raises ValueError on a non-numeric or out-of-range port)
    except ValueError:
        return None
    return parts


def redirect_uri(uri: str, policy: Policy, field: str = "redirect_uris") -> str:
    """RFC 9700 section 4.1: exact, absolute, no fragment, no wildcard; https off loopback."""

    def bad(reason: str):
        return InvalidRedirectURI(f"redirect URI {uri!r} {reason}", field=field)

    if "*" in uri:
        raise bad("must not contain wildcards; redirect URIs are matched exactly")
    parts = _split(uri)
    if parts is None:
        raise bad("is not a valid URI")
    if parts.fragment or uri.endswith("#"):
        raise bad("must not contain a fragment (RFC 6749 section 3.1.2)")
    if parts.scheme in ("http", "https"):
        if not parts.hostname:
            raise bad("must be an absolute URI with a host")
        if parts.scheme == "http" and policy.production and not _is_loopback(parts.hostname):
            raise bad("must use https outside loopback in production")
        if parts.username or parts.password:
            raise bad("must not carry credentials")
        return uri
    # RFC 8252 section 7.1: native apps use reverse-domain private-use schemes.
    if re.fullmatch(r"[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+", parts.scheme) and parts.path:
        return uri
    raise bad("must be an https URL (http only on loopback) or a reverse-domain app scheme")


def origin(origin: str, policy: Policy) -> str:
    """A web origin (RFC 6454): scheme, host and optional port, nothing else.  Origins are
    copied into CORS and CSP ``frame-ancestors`` headers, so only host characters pass."""
    parts = _split(origin)
    ok = (
        parts is not None
        and _ORIGIN_RE.fullmatch(origin) is not None
        and (
            parts.scheme in ("http", "https")
            and parts.hostname
            and "*" not in origin
            and not parts.path
            and not parts.query
            and not parts.fragment
            and not parts.username
            and not origin.endswith("/")
        )
    )
    if not ok:
        raise RegistryError(
            f"origin {origin!r} must look like https://host[:port]", field="allowed_origins"
        )
    if parts.scheme == "http" and policy.production and not _is_loopback(parts.hostname):
        raise RegistryError(
            f"origin {origin!r} must use https in production", field="allowed_origins"
        )
    return origin.lower()


_HOST_RE = re.compile(r"\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+")


def _https(value: object, field: str, what: str) -> str | None:
    """An https URL of at most 512 characters, with a plain host and no credentials;
    empty or None for none.  Never http, not even on loopback: the hosted pages' CSP
    allows only an https logo, and a link to a policy must not be readable in transit."""
    if value is None or value == "":
        return None
    parts = _split(value) if isinstance(value, str) and len(value) <= 512 else None
    ok = (
        parts is not None
        and parts.scheme == "https"
        and parts.hostname
        and _HOST_RE.fullmatch(parts.hostname)
        and not parts.username
        and not parts.password
        and value.isprintable()
        and " " not in value
    )
    if not ok:
        raise RegistryError(f"{field} must be an https URL of {what}", field=field)
    return value


def logo_uri(value: object, policy: Policy | None = None) -> str | None:
    """The logo on the app's hosted pages: https only, since the pages' CSP ``img-src``
    names exactly this URL's origin (:func:`logo_origin`) and nothing else off-site."""
    return _https(value, "logo_uri", "at most 512 characters (the pages load nothing else)")


def page_link(value: object, field: str) -> str | None:
    """``client_uri`` (the app's home), ``policy_uri`` (privacy), ``tos_uri`` (terms):
    links on every hosted page of the app's flow (RFC 7591 section 2 names)."""
    return _https(value, field, "at most 512 characters")


def logo_origin(uri: str | None) -> str | None:
    """The CSP source expression (``https://host[:port]``) that allows ``uri``."""
    if not uri:
        return None
    parts = urlsplit(uri)
    port = f":{parts.port}" if parts.port and parts.port != 443 else ""
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    return f"https://{host}{port}"
