"""Sections of the account page that packages above ``idp.pages`` contribute (the
wallet's balance and history): ``idp.pages`` renders the account page and the wallet is
its sibling, so neither imports the other; the wallet registers a section here instead.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, render_template
from markupsafe import Markup

# ``section(user)`` returns (template name, context), rendered HTML, or None (nothing).
Section = Callable[[object], "tuple[str, dict] | str | None"]
_KEY = "idp_account_sections"


def register_account_section(app, fn: Section) -> None:
    """Add ``fn`` to the account page, below the sections of ``idp.pages`` (in the order
    of registration)."""
    app.extensions.setdefault(_KEY, []).append(fn)


def render_account_sections(user) -> list[Markup]:
    """Every registered section, rendered for ``user``."""
    rendered = []
    for fn in current_app.extensions.get(_KEY, ()):
        result = fn(user)
        if result is None:
            continue
        if isinstance(result, tuple):
            template, context = result
            result = render_template(template, **context)
        rendered.append(Markup(result))  # noqa: S704 (HTML the registered section rendered)
    return rendered
