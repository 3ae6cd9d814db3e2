"""A device's name for the account page's list of sessions, from its User-Agent: the
browser and the system, as a person would say them ("Firefox on Windows"), never the
raw header (long, and not theirs to decode)."""

from __future__ import annotations

import re

from idp.core.i18n import _l

# First match wins: Edge and Opera also say "Chrome", Chrome also says "Safari".
_BROWSERS = (
    ("Edge", r"\bEdg(e|A|iOS)?/"),
    ("Opera", r"\bOPR/"),
    ("Samsung Internet", r"SamsungBrowser/"),
    ("Firefox", r"\b(Firefox|FxiOS)/"),
    ("Chrome", r"\b(Chrome|CriOS|HeadlessChrome)/"),
    ("Safari", r"\bSafari/"),
    ("curl", r"^curl/"),
)
_SYSTEMS = (
    ("iPhone", r"\biPhone\b"),
    ("iPad", r"\biPad\b"),
    ("Android", r"\bAndroid\b"),
    ("Windows", r"\bWindows\b"),
    ("macOS", r"\bMac OS X\b|\bMacintosh\b"),
    ("ChromeOS", r"\bCrOS\b"),
    ("Linux", r"\bLinux\b"),
)


# How a session signed in, as the account page says it (RFC 8176 amr values).
_METHODS = {
    "pwd": _l("password"),
    "otp": _l("authenticator code"),
    "hwk": _l("passkey"),
    "swk": _l("passkey"),
}


def methods(amr) -> list[str]:
    """The factors a session used, in words, each once (``user`` and ``mfa`` add none)."""
    words: list[str] = []
    for value in amr:
        word = _METHODS.get(value)
        if word is not None and str(word) not in words:
            words.append(str(word))
    return words


def _first(table, user_agent: str) -> str | None:
    return next((name for name, pattern in table if re.search(pattern, user_agent)), None)


def label(user_agent: str | None) -> str:
    """ "Browser on System", either part alone when only one is known, else "Unknown device"."""
    user_agent = user_agent or ""
    browser, system = _first(_BROWSERS, user_agent), _first(_SYSTEMS, user_agent)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown device"
