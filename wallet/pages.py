"""Hosted purchase pages: the ``/purchase`` landing (also the ``next=purchase`` detour of
an authorization request), the success page that waits for the webhook, the
billing-portal button and the simulated checkout.  Failures are shown in the page, never
as a bare error."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

from flask import Blueprint, current_app, redirect, request, url_for

from idp.apps.services import query_client
from idp.core.errors import IdPError, NotFound
from idp.oauth2.step_up import StepUpRequired
from idp.ui.links import safe_return_to
from idp.ui.views import page
from idp.users.sessions import signed_in_only

from . import (
    billing,
    ledger,
    packages,
    payments,
    preferences,
    prices,
    purchase_form,
    services,
    simulated,
)
from .models import PURCHASE, SUBSCRIPTION_GRANT

bp = Blueprint("wallet_pages", __name__, url_prefix="/purchase", template_folder="templates")

# The SDK's correlation id for a purchase popup (echoed back in its message).
_STATE_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def popup() -> dict | None:
    """The SDK's popup hand-off (``mode=popup`` with ``client_id`` and ``state``, given to
    the landing page and carried on in ``return_to``): where the outcome is posted.

    The target origin is one of the app's registered origins, never ``*``: the one the
    SDK names in ``origin`` when it is registered, else the app's first.  An app with no
    registered origin gets no hand-off (the pages then work as for a person)."""
    params = request.values
    if params.get("mode") != "popup":
        query = urlsplit(params.get("return_to") or "").query
        params = {k: v[0] for k, v in parse_qs(query).items()}
        if params.get("mode") != "popup":
            return None
    client = query_client(params.get("client_id")) if params.get("client_id") else None
    state = params.get("state") or ""
    if client is None or not client.allowed_origins or not _STATE_RE.match(state):
        return None
    wanted = (params.get("origin") or "").lower()
    origin = wanted if wanted in client.allowed_origins else client.allowed_origins[0]
    carried = {"mode": "popup", "client_id": client.client_id, "state": state, "origin": origin}
    return {**carried, "return_to": "/purchase?" + urlencode(carried)}


def detour_url(client_id: str, return_to: str) -> str:
    """Where ``next=purchase`` sends the browser after consent (registered with
    ``idp.oauth2.interaction``): this landing, then back to the authorization request."""
    return url_for("wallet_pages.purchase", client_id=client_id, return_to=return_to)


@bp.route("", methods=["GET", "POST"])
@signed_in_only
def purchase(user):
    """Landing of ``next=purchase``: balance, packs and plans; POST starts a checkout.
    In the SDK's popup the return path is the popup itself, and a cancelled checkout is
    reported to the opener."""
    return_to = _return_to()
    wallet = ledger.wallet_for(user.id)
    handoff = popup()
    if handoff is not None:
        return_to = handoff["return_to"]
    if request.method == "GET":
        cancelled = bool(request.args.get("cancelled"))
        notice = "Checkout cancelled: you were not charged." if cancelled else None
        return _landing(
            user, wallet, return_to, notice=notice, popup=handoff, outcome=cancelled and "cancelled"
        )
    try:
        choice = purchase_form.choice(request.form)
        started = payments.start_checkout(wallet, user, _client_id(), **choice, return_to=return_to)
    except StepUpRequired as exc:
        return redirect(exc.url)  # the second factor first, then this page again
    except IdPError as exc:
        # A bad number is shown at its field (base.html's banner is for the rest).
        shown = {"amount_error" if exc.extra.get("field") == "amount" else "error": exc.description}
        return _landing(user, wallet, return_to, exc.status_code, popup=handoff, **shown)
    return redirect(started["url"], 303)


def _landing(user, wallet, return_to: str, status: int = 200, amount_error=None, **context):
    on_sale = packages.on_sale()
    mode = payments.mode()
    return page(
        "purchase.html",
        status,
        user=user,
        summary=services.summary(wallet),
        one_off=[p for p in on_sale if not p.interval],
        plans=[p for p in on_sale if p.interval],
        subscriptions=[s for s in billing.subscriptions(wallet.id) if s.status != "canceled"],
        payments_mode=mode,
        unavailable="Payments are not configured on this server, so credits cannot be "
        "bought here yet."
        if mode == "disabled"
        else None,
        money=prices.money,
        per_unit=prices.per_unit,
        count=prices.count,
        return_to=return_to,
        client_id=_client_id(),
        selected=request.values.get("package_id"),
        custom=purchase_form.custom(
            _typed_amount(), current_app.config["IDP_CREDIT_UNIT_PRICE"], _currency()
        ),
        errors={"amount": amount_error} if amount_error else None,
        autotopup=preferences.of(wallet.id),
        **context,
    )


def _typed_amount() -> str | None:
    """What the "Another amount" field shows: on a POST what was typed, kept even when it
    is wrong; on a GET the SDK's ``amount`` when it is a valid number (else nothing)."""
    if request.method == "POST":
        return request.form.get("amount")
    preset = request.args.get("amount")
    return preset if purchase_form.amount_of(preset) else None


def _client_id() -> str | None:
    """The app this page is shown for, if it is a registered, active one."""
    client_id = request.values.get("client_id")
    return client_id if client_id and query_client(client_id) is not None else None


def _currency() -> str:
    return current_app.config["IDP_CREDIT_CURRENCY"]


def _return_to() -> str:
    return safe_return_to(request.values.get("return_to"), "/account")


@bp.get("/success")
@signed_in_only
def success(user):
    """Where Stripe returns the browser: waits (static/purchase.js) for the webhook."""
    wallet = ledger.wallet_for(user.id)
    found = billing.checkout(request.args.get("session_id"), wallet.id)
    if found is None:
        raise NotFound("No such checkout.")
    handoff = popup()
    retry = handoff["return_to"] if handoff else None
    return page(
        "purchase_success.html",
        checkout=found,
        state=_state(found),
        summary=services.summary(wallet),
        count=prices.count,
        status_url=url_for("payments.checkout_status", session_id=found.id),
        return_to=_return_to(),
        retry_url=retry
        or url_for("wallet_pages.purchase", client_id=_client_id(), return_to=_return_to()),
        popup=handoff,
    )


def _state(found) -> str:
    """What the success page can honestly say: ``credited`` once the ledger holds the
    purchase's credits (not merely once Stripe says "complete": the webhook may not have
    arrived), ``failed`` or ``expired``, ``pending`` while a bank confirms, else
    ``processing``.  The same test as ``payment_routes.checkout_status``."""
    if found.mode == "subscription":
        credited = billing.has_entry(SUBSCRIPTION_GRANT, found.invoice_id)
    else:
        credited = billing.has_entry(PURCHASE, found.id)
    if credited:
        return "credited"
    return found.status if found.status in ("failed", "expired", "pending") else "processing"


@bp.post("/portal")
@signed_in_only(back_after_post=None)
def portal(user):
    """'Manage subscription': a Stripe billing-portal session for this user."""
    wallet = ledger.wallet_for(user.id)
    try:
        url = payments.portal_url(wallet, user, _client_id(), return_to=_return_to())
    except IdPError as exc:
        return _landing(user, wallet, _return_to(), exc.status_code, error=exc.description)
    return redirect(url, 303)


@bp.route("/simulated/<session_id>", methods=["GET", "POST"])
def simulated_checkout(session_id: str):
    """The development stand-in for Stripe's checkout page (IDP_PAYMENTS=simulated)."""
    if payments.mode() != "simulated":
        raise NotFound()
    return _simulated_checkout(session_id)


@signed_in_only(back_after_post=None)
def _simulated_checkout(user, session_id: str):
    found = billing.checkout(session_id, ledger.wallet_for(user.id).id)
    if found is None:
        raise NotFound("No such checkout.")
    urls = simulated.return_urls(request.values.get("state"))
    done = urls["success"].replace(payments.SESSION_PLACEHOLDER, found.id)
    if request.method == "POST":
        if found.status == "open":
            simulated.pay(found, user)
        return redirect(done, 303)
    amount, currency, label = simulated.price(found)
    return page(
        "purchase_simulated.html",
        # The checkout knows its app (the URL does not): its branding and "Back to".
        app=query_client(found.client_id) if found.client_id else None,
        checkout=found,
        label=label,
        price=prices.money(amount, currency),
        state=request.values.get("state"),
        cancel_url=urls["cancel"],
        success_url=done,
    )
