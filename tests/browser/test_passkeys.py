"""Passkeys in Chromium with a virtual WebAuthn authenticator (Chrome DevTools Protocol
``WebAuthn.addVirtualAuthenticator``): register one on the account page after the
password, sign in with it instead of the password (the button, and the email field's
autofill), use it as the second step after the password, remove it.

WebAuthn needs a domain: Chromium refuses an IP address as relying-party id, so this IdP
is served with the issuer ``http://localhost:PORT`` (a secure context, like https)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from idp.core.extensions import db as _db
from idp.users.models import CrossAppSession
from idp.users.passkeys.models import Passkey
from tests.browser.actions import HostedPages
from tests.helpers import PASSWORD
from tests.live import serve

SHOTS = Path(__file__).parent / "screenshots"  # git-ignored, for a reviewer


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


@pytest.fixture
def idp(committed_db, make_app, apps):
    """The IdP over HTTP on loopback, its issuer named ``localhost``."""
    with serve(make_app, host="localhost") as url:
        yield url


class Authenticator:
    """A virtual platform authenticator attached to one tab (resident keys, user
    verification), answering at once (automatic presence)."""

    def __init__(self, page, verified: bool = True):
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable")
        options = {
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": True,
            "hasUserVerification": True,
            "isUserVerified": verified,
            "automaticPresenceSimulation": True,
        }
        added = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
        self.id = added["authenticatorId"]

    def credentials(self) -> list[dict]:
        found = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})
        return found["credentials"]


def no_autofill(page) -> None:
    """This tab's browser offers no conditional mediation: otherwise the sign-in page's
    pending autofill request is answered at once by the virtual authenticator (it
    simulates the person's presence), before the test can click or type anything."""
    page.add_init_script(
        "PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);"
    )


def sign_in_with_password(page, idp: str, user) -> HostedPages:
    pages = HostedPages(page, idp)
    page.goto(f"{idp}/account")
    pages.sign_in(user.email, PASSWORD)
    return pages


def add_passkey(page, name: str = "Test laptop") -> None:
    """From the account page: the password again, then the ceremony."""
    page.get_by_role("link", name="Add a passkey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a passkey")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("Name of this passkey")).to_have_value(re.compile("Chrome on Linux"))
    shot(page, "passkeys-add")
    page.get_by_label("Name of this passkey").fill(name)
    page.get_by_role("button", name="Create passkey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")


def newest_session() -> CrossAppSession:
    _db.session.rollback()
    query = select(CrossAppSession).order_by(CrossAppSession.id.desc())
    return _db.session.scalars(query).first()


def passkeys() -> list[Passkey]:
    _db.session.rollback()
    return list(_db.session.scalars(select(Passkey)))


def test_register_then_sign_in_without_a_password(page, context, idp, user, mailbox):
    no_autofill(page)
    authenticator = Authenticator(page)
    sign_in_with_password(page, idp, user)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    add_passkey(page)
    expect(page.get_by_role("status")).to_contain_text("was added")
    row = page.locator("li[data-passkey-id]")
    expect(row).to_contain_text("Test laptop")
    expect(row).to_contain_text("never used")
    shot(page, "passkeys-account")
    [credential] = authenticator.credentials()
    assert credential["isResidentCredential"] is True
    assert credential["rpId"] == "localhost"
    assert any(m["Subject"] == "A passkey was added to your account" for m in mailbox.messages)

    context.clear_cookies()  # signed out: a new visit, nothing remembered
    page.goto(f"{idp}/login")
    shot(page, "passkeys-login")
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    assert newest_session().amr.split() == ["hwk", "user", "mfa"]
    expect(page.locator("li[data-passkey-id]")).to_contain_text("last used")
    assert authenticator.credentials()[0]["signCount"] == passkeys()[0].sign_count


def test_the_email_field_offers_the_passkey(page, context, idp, user):
    """Conditional mediation: the sign-in page asks for a passkey as it opens; the
    virtual authenticator answers the pending request without a click on the button."""
    Authenticator(page)
    sign_in_with_password(page, idp, user)
    add_passkey(page)
    context.clear_cookies()
    available = page.evaluate("PublicKeyCredential.isConditionalMediationAvailable()")
    page.goto(f"{idp}/login?return_to=/account")
    expect(page.get_by_label("Email address")).to_have_attribute(
        "autocomplete", "username webauthn"
    )
    if not available:
        pytest.skip("this Chromium offers no conditional mediation")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")


def test_a_passkey_as_the_second_step(page, context, idp, user):
    no_autofill(page)
    Authenticator(page)
    sign_in_with_password(page, idp, user)
    add_passkey(page)
    context.clear_cookies()
    page.goto(f"{idp}/account")
    HostedPages(page, idp).sign_in(user.email, PASSWORD)
    # The password alone no longer signs in: the second step asks for the passkey (its
    # page at once when it is the account's only factor, else a link to it).
    page.wait_for_url(re.compile(r"/login/(second-factor|passkey)"))
    if "/login/second-factor" in page.url:
        page.get_by_role("link", name="Use a passkey instead").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it is you")
    shot(page, "passkeys-second-step")
    page.get_by_role("button", name="Use your passkey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    assert newest_session().amr.split() == ["pwd", "hwk", "user", "mfa"]


def test_remove_a_passkey(page, context, idp, user, mailbox):
    no_autofill(page)
    authenticator = Authenticator(page)
    sign_in_with_password(page, idp, user)
    add_passkey(page)
    page.get_by_role("link", name="Remove the passkey Test laptop").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Remove the passkey")
    page.get_by_label("Your password").fill("not the password")
    page.get_by_role("button", name="Remove passkey").click()
    expect(page.get_by_role("alert")).to_have_text("Your password is incorrect.")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Remove passkey").click()
    expect(page.get_by_role("status")).to_contain_text("was removed")
    expect(page.locator("li[data-passkey-id]")).to_have_count(0)
    assert passkeys() == []
    assert any(m["Subject"] == "A passkey was removed from your account" for m in mailbox.messages)

    # The authenticator still holds it; the sign-in page says, inline, it no longer works.
    assert len(authenticator.credentials()) == 1
    context.clear_cookies()
    page.goto(f"{idp}/login")
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.get_by_role("alert")).to_contain_text("not registered with your account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_cancelled_registration_is_said_inline(page, idp, user):
    """The person dismissed the browser's prompt (NotAllowedError): the page says so."""
    sign_in_with_password(page, idp, user)
    page.get_by_role("link", name="Add a passkey").click()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.evaluate(
        "() => { navigator.credentials.create = () => Promise.reject("
        "new DOMException('cancelled', 'NotAllowedError')); }"
    )
    page.get_by_role("button", name="Create passkey").click()
    expect(page.get_by_role("alert")).to_contain_text("No passkey was created")
    assert passkeys() == []


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.mark.parametrize("context", [PHONE], indirect=True, ids=["phone"])
def test_the_passkey_pages_fit_a_phone(page, idp, user):
    no_autofill(page)
    Authenticator(page)
    sign_in_with_password(page, idp, user)
    add_passkey(page, "Phone")
    for path in ("/account", "/account/passkeys/new", "/login"):
        page.goto(idp + path)
        page.wait_for_load_state("load")
        wide, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        assert wide <= inner == 390, (path, wide, inner)
