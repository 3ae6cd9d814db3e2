"""Hosted pages: server-rendered, no third-party assets, errors shown in the page."""


def init_app(app) -> None:
    """The pages blueprint, the error page and the pages the protocol endpoints show."""
    from idp import ui
    from idp.core.errors import register_page_renderer
    from idp.oauth2 import interaction

    from . import account, passkeys  # noqa: F401  (they register routes on the blueprint)
    from .routes import bp
    from .views import consent_page, hosted_error_page, logout_page, signed_out_page

    ui.init_app(app)
    app.register_blueprint(bp)
    passkeys.init_app(app)
    register_page_renderer(app, hosted_error_page)
    interaction.register_page(app, interaction.CONSENT, consent_page)
    interaction.register_page(app, interaction.LOGOUT, logout_page)
    interaction.register_page(app, interaction.SIGNED_OUT, signed_out_page)
