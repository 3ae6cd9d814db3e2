"""The demo partner app's callback page (`make run`, idp/demo.py): each token in its own
wrapped block that fits a phone's screen, with a copy button (progressive enhancement,
under the page's CSP: the ``page`` fixture fails on any CSP violation or script error)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from idp import demo
from tests.helpers import PASSWORD
from tests.live import serve

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
BOTH = pytest.mark.parametrize("context", [PHONE, DESKTOP], indirect=True, ids=["phone", "desktop"])
TOKENS = ("access_token", "id_token", "refresh_token")


@pytest.fixture
def demo_idp(committed_db, make_app, apps):
    """The IdP served live with its demo app seeded (as `flask dev bootstrap` does);
    yields the issuer and the demo app's authorization URL."""
    built = []

    def build(**overrides):
        built.append(make_app(**overrides))
        return built[-1]

    with serve(build) as url:
        with built[0].app_context():
            demo.credentials()
            authorize = demo.authorize_url()
            saved = demo.credentials_path()
        yield url, authorize
        saved.unlink(missing_ok=True)


def _tokens_page(page, demo_idp, user) -> None:
    issuer, authorize = demo_idp
    page.goto(authorize)
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{issuer}/demo/callback?**")
    expect(page.get_by_role("heading", name="Response (200)")).to_be_visible()


def _token(page, name: str) -> str:
    return page.locator(f"pre[aria-labelledby='field-{name}']").inner_text()


@BOTH
def test_tokens_wrap_inside_the_screen(page, demo_idp, user):
    _tokens_page(page, demo_idp, user)
    screen = page.viewport_size["width"]
    wide = page.evaluate("document.scrollingElement.scrollWidth")
    assert wide <= screen, (wide, screen)
    for name in TOKENS:
        block = page.locator(f"pre[aria-labelledby='field-{name}']")
        box = block.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= screen, (name, box)
        assert box["height"] > 40, name  # a long token runs over several lines
        assert len(_token(page, name)) > 40
    assert page.evaluate("getComputedStyle(document.querySelector('pre.wrap')).whiteSpace") == (
        "pre-wrap"
    )


def test_copy_button_copies_each_token(page, context, demo_idp, user):
    issuer, _ = demo_idp
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=issuer)
    _tokens_page(page, demo_idp, user)
    for name in TOKENS:
        page.get_by_role("button", name=f"Copy {name}").click()
        expect(page.get_by_role("status").filter(has_text=f"Copied {name}")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == _token(page, name)
    # only tokens get a button: token_type, expires_in and scope are short
    assert page.get_by_role("button", name="Copy token_type").count() == 0


def test_without_clipboard_the_token_is_selected(page, context, demo_idp, user):
    context.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    _tokens_page(page, demo_idp, user)
    page.get_by_role("button", name="Copy id_token").click()
    expect(page.get_by_role("status").filter(has_text="Selected: press Ctrl+C")).to_be_visible()
    assert page.evaluate("window.getSelection().toString()") == _token(page, "id_token")


@pytest.mark.parametrize("context", [{"java_script_enabled": False}], indirect=True)
def test_without_script_the_tokens_are_still_shown(page, demo_idp, user):
    _tokens_page(page, demo_idp, user)
    for name in TOKENS:
        assert len(_token(page, name)) > 40
    assert page.get_by_role("button", name="Copy access_token").count() == 0
