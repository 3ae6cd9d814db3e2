"""What an app's hosted pages show of it (logo, colour, links) and what their Content
Security Policy must then allow: the logo's origin and the one brand style block, each
exactly, never ``https:`` or ``'unsafe-inline'``.

The registry (``idp.apps``) has already refused what could not be shown: a logo not
served over https, a colour under 4.5:1 with white text, a link that is not https.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from idp.apps.uris import logo_origin
from idp.core.i18n import _


@dataclass(frozen=True)
class Brand:
    """The branding of one app's pages."""

    logo_uri: str | None
    # The contents of the page's one <style> element: a validated #rrggbb in fixed text,
    # so autoescaping leaves it as it is and the CSP hash matches what the page holds.
    style: str | None
    links: tuple[tuple[str, str, str], ...]  # (id, label, https URL)

    @property
    def img_sources(self) -> str:
        """CSP ``img-src``: our own images and the data: favicon, plus the logo's origin."""
        origin = logo_origin(self.logo_uri)
        return "'self' data:" + (f" {origin}" if origin else "")

    @property
    def style_sources(self) -> str:
        """CSP ``style-src``: our stylesheets, plus the hash of the brand style block."""
        if self.style is None:
            return "'self'"
        digest = hashlib.sha256(self.style.encode()).digest()
        return f"'self' 'sha256-{base64.b64encode(digest).decode()}'"


NONE = Brand(None, None, ())


def brand_of(app) -> Brand:
    """The branding of ``app`` (a registry ``Client``), or none for no app."""
    if app is None:
        return NONE
    color = getattr(app, "brand_color", None)
    # --accent paints primary buttons (white text) and links; --ring the focus outline.
    style = f":root{{--accent:{color};--ring:{color}}}" if color else None
    links = tuple(
        (key, label, url)
        for key, label, url in (
            ("home", _("Home page"), getattr(app, "client_uri", None)),
            ("privacy", _("Privacy policy"), getattr(app, "policy_uri", None)),
            ("terms", _("Terms of service"), getattr(app, "tos_uri", None)),
        )
        if url
    )
    # An http logo registered before the registry refused them would only be blocked by
    # the policy (a broken image): such a page shows none and allows none.
    logo = getattr(app, "logo_uri", None)
    return Brand(logo if logo and logo.startswith("https://") else None, style, links)
