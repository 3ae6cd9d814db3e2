"""What a person sees on the hosted pages (issue 16): contrast computed in the page,
focus after an error, the resend countdown, the wait a rate limit says, and the way back
to the app from the side and error pages.  Screenshots of every hosted page at phone and
desktop width go to tests/browser/screenshots/ (git-ignored) for a reviewer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from idp.users import codes
from tests.helpers import PASSWORD, mail_code, mail_link

from .actions import Partner

SCREENSHOTS = Path(__file__).parent / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
LIMITED = "2/minute"


@pytest.fixture
def app_settings():
    """A low per-account sign-in limit, so a test reaches it in a few tries."""
    return {"IDP_RATELIMIT_LOGIN_ACCOUNT": LIMITED}


@pytest.fixture(autouse=True)
def _fresh_counters(app):
    """Counters kept in Redis outlive the app of a test: each test starts from zero."""
    redis = app.extensions.get("idp_redis")
    if redis is not None:
        for key in redis.scan_iter("LIMITS:*"):
            redis.delete(key)


def _luminance(css: str) -> float:
    red, green, blue = (int(v) / 255 for v in re.findall(r"\d+(?:\.\d+)?", css)[:3])

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast_with_white(css: str) -> float:
    """WCAG 2 contrast ratio of an ``rgb(...)`` colour against white."""
    return 1.05 / (_luminance(css) + 0.05)


def _style(locator, prop: str) -> str:
    return locator.evaluate(f"(e) => getComputedStyle(e).getPropertyValue('{prop}')")


def test_contrast_test_measures_what_wcag_says():
    assert round(contrast_with_white("rgb(118, 118, 118)"), 2) == 4.54
    assert round(contrast_with_white("rgb(255, 255, 255)"), 2) == 1.0


def test_input_borders_focus_ring_and_secondary_buttons_reach_3_to_1(page, pages, app_a, user):
    """WCAG 1.4.11 (non-text contrast), against the white card."""
    page.goto(app_a.authorize_url())
    email = page.get_by_label("Email address")
    assert contrast_with_white(_style(email, "border-top-color")) >= 3
    email.focus()
    assert _style(email, "outline-style") == "solid"
    assert contrast_with_white(_style(email, "outline-color")) >= 3
    reveal = page.get_by_role("button", name="Show password")
    assert contrast_with_white(_style(reveal, "border-top-color")) >= 3

    pages.sign_in(user.email, PASSWORD)
    deny = page.get_by_role("button", name="Deny")
    assert contrast_with_white(_style(deny, "border-top-color")) >= 3
    assert _style(deny, "background-color") == "rgb(255, 255, 255)"


def test_show_password_toggle(page, pages, app_a):
    page.goto(app_a.authorize_url())
    password = page.get_by_label("Password", exact=True)
    password.fill("secret words")
    toggle = page.get_by_role("button", name="Show password")
    toggle.click()
    expect(password).to_have_attribute("type", "text")
    expect(page.get_by_role("button", name="Hide password")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.get_by_role("button", name="Hide password").click()
    expect(password).to_have_attribute("type", "password")


def test_focus_starts_in_the_first_field_and_never_on_body(page, pages, app_a):
    page.goto(app_a.authorize_url(prompt="create"))
    expect(page.get_by_label("Your name")).to_be_focused()
    pages.sign_up("kim@example.com", "short")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    assert page.evaluate("document.activeElement !== document.body")


def test_resend_countdown_blocks_the_button_until_it_ends(page, pages, app_a, mailbox, monkeypatch):
    monkeypatch.setattr(codes, "RESEND_COOLDOWN_SECONDS", 3)
    page.goto(app_a.authorize_url(prompt="create"))
    pages.sign_up("lin@example.com", PASSWORD)
    resend = page.get_by_role("button", name="Send a new code")
    expect(resend).to_be_disabled()
    expect(page.locator("[data-clock]")).to_have_text(re.compile(r"^0:0[0-3]$"))
    expect(page.get_by_text("You can ask for a new code now.")).to_be_visible(timeout=6000)
    expect(resend).to_be_enabled()
    resend.click()
    expect(page.get_by_role("status")).to_have_text(re.compile("We sent a new code to"))
    assert len(mailbox.messages) == 2
    expect(page.get_by_label("Verification code")).to_be_focused()
    expect(page.get_by_role("link", name="Use a different email")).to_be_visible()


def test_a_rate_limit_shows_the_wait_on_the_same_form(page, pages, app_a, user):
    page.goto(app_a.authorize_url())
    for _ in range(2):
        pages.sign_in(user.email, "not the password")
        pages.error().first.wait_for()
    with page.expect_response(lambda r: r.url.split("?")[0].endswith("/login")) as answer:
        pages.sign_in(user.email, PASSWORD)
    response = answer.value
    assert response.status == 429
    retry_after = int(response.headers["retry-after"])
    alert = pages.error()
    expect(alert).to_contain_text("Too many attempts.")
    clock = page.locator("#form-error [data-clock]")
    minutes, seconds = (int(part) for part in clock.inner_text().split(":"))
    assert abs(minutes * 60 + seconds - retry_after) <= 2
    expect(page.get_by_role("button", name="Sign in")).to_be_disabled()
    expect(page.get_by_label("Email address")).to_have_value(user.email)  # still filled in
    expect(pages.heading()).to_have_text("Sign in to continue to Alpha Notes")


def test_signed_out_page_leads_back_to_the_app(page, pages, app_a, user, idp):
    page.goto(app_a.authorize_url())
    pages.sign_in(user.email, PASSWORD)
    pages.allow(app_a)
    page.goto(f"{idp}/oauth/logout?client_id={app_a.client_id}")
    page.get_by_role("button", name="Sign out").click()
    expect(pages.heading()).to_have_text("You are signed out")
    expect(page.get_by_role("link", name="Sign in again")).to_have_attribute(
        "href", f"/login?client_id={app_a.client_id}"
    )
    page.get_by_role("link", name="Back to Alpha Notes").click()
    page.wait_for_url(app_a.server.url + "/")


def test_an_expired_form_tries_again_with_the_same_app(page, pages, context, app_a, user):
    page.goto(app_a.authorize_url())
    context.clear_cookies()  # the CSRF session is gone, as after a long pause
    pages.sign_in(user.email, PASSWORD)
    expect(pages.heading()).to_have_text("This form expired")
    expect(page.get_by_role("link", name="Back to Alpha Notes")).to_be_visible()
    page.get_by_role("link", name="Try again").click()
    expect(pages.heading()).to_have_text("Sign in to continue to Alpha Notes")
    pages.sign_in(user.email, PASSWORD)
    pages.expect_consent("Alpha Notes", ["openid", "profile", "email"])


def test_a_password_reset_ends_back_in_the_app(page, pages, app_a, user, mailbox):
    page.goto(app_a.authorize_url())
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email address").fill(user.email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("status")).to_contain_text("we sent it a link")
    page.goto(mail_link(mailbox))
    expect(pages.heading()).to_have_text("Choose a new password")
    page.get_by_label("New password", exact=True).fill("a brand new passphrase")
    page.get_by_role("button", name="Save password").click()
    expect(page.get_by_role("status")).to_have_text(re.compile("Your password was changed"))
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.get_by_label("Password", exact=True).fill("a brand new passphrase")
    page.get_by_role("button", name="Sign in").click()
    pages.expect_consent("Alpha Notes", ["openid", "profile", "email"])


def _fits_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("context", [PHONE, DESKTOP], indirect=True, ids=["phone", "desktop"])
def test_screenshots_of_every_hosted_page(page, pages, app_a, user, idp, mailbox):
    SCREENSHOTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"]
    shot_names = []

    def shot(name: str) -> None:
        page.wait_for_load_state("load")
        assert _fits_width(page), f"{name} overflows at {width}px"
        page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True)
        shot_names.append(name)

    page.goto(f"{idp}/")
    shot("landing")
    page.goto(app_a.authorize_url())
    shot("login")
    pages.sign_in(user.email, "not the password")
    pages.error().wait_for()
    shot("login-error")
    page.goto(f"{idp}/forgot?client_id={app_a.client_id}")
    shot("forgot")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("status")).to_be_visible()
    shot("forgot-sent")
    page.goto(mail_link(mailbox))
    shot("reset")
    page.goto(app_a.authorize_url(prompt="create"))
    pages.sign_up("nia@", PASSWORD, name="Nia")
    pages.error().wait_for()
    shot("signup-error")
    page.get_by_label("Email address").fill("nia@example.com")
    page.get_by_role("button", name="Create account").click()
    expect(pages.heading()).to_have_text("Check your email")
    shot("verify")
    pages.enter_code(f"{(int(mail_code(mailbox)) + 1) % 1_000_000:06d}")
    pages.error().wait_for()
    shot("verify-wrong-code")
    page.goto(f"{idp}/logout")
    page.get_by_role("button", name="Sign out").click()
    expect(pages.heading()).to_have_text("You are signed out")
    page.goto(app_a.authorize_url())
    pages.sign_in(user.email, PASSWORD)
    shot("consent")
    pages.allow(app_a)
    page.goto(f"{idp}/account")
    shot("account")
    page.goto(f"{idp}/oauth/logout?client_id={app_a.client_id}")
    shot("logout")
    page.get_by_role("button", name="Sign out").click()
    expect(pages.heading()).to_have_text("You are signed out")
    shot("signed-out")
    page.goto(
        f"{idp}/oauth/authorize?client_id={app_a.client_id}&redirect_uri=http://x/&response_type=code"
    )
    shot("error-app-set-up")
    page.goto(f"{idp}/no/such/page")
    shot("not-found")
    page.goto(app_a.authorize_url())
    page.context.clear_cookies()
    pages.sign_in(user.email, PASSWORD)
    expect(pages.heading()).to_have_text("This form expired")
    shot("csrf-expired")
    page.goto(app_a.authorize_url())
    for _ in range(2):  # the second failure of this test: the next attempt is refused
        pages.sign_in(user.email, "not the password")
        pages.error().first.wait_for()
    expect(page.get_by_role("button", name="Sign in")).to_be_disabled()
    shot("login-rate-limited")
    assert len(shot_names) == 17


@pytest.mark.parametrize("context", [PHONE], indirect=True, ids=["phone"])
def test_a_long_app_name_wraps_on_a_phone(page, idp, apps, callback_server):
    """An app's name is the partner's to choose: 100 characters without a space must not
    widen the sign-in page past a phone's screen."""
    long = apps.create(
        client_id="long-name",
        name="Ab" * 50,
        type="public",
        redirect_uris=[f"{callback_server.url}/cb"],
        allowed_scopes="openid profile email offline_access",
    )
    partner = Partner(idp, long["client_id"], f"{callback_server.url}/cb", callback_server)
    page.goto(partner.authorize_url())
    page.wait_for_load_state("load")
    assert _fits_width(page)
