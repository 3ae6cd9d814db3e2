"""The credit API (JSON, under /api/cross-app/ as the seed names it).

Guarded by scopes on an RFC 9068 access token whose ``aud`` names the wallet
resource: a user's token, or a confidential app's client-credentials token acting
for a user who granted that app the same scope (``user`` = the user's ``sub``).
"""

from __future__ import annotations

import functools

from flask import jsonify, request

from idp.core.errors import JSONBlueprint, NotFound
from idp.oauth2.bearer import Caller, current_caller, protector

from . import holds, ledger, packages, payments, schemas, services, subscriptions
from .errors import WalletError

bp = JSONBlueprint("wallet", __name__, url_prefix="/api/cross-app")
_require = protector("IDP_WALLET_AUDIENCE")


def caller_api(scope: str):
    """Require ``scope`` and resolve whose credits these are and who acts on them: the
    view gets the :class:`~idp.oauth2.bearer.Caller`, whose ``user`` is active."""

    def decorator(view):
        @_require(scope)
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            caller = current_caller()
            if caller.is_app:
                caller = _delegated(caller, scope)
            if caller.user is None or caller.user.disabled:
                raise NotFound("No such user.")
            return view(caller, *args, **kwargs)

        return wrapped

    return decorator


def wallet_api(scope: str):
    """:func:`caller_api`, and the view also gets the user's wallet (created on first use)."""

    def decorator(view):
        @caller_api(scope)
        @functools.wraps(view)
        def wrapped(caller, *args, **kwargs):
            return view(caller, ledger.wallet_for(caller.user.id), *args, **kwargs)

        return wrapped

    return decorator


def _delegated(caller: Caller, scope: str) -> Caller:
    """A client-credentials caller names the user (``user``, their sub), who must have
    granted it ``scope``."""
    sub = request.args.get("user") or schemas.json_body().get("user")
    acting = caller.acting_for_user(sub, scope)
    if acting is None:
        raise WalletError("name the user (their sub) in the `user` parameter", field="user")
    return acting


def _idempotency_key(body: dict) -> str:
    return schemas.idempotency_key(
        request.headers.get("Idempotency-Key") or body.get("idempotency_key")
    )


@bp.get("/credits")
@wallet_api("credits:read")
def credits(caller, wallet):
    return jsonify(
        **services.credits(wallet), packages=[packages.to_dict(p) for p in packages.on_sale()]
    )


@bp.post("/credit-check")
@wallet_api("credits:read")
def credit_check(caller, wallet):
    required = schemas.positive_amount(schemas.json_body().get("required"), "required")
    state = services.summary(wallet)
    return jsonify(sufficient=state["available"] >= required, **state)


@bp.post("/credits/consume")
@caller_api("credits:consume")
def consume(caller):
    """Spend now; the answer is built from what the write returned (nothing read after)."""
    body = schemas.json_body()
    amount = schemas.positive_amount(body.get("amount"))
    service = schemas.service_name(body.get("service"))
    entry, replayed, state = services.consume(
        caller.user.id, amount, service, _idempotency_key(body), caller.client_id, caller.actor
    )
    response = jsonify(
        transaction=schemas.entry_to_dict(entry, caller.client_id), replayed=replayed, **state
    )
    response.status_code = 200 if replayed else 201
    return response


@bp.post("/credits/holds")
@wallet_api("credits:consume")
def create_hold(caller, wallet):
    body = schemas.json_body()
    found, replayed = holds.hold(
        wallet,
        schemas.positive_amount(body.get("amount")),
        body.get("ttl_seconds", schemas.DEFAULT_HOLD_TTL),
        schemas.service_name(body.get("service")),
        _idempotency_key(body),
        caller.client_id,
        caller.actor,
    )
    response = jsonify(
        hold=schemas.hold_to_dict(found), replayed=replayed, **services.summary(wallet)
    )
    response.status_code = 200 if replayed else 201
    return response


@bp.get("/credits/holds/<hold_id>")
@wallet_api("credits:consume")
def get_hold(caller, wallet, hold_id: str):
    holds.expire_holds(wallet.id)
    return jsonify(hold=schemas.hold_to_dict(holds.get(hold_id, wallet, caller.client_id)))


@bp.post("/credits/holds/<hold_id>/capture")
@wallet_api("credits:consume")
def capture_hold(caller, wallet, hold_id: str):
    found = holds.get(hold_id, wallet, caller.client_id)
    # 0 captures nothing (the whole hold goes back); more than held is the service's 400.
    amount = schemas.whole_number(
        schemas.json_body().get("amount", found.amount), "amount", 0, schemas.MAX_AMOUNT
    )
    holds.capture(found, amount, caller.actor)
    return jsonify(hold=schemas.hold_to_dict(found), **services.summary(wallet))


@bp.post("/credits/holds/<hold_id>/release")
@wallet_api("credits:consume")
def release_hold(caller, wallet, hold_id: str):
    found = holds.get(hold_id, wallet, caller.client_id)
    holds.release(found, caller.actor)
    return jsonify(hold=schemas.hold_to_dict(found), **services.summary(wallet))


@bp.get("/credits/transactions")
@wallet_api("credits:read")
def transactions(caller, wallet):
    """The user's ledger, newest first; ``before`` is the cursor, ``client_id`` filters."""
    limit = schemas.query_number("limit", 1, schemas.MAX_PAGE, default=schemas.DEFAULT_PAGE)
    before = schemas.query_number("before", 1, schemas.MAX_ID)
    only = request.args.get("client_id")
    if only and only != caller.client_id:
        raise WalletError("an app may filter only by its own client_id", field="client_id")
    entries = services.transactions(wallet, client_id=only, before=before, limit=limit)
    items = [schemas.entry_to_dict(e, caller.client_id) for e in entries]
    next_cursor = items[-1]["id"] if len(items) == limit else None
    return jsonify(transactions=items, next_before=next_cursor)


@bp.get("/credits/packages")
def list_packages():
    """The catalogue is public."""
    return jsonify(packages=[packages.to_dict(p) for p in packages.on_sale()])


@bp.post("/credits/purchase")
@wallet_api("credits:purchase")
def purchase(caller, wallet):
    """Start a Stripe Checkout for a package (or an amount of credits); returns its URL."""
    body = schemas.json_body()
    session = payments.start_checkout(
        wallet,
        caller.user,
        caller.client_id,
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
def portal(caller, wallet):
    """A billing-portal session, to manage or cancel a subscription."""
    return jsonify(
        url=payments.portal_url(
            wallet, caller.user, caller.client_id, schemas.json_body().get("return_url")
        )
    )


@bp.get("/subscription")
@wallet_api("credits:read")
def subscription(caller, wallet):
    """The user's current subscription plan (or null) and the history of them."""
    return jsonify(subscriptions.overview(wallet.id))
