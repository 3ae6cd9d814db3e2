"""Credit wallet: ledger, credit API and Stripe payments (blueprint registered, empty for now)."""

from flask import Blueprint

bp = Blueprint("wallet", __name__, url_prefix="/api/wallet")


def init_app(app) -> None:
    from idp.extensions import csrf

    csrf.exempt(bp)  # bearer-token JSON API: no cookies, so no CSRF
    app.register_blueprint(bp)
