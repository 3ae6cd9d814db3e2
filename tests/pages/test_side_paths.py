"""Side paths keep the person in the app's flow: a reset, a sign-out, an expired form, a
rate limit, a wrong address all lead back to the app (issue 16); and the pages every
visitor may reach (``/``, a page that does not exist) speak to people."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from werkzeug.exceptions import TooManyRequests

from idp.ui import waits
from tests.helpers import PASSWORD, Browser, csrf_of, mail_link
from tests.pages.flows import forgot
from tests.pages.html import alerts, read, text

RESUME = "/oauth/authorize?client_id=shop&response_type=code&state=s1"
CARRY = {"client_id": "shop", "return_to": RESUME}


@pytest.fixture
def shop(apps):
    return apps.create(
        client_id="shop",
        name="Shop & Co",
        redirect_uris=["https://shop.example/cb"],
        allowed_origins=["https://shop.example"],
        allowed_scopes="openid profile",
        audience="https://shop.example",
    )


def links(response) -> dict[str, str]:
    """Link text -> href (unescaped) of the page's links."""
    html = response.get_data(as_text=True)
    return {
        unescape(re.sub(r"<[^>]+>", "", label)).strip(): unescape(href)
        for href, label in re.findall(r'<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>', html, re.S)
    }


def test_a_reset_asked_for_from_an_app_ends_back_in_the_app(client, db, user, shop, mailbox):
    url = "/forgot?" + urlencode(CARRY)
    form = {"email": user.email, "csrf_token": csrf_of(client.get(url).data), **CARRY}
    assert client.post(url, data=form).status_code == 200
    link = urlsplit(mail_link(mailbox))
    assert parse_qs(link.query) == {k: [v] for k, v in CARRY.items()}  # the mail carries them

    page = client.get(f"{link.path}?{link.query}")
    assert page.status_code == 200
    assert "Shop &amp; Co" in page.get_data(as_text=True)  # branded for the app
    done = client.post(
        f"{link.path}?{link.query}",
        data={"password": "a brand new passphrase", "csrf_token": csrf_of(page.data), **CARRY},
    )
    assert "Your password was changed." in text(done)
    hidden = {a["name"]: a["value"] for a in read(done.data).all("input") if a["type"] == "hidden"}
    assert hidden["client_id"] == "shop" and hidden["return_to"] == RESUME

    signed_in = Browser(client).login(user.email, "a brand new passphrase", **CARRY)
    assert signed_in.headers["Location"] == RESUME  # not /account


def test_the_reset_form_names_the_account_and_the_rule(client, db, user, mailbox):
    assert forgot(client, user.email).status_code == 200
    page = read(client.get(urlsplit(mail_link(mailbox)).path).data)
    [username] = [a for a in page.all("input") if a.get("autocomplete") == "username"]
    assert username["value"] == user.email and "hidden" in username
    [password] = [a for a in page.all("input") if a.get("name") == "password"]
    assert password["aria-describedby"] == "password-hint" and "autofocus" in password
    assert "At least 10 characters." in page.text


@pytest.mark.parametrize("where", ["/logout", "/oauth/logout"])
def test_the_signed_out_page_leads_back_to_the_app(app, db, user, shop, where):
    http = app.test_client()
    assert Browser(http).login().status_code == 302
    url = f"{where}?client_id=shop"
    confirm = http.get(url)
    assert links(confirm)["Back to Shop & Co"] == "https://shop.example/"
    done = http.post(url, data={"csrf_token": csrf_of(confirm.data)})

    assert "You are signed out" in text(done)
    found = links(done)
    assert found["Back to Shop & Co"] == "https://shop.example/"
    assert found["Sign in again"] == "/login?client_id=shop"


def test_an_expired_form_offers_the_get_of_its_own_page(client, db, user, shop):
    """Reloading would post the dead token again; "Try again" opens the form afresh."""
    url = "/login?" + urlencode(CARRY)
    client.get(url)
    refused = client.post(url, data={"email": user.email, "password": PASSWORD, **CARRY})

    assert refused.status_code == 400
    assert "Shop & Co This form expired" in read(refused.data).text
    found = links(refused)
    assert found["Try again"] == url
    assert found["Back to Shop & Co"] == "https://shop.example/"
    assert client.get(url).status_code == 200  # and that GET is the form


def test_a_form_that_answers_no_get_tries_again_from_nowhere_else(client, db, user):
    Browser(client).login()
    refused = client.post("/account/profile", data={"display_name": "x"})
    assert refused.status_code == 400
    assert "Try again" not in links(refused)  # /account/profile shows no page


def test_the_429_page_says_the_wait_and_the_ways_on(make_app, shop):
    node = make_app()

    def limited():
        waits.note(321)
        raise TooManyRequests(retry_after=321)

    node.add_url_rule("/limited-page", "limited_page", limited)
    response = node.test_client().get("/limited-page?client_id=shop")

    assert response.status_code == 429 and response.headers["Retry-After"] == "321"
    page = read(response.data)
    [alert] = page.alerts
    assert "You can try again in 6 minutes" in alert
    [countdown] = [p for p in page.all("p") if "data-countdown" in p]
    assert countdown["data-countdown"] == "321"
    found = links(response)
    assert found["Try again"] == "/limited-page?client_id=shop"
    assert found["Back to Shop & Co"] == "https://shop.example/"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(1, "1 second"), (59, "59 seconds"), (60, "1 minute"), (61, "2 minutes"), (321, "6 minutes"),
     (3600, "1 hour"), (3601, "2 hours")],
)  # fmt: skip
def test_waits_in_words_round_up(seconds, words):
    assert waits.in_words(seconds) == words


def test_the_landing_page_says_what_this_is(client, db, user):
    page = client.get("/")
    assert page.status_code == 200
    assert "signs you in to the apps that use it" in text(page)
    assert {"Sign in": "/login", "Create an account": "/signup"}.items() <= links(page).items()

    Browser(client).login()
    assert links(client.get("/"))["Your account"] == "/account"


def test_a_missing_page_is_a_page_not_found(client):
    response = client.get("/no/such/page?client_id=nobody")
    assert response.status_code == 404
    page = read(response.data)
    assert page.all("h1") and "Page not found" in page.text
    assert "requested URL was not found" not in page.text  # Werkzeug's words for developers
    assert links(response)["Home"] == "/"
    assert alerts(response) == [
        "There is nothing at this address. The link may be old or mistyped. "
        "Technical details Error code: not_found"
    ]


def test_an_unknown_app_is_told_as_an_app_set_up_problem(client):
    response = client.get("/oauth/authorize?client_id=nobody&response_type=code")
    assert response.status_code == 400
    page = read(response.data)
    assert "This app isn't set up correctly" in page.text
    [alert] = page.alerts
    assert alert.startswith("The app that sent you here made a request")
    assert "Technical details" in alert and "Error code: invalid_client" in alert
    assert "Try again" not in links(response)  # it would only be refused again
