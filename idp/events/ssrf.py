"""Which webhook URLs we may call (server-side request forgery).

An endpoint URL is https (plain http only to a loopback host outside production, for a
developer's own receiver).  Before every delivery the host is resolved and *every*
address checked: one private, link-local, loopback (in production), multicast or
reserved address refuses the whole URL, and the connection then goes to an address
that was checked (``delivery`` pins it), so a DNS answer that changes between the check
and the connection (rebinding) cannot send it elsewhere.

``resolve`` is the one place names become addresses: tests replace it with a stub, so
no test ever sends a packet to a private address.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from .errors import UnsafeURL

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (``getaddrinfo``; replaced by tests)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def check_syntax(url: str, *, production: bool) -> None:
    """At registration: the scheme, a host, no credentials or fragment; an address
    literal is checked at once (a name is checked on each delivery)."""
    if not isinstance(url, str) or len(url) > 2048:
        raise UnsafeURL()
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise UnsafeURL("The webhook URL has an invalid port.") from None
    if not parts.hostname or parts.username or parts.password or parts.fragment:
        raise UnsafeURL("The webhook URL needs a host, and no credentials or fragment.")
    literal = _literal(parts.hostname)
    if parts.scheme == "http" and not production and _is_loopback_name(parts.hostname):
        return
    if parts.scheme != "https":
        raise UnsafeURL("The webhook URL must be https (http only to localhost in development).")
    if literal is not None:
        _check_address(literal, production=production)


def safe_addresses(url: str, *, production: bool) -> list[str]:
    """The addresses to connect to for ``url``, each checked; raises UnsafeURL when any
    resolved address is not one we may call, or the name does not resolve."""
    check_syntax(url, production=production)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = resolve(parts.hostname, port)
    except (OSError, UnicodeError):
        raise UnsafeURL("The webhook host does not resolve.") from None
    if not found:
        raise UnsafeURL("The webhook host does not resolve.")
    for value in found:
        _check_address(ipaddress.ip_address(value.split("%")[0]), production=production)
    return found


def _check_address(address: Address, *, production: bool) -> None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback and not production:
        return
    if not address.is_global or address.is_multicast:
        raise UnsafeURL("The webhook URL reaches a private, loopback or link-local address.")


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _is_loopback_name(host: str) -> bool:
    literal = _literal(host)
    return host == "localhost" or (literal is not None and literal.is_loopback)
