"""An app's colour on the hosted pages, and the contrast rule it must meet (WCAG 2.2).

The hosted stylesheet paints the brand colour as ``--accent``: the background of every
primary button, whose text is white, and the colour of every link on the white card.
Both are text on or against white, so the one rule is 4.5:1 against white (WCAG 1.4.3,
normal-size text); the focus ring (3:1, WCAG 1.4.11) follows from it.  A colour that
fails is refused with its ratio, not adjusted: an operator who typed a colour should
see why it cannot be used rather than find another one on the page.
"""

from __future__ import annotations

import re

from .errors import RegistryError

MIN_CONTRAST = 4.5
WHITE = "#ffffff"
_HEX_RE = re.compile(r"#[0-9a-f]{6}")


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: str) -> float:
    """WCAG 2.2 relative luminance of ``#rrggbb``."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(first: str, second: str) -> float:
    """WCAG 2.2 contrast ratio of two ``#rrggbb`` colours, from 1 to 21."""
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def brand_color(value: object) -> str | None:
    """``#rrggbb`` (or ``#rgb``, expanded; lower-cased) whose contrast with white text is
    at least 4.5:1; empty or None for the default colour."""
    if value is None or value == "":
        return None
    color = value.strip().lower() if isinstance(value, str) else ""
    if re.fullmatch(r"#[0-9a-f]{3}", color):
        color = "#" + "".join(c * 2 for c in color[1:])
    if not _HEX_RE.fullmatch(color):
        raise RegistryError("brand_color must be a hex colour such as #1f6feb", field="brand_color")
    ratio = contrast(color, WHITE)
    if ratio < MIN_CONTRAST:
        raise RegistryError(
            f"brand_color {color} has a contrast of {ratio:.2f}:1 with white text; "
            f"buttons and links need at least {MIN_CONTRAST}:1 (choose a darker colour)",
            field="brand_color",
        )
    return color
