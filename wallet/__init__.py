"""Credit wallet: immutable ledger, scope-guarded credit API, Stripe payments."""


def init_app(app) -> None:
    from idp import ui
    from idp.core import outbox
    from idp.core.extensions import csrf
    from idp.oauth2 import interaction
    from idp.ui.account_sections import register_account_section
    from idp.users.deletion import register_deletion_step

    from . import account, autotopup, ledger, receipts, watch
    from . import models as _models  # noqa: F401  (register the tables)
    from . import preference_models as _preference_models  # noqa: F401
    from .cli import cli
    from .pages import bp as pages_bp
    from .pages import detour_url
    from .payment_routes import bp as payments_bp
    from .payment_routes import stripe_webhook
    from .routes import bp
    from .settings_pages import bp as settings_bp

    csrf.exempt(bp)  # bearer-token JSON API: no cookies, so no CSRF
    csrf.exempt(stripe_webhook)  # authenticated by Stripe's signature instead
    app.register_blueprint(bp)
    app.register_blueprint(payments_bp)
    ui.init_app(app)  # the templates the purchase pages extend
    app.register_blueprint(pages_bp)  # hosted purchase pages: CSRF-protected forms
    app.register_blueprint(settings_bp)  # the account page's wallet settings forms
    # Spend limits, auto top-up, receipts and the low-balance mail, in each change's
    # transaction; the top-up payment and the receipt link are outbox jobs.
    ledger.register_change_listener(app, watch.on_change)
    outbox.register(autotopup.KIND, autotopup.deliver)
    outbox.register(receipts.KIND, receipts.deliver)
    # An authorization request with next=purchase visits the purchase page after consent.
    interaction.register_detour(app, "purchase", detour_url)
    # The account page shows the wallet; deleting an account forfeits its credits.
    register_account_section(app, account.section)
    register_deletion_step(app, account.describe_deletion, account.forfeit)
    app.cli.add_command(cli)
