"""Screenshots of the sign-in and consent pages on a phone and a desktop, for a person to
look at; the test itself checks that nothing overflows sideways.

They go to pytest's tmp dir (path printed with ``-s``), or to ``IDP_TEST_SCREENSHOTS``
when set, which survives pytest's clean-up of old tmp dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import PASSWORD

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


def _fits_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("context", [PHONE, DESKTOP], indirect=True, ids=["phone", "desktop"])
def test_login_and_consent_screenshots(page, pages, app_a, user, backend, tmp_path):
    width = page.viewport_size["width"]
    name = f"{'phone' if width < 600 else 'desktop'}-{backend.name}"
    folder = Path(os.environ.get("IDP_TEST_SCREENSHOTS") or tmp_path)
    page.goto(app_a.authorize_url())
    pages.sign_in(user.email, "not the password")  # show the inline error too
    pages.error().wait_for()
    assert _fits_width(page)
    page.screenshot(path=folder / f"login-{name}.png", full_page=True)

    pages.sign_in(user.email, PASSWORD)
    pages.expect_consent("Alpha Notes", ["openid", "profile", "email"])
    assert _fits_width(page)
    page.screenshot(path=folder / f"consent-{name}.png", full_page=True)
    print(f"screenshots: {folder}")
