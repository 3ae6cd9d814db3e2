"""The purchase pages as a person sees them in Chromium, on a desktop (1280x800) and a
phone (390x844): nothing wider than the screen even with a very long app name, buttons
named for what they buy, a live total, a field error that keeps the typed amount and
takes the focus, controls at 3:1 contrast, "Processing payment…" with a progress
indicator (still under prefers-reduced-motion) that becomes "N credits added", and
"Check again" beside its button.

Screenshots of every state go to tests/browser/screenshots/ (git-ignored) for a reviewer."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from idp.core.extensions import db
from tests.helpers import PASSWORD
from tests.live import serve
from wallet import billing, packages

SHOTS = Path(__file__).parent / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
BOTH = pytest.mark.parametrize("context", [PHONE, DESKTOP], indirect=True, ids=["phone", "desktop"])
# One word, so only an explicit break opportunity keeps it inside a phone's width.
LONG_NAME = "SupercalifragilisticexpialidociousStoryboardingStudioInternationalEdition"
RESUME = "/account"


@pytest.fixture
def shop_idp(committed_db, make_app, apps):
    """The IdP over HTTP with the simulated checkout, in USD at $0.01 a credit."""
    simulated = {
        "IDP_PAYMENTS": "simulated",
        "IDP_STRIPE_SECRET_KEY": None,
        "IDP_STRIPE_WEBHOOK_SECRET": None,
        "IDP_STRIPE_API_BASE": None,
        "IDP_CREDIT_UNIT_PRICE": 1,
        "IDP_CREDIT_CURRENCY": "usd",
    }
    with serve(make_app, **simulated) as url:
        yield url


@pytest.fixture
def studio(shop_idp, apps, callback_server):
    """An app with a very long name, two packs and a plan on sale."""
    packages.create("starter", "Starter", 500, 500, "usd")
    packages.create("bundle", "Bundle", 1200, 1000, "usd")
    packages.create("pro", "Pro", 1000, 900, "usd", None, "month")
    return apps.create(
        client_id="studio",
        name=LONG_NAME,
        type="public",
        redirect_uris=[f"{callback_server.url}/cb"],
        allowed_scopes="openid credits:read credits:purchase",
    )


def open_purchase(page, idp: str, user) -> None:
    """The purchase page for the app, signing in on the way; its scripts have run."""
    page.goto(f"{idp}/purchase?{urlencode({'client_id': 'studio', 'return_to': RESUME})}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sign in")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Buy credits")
    page.wait_for_load_state("load")


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}-{page.viewport_size['width']}.png", full_page=True)


def assert_fits(page) -> None:
    """Nothing scrolls sideways, and the app's name (if shown) is inside the screen.  A phone's
    browser widens its layout viewport (innerWidth) to content that overflows, so the
    page's width is also compared with the screen's."""
    page.wait_for_load_state("load")
    screen = page.viewport_size["width"]
    wide, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert wide <= inner == screen, (wide, inner, screen)
    for name in [n.bounding_box() for n in page.locator(".app-name").all()]:
        assert name["x"] >= 0 and name["x"] + name["width"] <= screen, name


def contrast(page, selector: str, prop: str) -> float:
    """Contrast ratio (WCAG 2.x) of ``selector``'s computed ``prop`` against white."""
    color = page.locator(selector).first.evaluate(f"e => getComputedStyle(e).{prop}")
    red, green, blue = (int(c) / 255 for c in re.findall(r"\d+", color)[:3])

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    lum = 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)
    return 1.05 / (lum + 0.05)


@BOTH
def test_the_purchase_page_fits_and_names_each_button(page, shop_idp, studio, user):
    open_purchase(page, shop_idp, user)
    assert_fits(page)
    names = [b.inner_text() for b in page.locator("main button").all()]
    assert names == [
        "Buy 500 credits for $5.00",
        "Buy 1,200 credits for $10.00",
        "Subscribe: Pro, $9.00/month",
        "Buy credits",
    ]
    expect(page.get_by_text("1,200 credits · $10.00 · $0.0083 per credit")).to_be_visible()
    expect(page.get_by_text("$0.01 per credit", exact=True)).to_be_visible()
    skip = page.get_by_role("link", name="Skip for now")
    expect(skip).to_have_attribute("href", RESUME)
    shot(page, "purchase")


@BOTH
def test_the_total_follows_what_is_typed(page, shop_idp, studio, user):
    open_purchase(page, shop_idp, user)
    amount = page.get_by_label("Number of credits")
    total = page.locator("#amount-total")
    amount.fill("1234")
    expect(total).to_have_text("Total: $12.34")
    expect(page.locator("#amount-buy")).to_have_text("Buy 1,234 credits")
    amount.fill("2,500,000")
    expect(total).to_have_text("Total: $25,000.00")
    amount.fill("lots")
    expect(total).to_have_text("Enter a whole number of credits from 1 to 1,000,000,000.")
    expect(page.locator("#amount-buy")).to_have_text("Buy credits")
    amount.fill("")
    expect(total).to_have_text("")
    amount.fill("99")
    shot(page, "purchase-total")
    page.get_by_role("button", name="Buy 99 credits").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Simulated checkout")
    expect(page.get_by_text("99 credits: $0.99")).to_be_visible()


@BOTH
def test_a_bad_amount_is_shown_at_the_field_which_has_the_focus(page, shop_idp, studio, user):
    open_purchase(page, shop_idp, user)
    page.get_by_label("Number of credits").fill("0")
    page.get_by_role("button", name="Buy credits").click()
    error = page.locator("#amount-error")
    expect(error).to_have_text("Enter a whole number of credits from 1 to 1,000,000,000.")
    amount = page.get_by_label("Number of credits")
    expect(amount).to_be_focused()
    expect(amount).to_have_value("0")
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_have_text([error.inner_text()])  # no banner too
    assert_fits(page)
    shot(page, "purchase-error")


@BOTH
def test_controls_keep_three_to_one_against_white(page, shop_idp, studio, user):
    open_purchase(page, shop_idp, user)
    assert contrast(page, "#amount", "borderTopColor") >= 3
    assert contrast(page, "#skip", "borderTopColor") >= 3
    page.get_by_label("Number of credits").focus()
    assert contrast(page, "#amount", "outlineColor") >= 3
    page.keyboard.press("Tab")
    assert contrast(page, "#amount-buy", "outlineColor") >= 3


@BOTH
def test_an_error_outside_a_field_takes_the_focus(page, shop_idp, studio, user):
    open_purchase(page, shop_idp, user)
    packages.set_active("bundle", False)  # taken off sale while the page was open
    page.get_by_role("button", name="Buy 1,200 credits for $10.00").click()
    banner = page.locator("#form-error")
    expect(banner).to_have_text("No such package on sale.")
    expect(banner).to_be_focused()
    assert_fits(page)


def start_checkout(page, shop_idp, user) -> str:
    """Choose the Starter pack and stop at the (simulated) checkout; its URL."""
    open_purchase(page, shop_idp, user)
    page.get_by_role("button", name="Buy 500 credits for $5.00").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Simulated checkout")
    expect(page.get_by_role("button", name="Pay $5.00")).to_be_visible()
    assert_fits(page)
    shot(page, "purchase-simulated-checkout")
    return page.url


def same_line(first, second) -> bool:
    """Two elements side by side: their boxes overlap vertically, the second to the right."""
    a, b = first.bounding_box(), second.bounding_box()
    return b["y"] < a["y"] + a["height"] and a["y"] < b["y"] + b["height"] and b["x"] >= a["x"]


@BOTH
def test_the_success_page_waits_honestly_then_says_what_was_added(
    page, context, shop_idp, studio, user
):
    checkout = start_checkout(page, shop_idp, user)
    session_id = checkout.split("/purchase/simulated/")[1].split("?")[0]
    query = urlencode({"session_id": session_id, "client_id": "studio", "return_to": RESUME})
    page.goto(f"{shop_idp}/purchase/success?{query}")

    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("Processing payment…")
    spinner = page.locator("#status-spinner")
    expect(spinner).to_be_visible()
    assert spinner.evaluate("e => getComputedStyle(e).animationName") == "purchase-spin"
    again = page.get_by_role("link", name="Check again")
    assert same_line(page.locator("#continue"), again)
    assert_fits(page)
    shot(page, "success-processing")

    payer = context.new_page()  # the payment confirmed elsewhere while this page polls
    payer.goto(checkout)
    payer.get_by_role("button", name=re.compile("^Pay")).click()
    expect(payer.get_by_role("heading", level=1)).to_have_text("Thank you for your purchase")
    payer.close()

    expect(heading).to_have_text("Thank you for your purchase")
    expect(page.get_by_role("status").first).to_contain_text("500 credits added")
    expect(page.locator("#status-balance")).to_have_text("500")
    expect(spinner).to_be_hidden()
    expect(again).to_be_hidden()
    assert page.title().startswith("Thank you for your purchase")
    assert_fits(page)
    shot(page, "success-credited")


@BOTH
def test_a_failed_payment_says_so_and_offers_to_try_again(page, shop_idp, studio, user):
    checkout = start_checkout(page, shop_idp, user)
    session_id = checkout.split("/purchase/simulated/")[1].split("?")[0]
    billing.advance_checkout(billing.checkout(session_id), "failed")  # as its webhook does
    db.session.commit()
    query = urlencode({"session_id": session_id, "client_id": "studio", "return_to": RESUME})
    page.goto(f"{shop_idp}/purchase/success?{query}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Payment failed")
    expect(page.locator("#status-spinner")).to_be_hidden()
    expect(page.locator("#status-text")).to_have_class("message error progress")
    again = page.get_by_role("link", name="Try again")
    assert same_line(page.locator("#continue"), again)
    assert_fits(page)
    shot(page, "success-failed")
    again.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Buy credits")
    expect(page.get_by_role("link", name="Skip for now")).to_have_attribute("href", RESUME)


@pytest.mark.parametrize("context", [{**PHONE, "reduced_motion": "reduce"}], indirect=True)
def test_the_progress_indicator_keeps_still_for_reduced_motion(page, shop_idp, studio, user):
    checkout = start_checkout(page, shop_idp, user)
    session_id = checkout.split("/purchase/simulated/")[1].split("?")[0]
    page.goto(f"{shop_idp}/purchase/success?session_id={session_id}&client_id=studio")
    spinner = page.locator("#status-spinner")
    expect(spinner).to_be_visible()
    assert spinner.evaluate("e => getComputedStyle(e).animationName") == "none"
