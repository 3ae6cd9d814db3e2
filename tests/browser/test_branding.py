"""Per-app branding in Chromium (issue 17): the logo, colour and links of the app on every
page of its flow (sign-up, verify, consent, sign-in, forgot, reset, logout, signed out,
the error pages that know the app), the contrast of the branded buttons and links
computed in the page, and no CSP violation: the page's policy allows exactly the logo's
origin and the one brand style block.  The logo's host is answered by Playwright's
router (the network is closed); the CSP still judges its real https URL."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.helpers import PASSWORD, mail_code, mail_link

from .actions import Partner

SCREENSHOTS = Path(__file__).parent / "screenshots"  # git-ignored, for a reviewer
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
LOGO = "https://cdn.brand.example/logo.png"
BRAND = "#6f42c1"  # 6.51:1 with white
BRAND_RGB = "rgb(111, 66, 193)"
LINKS = {
    "home": "https://brand.example/",
    "privacy": "https://brand.example/privacy",
    "terms": "https://brand.example/terms",
}
# A 1x1 PNG: the logo the router serves.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
# Every CSP refusal in the page, whatever the console says.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""
# WCAG 2.2 contrast ratio of an element's text colour on a background colour, in the page.
CONTRAST = """
([element, background]) => {
  const rgb = (css) => css.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const linear = (c) => (c /= 255) <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  const lum = ([r, g, b]) => 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  const style = getComputedStyle(element);
  const fore = lum(rgb(style.color));
  const back = lum(rgb(background || style.backgroundColor));
  return (Math.max(fore, back) + 0.05) / (Math.min(fore, back) + 0.05);
}
"""


@pytest.fixture
def branded(idp, apps, callback_server, context):
    """A public app with every branding field; its logo's host answered by the router."""
    registered = apps.create(
        client_id="brand-co",
        name="Brand & Co",
        type="public",
        redirect_uris=[f"{callback_server.url}/cb"],
        allowed_scopes="openid profile email",
        logo_uri=LOGO,
        brand_color=BRAND,
        client_uri=LINKS["home"],
        policy_uri=LINKS["privacy"],
        tos_uri=LINKS["terms"],
    )
    served = []

    def logo(route):
        served.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=PNG)

    context.route("https://cdn.brand.example/**", logo)
    context.add_init_script(RECORD_VIOLATIONS)
    partner = Partner(idp, registered["client_id"], f"{callback_server.url}/cb", callback_server)
    partner.logo_requests = served
    return partner


def assert_branded(page, where: str) -> None:
    """The app's logo (loaded), name, links and colour are on the page; nothing refused."""
    page.wait_for_load_state("load")
    logo = page.locator("img#app-logo")
    expect(logo, where).to_have_attribute("src", LOGO)
    assert logo.evaluate("(img) => img.complete && img.naturalWidth > 0"), f"{where}: no logo"
    expect(page.locator(".brand .app-name"), where).to_have_text("Brand & Co")
    for key, url in LINKS.items():
        expect(page.locator(f"nav.app-links a#app-{key}"), where).to_have_attribute("href", url)
    card = page.locator("main.card")
    card_background = card.evaluate("(e) => getComputedStyle(e).backgroundColor")
    link = page.locator("nav.app-links a").first
    assert link.evaluate("(e) => getComputedStyle(e).color") == BRAND_RGB, where
    assert page.evaluate(CONTRAST, [link.element_handle(), card_background]) >= 4.5, where
    primary = page.locator(
        "main button[type=submit]:not(.secondary-button):not(.link), a.button:not(.secondary)"
    )
    for i in range(primary.count()):
        button = primary.nth(i)
        if not button.is_visible():
            continue
        background = button.evaluate("(e) => getComputedStyle(e).backgroundColor")
        assert background == BRAND_RGB, f"{where}: {button.inner_text()} is {background}"
        assert page.evaluate(CONTRAST, [button.element_handle(), None]) >= 4.5, where
    assert page.evaluate("window.__cspViolations") == [], where


@pytest.mark.parametrize("context", [PHONE, DESKTOP], indirect=True, ids=["phone", "desktop"])
def test_branding_on_every_page_of_a_flow(page, pages, branded, user, idp, mailbox):
    SCREENSHOTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"]
    seen = []

    def check(where: str) -> None:
        assert_branded(page, where)
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert fits, f"{where} overflows at {width}px"
        name = re.sub(r"\W+", "-", where).strip("-")
        page.screenshot(path=SCREENSHOTS / f"branded-{name}-{width}.png", full_page=True)
        seen.append(where)

    # sign-up, verification, consent
    page.goto(branded.authorize_url(prompt="create"))
    check("sign up")
    pages.sign_up("nia@example.com", PASSWORD, name="Nia")
    check("verify")
    pages.enter_code(mail_code(mailbox))
    pages.expect_consent("Brand & Co", ["openid", "profile", "email"])
    check("consent")
    policies = page.locator("#consent-policies")
    expect(policies.get_by_role("link", name="privacy policy")).to_have_attribute(
        "href", LINKS["privacy"]
    )
    expect(policies.get_by_role("link", name="terms of service")).to_have_attribute(
        "href", LINKS["terms"]
    )
    pages.allow(branded)
    # RP-initiated logout and the signed-out page
    page.goto(f"{idp}/oauth/logout?client_id={branded.client_id}")
    check("logout")
    page.get_by_role("button", name="Sign out").click()
    expect(pages.heading()).to_have_text("You are signed out")
    check("signed out")
    expect(page.get_by_role("link", name="Back to Brand & Co")).to_have_attribute(
        "href",
        LINKS["home"],  # the registered home page, not a guess from redirect URIs
    )
    # sign-in, forgotten password, reset from the mailed link
    page.goto(branded.authorize_url())
    check("sign in")
    page.get_by_role("link", name="Forgot your password?").click()
    check("forgot")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("status")).to_be_visible()
    check("forgot, sent")
    page.goto(mail_link(mailbox))
    expect(pages.heading()).to_have_text("Choose a new password")
    check("reset")
    # error pages that know the app
    page.goto(
        f"{idp}/oauth/authorize?client_id={branded.client_id}"
        "&redirect_uri=https://elsewhere.example/&response_type=code"
    )
    check("error: the app's bad request")
    page.goto(branded.authorize_url())
    page.context.clear_cookies()
    pages.sign_in(user.email, PASSWORD)
    expect(pages.heading()).to_have_text("This form expired")
    check("error: expired form")

    assert len(seen) == 11
    assert branded.logo_requests and all(url == LOGO for url in branded.logo_requests)


def test_pages_of_another_app_carry_none_of_this_brand(page, pages, branded, app_a):
    page.goto(app_a.authorize_url())
    expect(pages.heading()).to_have_text("Sign in to continue to Alpha Notes")
    assert page.locator("img#app-logo").count() == 0
    assert page.locator("nav.app-links").count() == 0
    button = page.get_by_role("button", name="Sign in")
    assert button.evaluate("(e) => getComputedStyle(e).backgroundColor") != BRAND_RGB
    assert page.evaluate("window.__cspViolations") == []


def test_the_policy_refuses_any_other_image_origin(context, branded):
    """The listener above is not blind: an image from elsewhere is refused and recorded
    (a tab of its own: the ``page`` fixture would fail on the console error)."""
    tab = context.new_page()
    tab.goto(branded.authorize_url())
    tab.evaluate(
        """() => new Promise((done) => {
             const img = new Image();
             img.onerror = done;
             img.src = "https://tracker.example/pixel.png";
             document.body.append(img);
           })"""
    )
    assert tab.evaluate("window.__cspViolations") == ["img-src https://tracker.example/pixel.png"]
    tab.close()


def test_an_injected_style_block_is_refused(context, branded):
    """Only the brand's own style block is allowed (by its hash), not any inline style."""
    tab = context.new_page()
    tab.goto(branded.authorize_url())
    tab.evaluate(
        """() => { const s = document.createElement("style");
                   s.textContent = ":root{--accent:#ff0000}"; document.head.append(s); }"""
    )
    tab.wait_for_function("window.__cspViolations.length > 0")
    assert tab.evaluate("window.__cspViolations")[0].startswith("style-src")
    button = tab.get_by_role("button", name="Sign in")
    assert button.evaluate("(e) => getComputedStyle(e).backgroundColor") == BRAND_RGB
    tab.close()
