"""The rendering kit of every hosted page (the IdP's own pages and the wallet's purchase
pages): branding and framing policy (``views``), where a page may send the browser next
(``links``) and the templates every page builds on (``templates/``: the base layout, the
carried form fields, the error page).  It depends only on ``idp.core`` and ``idp.apps``,
so the packages that render pages share it without importing each other.  The
stylesheet is served with the pages' assets (``/static/idp/``)."""

from flask import Blueprint

from . import links

# No routes: it only puts templates/ on the template search path.
bp = Blueprint("ui", __name__, template_folder="templates")


def init_app(app) -> None:
    """Register the shared templates (once, whichever page package asks first)."""
    if bp.name not in app.blueprints:
        app.register_blueprint(bp)
        app.jinja_env.globals["language_links"] = links.language_links
