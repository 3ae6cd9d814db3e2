"""Both languages in Chromium (issue 17): the browser's language chooses, ui_locales from
the authorization request wins and carries through the flow, the switcher changes it, the
script's words follow the page, and the longer French strings still fit a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.helpers import PASSWORD

from .test_purchase_pages import assert_fits

FRENCH = {"locale": "fr-FR"}
PHONE_FR = {"locale": "fr-FR", "viewport": {"width": 390, "height": 844}, "is_mobile": True}


@pytest.mark.parametrize("context", [FRENCH], indirect=True)
def test_a_french_browser_gets_french_pages_and_script_words(page, idp, user):
    page.goto(f"{idp}/login")

    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter")
    toggle = page.get_by_role("button", name="Afficher le mot de passe")
    toggle.click()
    expect(page.get_by_role("button", name="Masquer le mot de passe")).to_be_visible()

    page.get_by_label("Adresse e-mail").fill(user.email)
    page.get_by_label("Mot de passe", exact=True).fill("not the password")
    page.get_by_role("button", name="Se connecter").click()

    expect(page.get_by_role("alert")).to_contain_text("mot de passe est incorrect")


def test_ui_locales_carries_through_the_flow(page, idp, user, app_a):
    page.goto(app_a.authorize_url("openid email", ui_locales="fr"))

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Connectez-vous pour continuer vers Alpha Notes"
    )
    page.get_by_label("Adresse e-mail").fill(user.email)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Alpha Notes souhaite accéder à votre compte"
    )
    page.get_by_role("button", name="Autoriser").click()
    page.wait_for_url(app_a.is_callback)
    assert app_a.assert_code_received()


def test_the_switcher_beats_the_apps_hint_for_the_rest_of_the_flow(page, idp, user, app_a):
    page.goto(app_a.authorize_url("openid email", ui_locales="fr"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")

    page.get_by_role("navigation", name="Langue").get_by_role("link", name="English").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to continue to Alpha Notes")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Alpha Notes wants to access your account"
    )
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(app_a.is_callback)


@pytest.mark.parametrize("context", [PHONE_FR], indirect=True)
@pytest.mark.parametrize("path", ["/login", "/signup", "/forgot", "/account", "/nowhere"])
def test_french_pages_fit_a_phone(page, idp, path):
    page.goto(f"{idp}{path}")

    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert_fits(page)
