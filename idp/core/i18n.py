"""The page language: Flask-Babel, with the locale chosen per request.

The order, the person's choice first: a link of the language switcher under every page
(``?lang=``), else the language this browser chose that way before (a cookie), else the
app's hint (OIDC Core 3.1.2.1 ``ui_locales``) on this request or inside the carried
``return_to`` (the authorization request a page is serving, so every page of that flow
keeps it), else ``Accept-Language``, else English.

Strings are marked with :func:`_` (now) or :func:`_l` (lazy: module-level messages,
translated when rendered); templates use ``_()``/``ngettext()`` that Flask-Babel installs.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from flask import Flask, g, has_request_context, request
from flask_babel import Babel, get_locale, gettext, lazy_gettext, ngettext

__all__ = ["LOCALES", "_", "_l", "current_locale", "init_app", "ngettext"]

_ = gettext
_l = lazy_gettext

# Complete translations, in the order the switcher lists them (English is the source).
LOCALES: dict[str, str] = {"en": "English", "fr": "Français"}
COOKIE = "idp_locale"
SWITCH = "lang"  # the switcher's query parameter (idp.ui.links.language_links)
_COOKIE_AGE = 365 * 24 * 3600
_TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(_TRANSLATIONS)
    Babel(app, locale_selector=current_locale)
    app.after_request(_remember)
    app.jinja_env.globals.update(page_locales=LOCALES, page_lang=lambda: str(get_locale()))


def supported(tags: str | None) -> str | None:
    """The first supported language in a space-separated list of BCP 47 tags
    (``ui_locales``): an exact match, else its primary language (``fr-CA`` -> ``fr``)."""
    for tag in (tags or "").split()[:10]:
        primary = tag.split("-", 1)[0].lower()
        if primary in LOCALES:
            return primary
    return None


def _asked(name: str) -> str | None:
    """The supported language a query parameter names.  Only the query is read, never
    the body (an error page may be answering a body too large to read), and a query that
    is not UTF-8 asks for nothing."""
    try:
        return supported(request.args.get(name))
    except UnicodeDecodeError:
        return None


def _hinted() -> str | None:
    """The app's hint: ``ui_locales`` on this request, or inside the carried ``return_to``
    (the authorization request the page is serving)."""
    chosen = _asked("ui_locales")
    if chosen is None:
        try:
            return_to = request.args.get("return_to")
        except UnicodeDecodeError:
            return None
        if return_to and len(return_to) < 4096:
            values = parse_qs(urlsplit(return_to).query).get("ui_locales")
            chosen = supported(values[0]) if values else None
    return chosen


def current_locale() -> str:
    """Flask-Babel's locale selector (cached per request by Flask-Babel).  Outside a
    request (the CLI, the outbox worker) English: mail says which language it wants.

    The person's own choice beats the app's hint: a switcher link (``lang``), then the
    language this browser chose that way before, then ``ui_locales``, then
    ``Accept-Language``."""
    if not has_request_context():
        return "en"
    switched = _asked(SWITCH)
    if switched is not None:
        g.idp_locale_chosen = switched
        return switched
    remembered = request.cookies.get(COOKIE)
    if remembered in LOCALES:
        return remembered
    return _hinted() or request.accept_languages.best_match(LOCALES) or "en"


def _remember(response):
    """Keep the person's choice (a switcher link) for the pages that follow, never an
    app's hint or ``Accept-Language``.  A page whose language was chosen varies with
    what chose it."""
    if getattr(g.get("_flask_babel"), "babel_locale", None) is not None:  # Flask-Babel's
        response.vary.update(("Accept-Language", "Cookie"))
    chosen = g.pop("idp_locale_chosen", None)
    if chosen is not None and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(
            COOKIE,
            chosen,
            max_age=_COOKIE_AGE,
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
        )
    return response
