"""Purchases: validate what is bought and where the browser returns, then hand over to
Stripe Checkout (``stripe_gateway``) or, in development, the simulated checkout.

``IDP_PAYMENTS`` decides: ``stripe``, ``simulated`` (refused in production by
``idp.core.config``) or ``disabled`` (every purchase is a 503 ``payments_not_configured``).
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from flask import current_app, url_for

from idp.apps.services import query_client
from idp.oauth2.step_up import require_recent_second_factor

from . import packages, schemas, simulated, stripe_gateway
from .errors import PaymentsDisabled, WalletError
from .models import Package, Wallet

# Stripe substitutes the session id into a success URL containing this literal.
SESSION_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def mode() -> str:
    """ "stripe", "simulated" (development only) or "disabled"."""
    return current_app.config["IDP_PAYMENTS"]


def start_checkout(
    wallet: Wallet,
    user,
    client_id: str | None,
    *,
    package_id=None,
    amount=None,
    success_url=None,
    cancel_url=None,
    return_to: str | None = None,
) -> dict:
    """Start a checkout for a package or plan (``package_id``) or a number of credits
    (``amount``); returns ``{"id", "url"}`` of the page to send the browser to.

    ``success_url`` / ``cancel_url`` must lie under one of the calling app's registered
    origins (a checkout must not become an open redirect).  Omitted, they are our hosted
    success and purchase pages, which then lead on to ``return_to``."""
    current = mode()
    if current == "disabled":
        raise PaymentsDisabled()
    package, credits = _item(package_id, amount)
    require_recent_second_factor(credits)  # RFC 9470 for a large purchase (issue 20)
    urls = _return_urls(client_id, success_url, cancel_url, return_to)
    if current == "simulated":
        return simulated.start(wallet, user, client_id, package, credits, urls)
    return stripe_gateway.create_checkout(wallet, user, client_id, package, credits, urls)


def portal_url(wallet: Wallet, user, client_id: str | None, return_url=None, return_to=None):
    """URL of a Stripe billing-portal session; it sends the browser back to ``return_url``
    (under the app's origins) or to our purchase page."""
    current = mode()
    if current == "disabled":
        raise PaymentsDisabled()
    if current == "simulated":
        raise PaymentsDisabled("The billing portal is not available with simulated payments.")
    back = (
        _app_url(return_url, client_id, "return_url")
        if return_url is not None
        else _hosted("wallet_pages.purchase", client_id, return_to)
    )
    return stripe_gateway.portal_url(wallet, back)


def _item(package_id, amount) -> tuple[Package | None, int]:
    """Exactly one of a package on sale or a positive number of credits."""
    if (package_id is None) == (amount is None):
        raise WalletError("give exactly one of package_id or amount", field="package_id")
    if package_id is not None:
        package = packages.get(package_id)
        return package, package.credits
    return None, schemas.positive_amount(amount)


def _app_url(value: object, client_id: str | None, field: str) -> str:
    """An absolute http(s) URL whose origin is registered for the calling app."""
    client = query_client(client_id) if client_id else None
    problem = f"{field} must be an absolute URL under one of this app's registered origins"
    if not isinstance(value, str) or len(value) > 2000 or client is None:
        raise WalletError(problem, field=field)
    if any(c in value for c in "\\ \t\r\n") or not value.isprintable():
        raise WalletError(problem, field=field)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise WalletError(problem, field=field) from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        raise WalletError(problem, field=field)
    origin = f"{parts.scheme}://{parts.hostname}"
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        origin += f":{port}"
    registered = {_normal_origin(o) for o in client.allowed_origins}
    if origin.lower() not in registered:
        raise WalletError(problem, field=field)
    return value


def _normal_origin(origin: str) -> str:
    """Registered origins may spell out the default port; compare without it."""
    for scheme, port in _DEFAULT_PORTS.items():
        suffix = f":{port}"
        if origin.startswith(f"{scheme}://") and origin.endswith(suffix):
            return origin[: -len(suffix)]
    return origin


def _return_urls(client_id, success_url, cancel_url, return_to) -> tuple[str, str]:
    success = (
        _app_url(success_url, client_id, "success_url")
        if success_url is not None
        else _hosted(
            "wallet_pages.success", client_id, return_to, f"session_id={SESSION_PLACEHOLDER}"
        )
    )
    cancel = (
        _app_url(cancel_url, client_id, "cancel_url")
        if cancel_url is not None
        else _hosted("wallet_pages.purchase", client_id, return_to, "cancelled=1")
    )
    return success, cancel


def _hosted(endpoint: str, client_id, return_to, raw: str = "") -> str:
    """One of our own pages, absolute under the issuer (the public base URL).  ``raw`` is
    appended unencoded: Stripe looks for the literal ``{CHECKOUT_SESSION_ID}``."""
    params = {k: v for k, v in {"client_id": client_id, "return_to": return_to}.items() if v}
    query = "&".join(part for part in (urlencode(params), raw) if part)
    url = current_app.config["IDP_ISSUER"] + url_for(endpoint)
    return f"{url}?{query}" if query else url
