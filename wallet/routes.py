"""The credit API (JSON, under /api/cross-app/ as the seed names it).

Guarded by scopes on an RFC 9068 access token whose ``aud`` names the wallet
resource: a user's token, or a confidential app's client-credentials token acting
for a user who granted that app the same scope (``user`` = the user's ``sub``).
"""

from __future__ import annotations

import functools

from flask import Blueprint, g, jsonify, request

from idp.core.errors import NotFound
from idp.oauth2 import services as oauth_services
from idp.oauth2.bearer import InsufficientScope, current_token, protector
from idp.users import services as users

from . import ledger, packages, payments, schemas, services
from .errors import WalletError

bp = Blueprint("wallet", __name__, url_prefix="/api/cross-app")
_require = protector("IDP_WALLET_AUDIENCE")


def wallet_api(scope: str):
    """Require ``scope`` and resolve whose wallet this is and who acts on it."""

    def decorator(view):
        @_require(scope)
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            client_id = current_token["client_id"]
            if "auth_time" in current_token:  # issued to a person through a user grant
                user = users.by_sub(current_token["sub"])
                g.wallet_actor = f"user:{current_token['sub']}"
            else:
                user = _delegating_user(client_id, scope)
                g.wallet_actor = f"client:{client_id}"
            if user is None or user.disabled:
                raise NotFound("No such user.")
            g.wallet_client_id = client_id
            g.wallet_user = user
            g.wallet = ledger.wallet_for(user.id)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _delegating_user(client_id: str, scope: str):
    """A client-credentials caller names the user; that user must have granted it ``scope``."""
    sub = request.args.get("user") or schemas.json_body().get("user")
    user = users.by_sub(sub) if isinstance(sub, str) else None
    if user is None:
        raise WalletError("name the user (their sub) in the `user` parameter", field="user")
    if scope not in oauth_services.granted_scopes(user.id, client_id):
        raise InsufficientScope(scope, "the user has not granted this app " + scope)
    return user


def _idempotency_key(body: dict) -> str:
    return services.idempotency_key(
        request.headers.get("Idempotency-Key") or body.get("idempotency_key")
    )


@bp.get("/credits")
@wallet_api("credits:read")
def credits():
    return jsonify(
        **services.summary(g.wallet), packages=[packages.to_dict(p) for p in packages.on_sale()]
    )


@bp.post("/credit-check")
@wallet_api("credits:read")
def credit_check():
    required = services.positive_amount(schemas.json_body().get("required"), "required")
    state = services.summary(g.wallet)
    return jsonify(sufficient=state["available"] >= required, **state)


@bp.post("/credits/consume")
@wallet_api("credits:consume")
def consume():
    body = schemas.json_body()
    amount = services.positive_amount(body.get("amount"))
    service = services.service_name(body.get("service"))
    entry, replayed = services.consume(
        g.wallet, amount, service, _idempotency_key(body), g.wallet_client_id, g.wallet_actor
    )
    return _entry_response(entry, replayed, 201)


@bp.post("/credits/holds")
@wallet_api("credits:consume")
def create_hold():
    body = schemas.json_body()
    found, replayed = services.hold(
        g.wallet,
        services.positive_amount(body.get("amount")),
        body.get("ttl_seconds", 900),
        services.service_name(body.get("service")),
        _idempotency_key(body),
        g.wallet_client_id,
        g.wallet_actor,
    )
    response = jsonify(
        hold=services.hold_to_dict(found), replayed=replayed, **services.summary(g.wallet)
    )
    response.status_code = 200 if replayed else 201
    return response


@bp.get("/credits/holds/<hold_id>")
@wallet_api("credits:consume")
def get_hold(hold_id: str):
    services.expire_holds(g.wallet.id)
    return jsonify(
        hold=services.hold_to_dict(services.get_hold(hold_id, g.wallet, g.wallet_client_id))
    )


@bp.post("/credits/holds/<hold_id>/capture")
@wallet_api("credits:consume")
def capture_hold(hold_id: str):
    found = services.get_hold(hold_id, g.wallet, g.wallet_client_id)
    # 0 captures nothing (the whole hold goes back); more than held is the service's 400.
    amount = schemas.whole_number(
        schemas.json_body().get("amount", found.amount), "amount", 0, services.MAX_AMOUNT
    )
    services.capture(found, amount, g.wallet_actor)
    return jsonify(hold=services.hold_to_dict(found), **services.summary(g.wallet))


@bp.post("/credits/holds/<hold_id>/release")
@wallet_api("credits:consume")
def release_hold(hold_id: str):
    found = services.get_hold(hold_id, g.wallet, g.wallet_client_id)
    services.release(found, g.wallet_actor)
    return jsonify(hold=services.hold_to_dict(found), **services.summary(g.wallet))


@bp.get("/credits/transactions")
@wallet_api("credits:read")
def transactions():
    """The user's ledger, newest first; ``before`` is the cursor, ``client_id`` filters."""
    limit = schemas.query_number("limit", 1, schemas.MAX_PAGE, default=50)
    before = schemas.query_number("before", 1, schemas.MAX_ID)
    only = request.args.get("client_id")
    if only and only != g.wallet_client_id:
        raise WalletError("an app may filter only by its own client_id", field="client_id")
    entries = services.transactions(g.wallet, client_id=only, before=before, limit=limit)
    items = [services.entry_to_dict(e, g.wallet_client_id) for e in entries]
    next_cursor = items[-1]["id"] if len(items) == limit else None
    return jsonify(transactions=items, next_before=next_cursor)


@bp.get("/credits/packages")
def list_packages():
    """The catalogue is public."""
    return jsonify(packages=[packages.to_dict(p) for p in packages.on_sale()])


@bp.post("/credits/purchase")
@wallet_api("credits:purchase")
def purchase():
    """Start a Stripe Checkout for a package (or an amount of credits); returns its URL."""
    body = schemas.json_body()
    session = payments.start_checkout(
        g.wallet,
        g.wallet_user,
        g.wallet_client_id,
        package_id=body.get("package_id"),
        amount=body.get("amount"),
        success_url=body.get("success_url"),
        cancel_url=body.get("cancel_url"),
    )
    response = jsonify(session)
    response.status_code = 201
    return response


@bp.post("/credits/portal")
@wallet_api("credits:purchase")
def portal():
    """A billing-portal session, to manage or cancel a subscription."""
    return jsonify(
        url=payments.portal_url(
            g.wallet, g.wallet_user, g.wallet_client_id, schemas.json_body().get("return_url")
        )
    )


def _entry_response(entry, replayed: bool, created_status: int):
    # A new entry already records the wallet right after it; only a replay needs a fresh read.
    if replayed:
        state = services.summary(g.wallet)
    else:
        state = {
            "balance": entry.balance_after,
            "held": entry.held_after,
            "available": entry.balance_after - entry.held_after,
        }
    response = jsonify(
        transaction=services.entry_to_dict(entry, g.wallet_client_id), replayed=replayed, **state
    )
    response.status_code = 200 if replayed else created_status
    return response


@bp.get("/subscription")
@wallet_api("credits:read")
def subscription():
    """The user's current subscription plan (or null) and the history of them."""
    from . import subscriptions

    return jsonify(subscriptions.overview(g.wallet.id))
