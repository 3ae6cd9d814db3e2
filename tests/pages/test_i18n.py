"""The page language: ui_locales (OIDC Core 3.1.2.1), a remembered choice, Accept-Language;
English and French complete; the JSON API's error codes unchanged."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from idp.core import i18n
from tests.helpers import Browser, Flow, csrf_of
from tests.pages.html import read, text


def heading(response) -> str:
    [h1] = re.findall(r"<h1[^>]*>(.*?)</h1>", response.text, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", h1)).strip()


def lang(response) -> str:
    [html] = read(response.data).all("html")
    return html["lang"]


@pytest.mark.parametrize(
    ("accept", "expected", "title"),
    [
        ("fr-CA,fr;q=0.9,en;q=0.5", "fr", "Se connecter"),
        ("en-GB,en;q=0.9", "en", "Sign in"),
        ("de-DE,de;q=0.9", "en", "Sign in"),  # not offered: English
        (None, "en", "Sign in"),
        ("de;q=0.9,fr;q=0.8", "fr", "Se connecter"),  # the best offered one
    ],
)
def test_accept_language_chooses_when_nothing_else_does(client, accept, expected, title):
    headers = {"Accept-Language": accept} if accept else {}

    response = client.get("/login", headers=headers)

    assert response.status_code == 200
    assert lang(response) == expected
    assert heading(response) == title
    assert "Vary" in response.headers and "Accept-Language" in response.headers["Vary"]


def test_ui_locales_wins_over_accept_language(client):
    response = client.get("/signup?ui_locales=es%20fr-CA", headers={"Accept-Language": "en"})

    assert heading(response) == "Créez votre compte"  # the first supported of the list
    assert "idp_locale" not in response.headers.get("Set-Cookie", "")  # a hint, not a choice


def test_the_persons_choice_is_remembered_and_beats_the_apps_hint(client):
    switched = client.get("/login?lang=fr", headers={"Accept-Language": "en"})
    assert heading(switched) == "Se connecter"
    assert "idp_locale=fr" in switched.headers["Set-Cookie"]

    # Later pages, an English browser and an app asking for English: still French...
    assert heading(client.get("/account/x", headers={"Accept-Language": "en"})) == (
        "Page introuvable"
    )
    assert heading(client.get("/signup?ui_locales=en")) == "Créez votre compte"
    # ...until the person switches again.
    assert heading(client.get("/signup?lang=en")) == "Create your account"
    assert heading(client.get("/login", headers={"Accept-Language": "fr"})) == "Sign in"


def test_the_authorization_requests_ui_locales_carries_through_its_pages(client, apps, user, db):
    app = apps.partner("shop", "openid email")
    flow = Flow(client)
    authorize, _, url = flow.authorize(app, "openid email", ui_locales="fr")
    assert authorize.status_code == 302
    login_url = authorize.headers["Location"]

    login = client.get(login_url)
    assert heading(login) == "Connectez-vous pour continuer vers " + app["name"]
    # The sign-in form posts back with the flow's return_to: a refused attempt is French.
    failed = client.post(
        login_url,
        data={
            "email": user.email,
            "password": "wrong password!",
            "csrf_token": csrf_of(login.data),
        },
    )
    assert "L\u2019adresse e-mail ou le mot de passe est incorrect." in text(failed)

    signed_in = Browser(client).login(return_to=url)
    consent = client.get(signed_in.headers["Location"])
    assert heading(consent) == app["name"] + " souhaite accéder à votre compte"
    assert "Voir votre adresse e-mail" in text(consent)


def test_error_pages_and_messages_from_python_are_translated(client):
    response = client.get("/no-such-page", headers={"Accept-Language": "fr"})

    assert response.status_code == 404
    assert heading(response) == "Page introuvable"
    assert "not_found" in text(response)  # the code stays as it is, for support


def test_a_wait_in_words_has_french_plurals(app):
    from flask_babel import refresh

    from idp.ui import waits

    with app.test_request_context("/login", headers={"Accept-Language": "fr"}):
        assert waits.in_words(1) == "1 seconde"
        assert waits.in_words(300) == "5 minutes"
        assert waits.in_words(7200) == "2 heures"
    with app.test_request_context("/login"):
        refresh()  # the fixture's app context (and its g) outlives the request above
        assert waits.in_words(1) == "1 second"
        assert waits.in_words(7200) == "2 hours"


def test_json_errors_keep_their_codes_whatever_the_language(client):
    response = client.post(
        "/oauth/token", data={"grant_type": "nope"}, headers={"Accept-Language": "fr"}
    )

    assert response.status_code in (400, 401)
    assert response.json["error"] in {"unsupported_grant_type", "invalid_client"}


def test_discovery_names_the_languages(client):
    assert client.get("/.well-known/openid-configuration").json["ui_locales_supported"] == list(
        i18n.LOCALES
    )


def switcher(response) -> dict[str, str]:
    page = read(response.data)
    return {a.get("lang"): a["href"] for a in page.all("a") if a.get("hreflang")}


def test_the_switcher_links_to_the_same_page_in_each_language(client):
    resume = "/oauth/authorize?client_id=shop&state=xyz"
    response = client.get(f"/forgot?client_id=shop&return_to={quote(resume)}&state=leak&x=1")

    links = switcher(response)
    assert set(links) == set(i18n.LOCALES)
    for code, href in links.items():
        assert parse_qs(urlsplit(href).query) == {
            "client_id": ["shop"],
            "return_to": [resume],
            "lang": [code],
        }  # the carried parameters, nothing else of the query


def test_the_switcher_carries_no_unsafe_return_to_and_is_absent_on_protocol_pages(client):
    links = switcher(client.get("/login?return_to=https://evil.example/&client_id=a%00b"))
    assert all(urlsplit(href).query == f"lang={code}" for code, href in links.items())

    assert switcher(client.get("/oauth/logout?state=abc")) == {}


@pytest.mark.parametrize(
    ("tags", "expected"),
    [("fr", "fr"), ("FR-be en", "fr"), ("de en-US", "en"), ("", None), ("x " * 50, None)],
)
def test_supported_reads_a_ui_locales_list(tags, expected):
    assert i18n.supported(tags) == expected
