"""The hosted purchase pages opened by the JS SDK in a popup (``mode=popup``): they hand
the outcome to the opener, posting only to the app's registered origin, once the wallet
is credited or the purchase cancelled.  The browser side (postMessage, closing) is in
tests/browser/test_purchase_popup.py and the SDK's own Chromium tests."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.helpers import csrf_of
from tests.pages.html import read

from .payment_fixtures import stripe_settings
from .test_purchase_page import local, simulated_browser


@pytest.fixture
def app_settings(fake_stripe):
    return stripe_settings(fake_stripe)


POPUP = {
    "mode": "popup",
    "client_id": "store",
    "state": "corr-123_abc",
    "origin": "https://www.store.example:8443",
}


def handoff(response) -> dict | None:
    """The hand-off element's attributes, or None."""
    found = [a for a in read(response.data).all("div") if a.get("id") == "popup-handoff"]
    return found[0] if found else None


def scripts(response) -> list[str]:
    return [a["src"] for a in read(response.data).all("script")]


def carried_return_to(response) -> str:
    values = {a["value"] for a in read(response.data).all("input") if a.get("name") == "return_to"}
    assert len(values) == 1, values
    return values.pop()


def test_landing_in_popup_mode(signed_in, store, catalogue):
    response = signed_in.get("/purchase", query_string=POPUP)
    assert response.status_code == 200
    found = handoff(response)
    assert found["data-target-origin"] == "https://www.store.example:8443"
    assert found["data-state"] == "corr-123_abc"
    assert "data-outcome" not in found
    assert (found["data-balance"], found["data-available"]) == ("0", "0")
    assert "/static/idp/popup_handoff.js" in scripts(response)
    page = read(response.data)
    assert "Cancel and close" in page.text
    assert not any(a.get("href", "").startswith("/oauth") for a in page.all("a"))
    # Every form carries the popup on: the checkout comes back to it.
    back = carried_return_to(response)
    assert urlsplit(back).path == "/purchase"
    assert {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()} == POPUP


def test_origin_not_registered_falls_back_to_the_apps_first(signed_in, store, catalogue):
    response = signed_in.get("/purchase", query_string={**POPUP, "origin": "https://evil.example"})
    assert handoff(response)["data-target-origin"] == "https://store.example"


def test_no_origin_named_uses_the_apps_first(signed_in, store, catalogue):
    query = {k: v for k, v in POPUP.items() if k != "origin"}
    assert handoff(signed_in.get("/purchase", query_string=query))["data-target-origin"] == (
        "https://store.example"
    )


@pytest.mark.parametrize(
    "change",
    [
        {"mode": "page"},
        {"state": ""},
        {"state": "<script>"},
        {"state": "x" * 129},
        {"client_id": "nobody"},
    ],
)
def test_no_handoff_without_a_valid_popup_request(signed_in, store, catalogue, change):
    response = signed_in.get("/purchase", query_string={**POPUP, **change})
    assert response.status_code == 200
    assert handoff(response) is None
    assert "/static/idp/popup_handoff.js" not in scripts(response)


def test_no_handoff_for_an_app_without_a_registered_origin(signed_in, apps, catalogue):
    apps.create(client_id="cli-tool", name="CLI", redirect_uris=["https://cli.example/cb"])
    response = signed_in.get("/purchase", query_string={**POPUP, "client_id": "cli-tool"})
    assert handoff(response) is None


def test_target_origin_is_never_a_wildcard(signed_in, store, catalogue):
    response = signed_in.get("/purchase", query_string={**POPUP, "origin": "*"})
    assert handoff(response)["data-target-origin"] == "https://store.example"


def test_preselected_package_and_amount(signed_in, store, catalogue):
    response = signed_in.get("/purchase", query_string={**POPUP, "package_id": "bundle"})
    selected = [a for a in read(response.data).all("li") if a.get("class") == "selected"]
    assert [a["data-package-id"] for a in selected] == ["bundle"]
    response = signed_in.get("/purchase", query_string={**POPUP, "amount": "25"})
    amount = [a for a in read(response.data).all("input") if a.get("name") == "amount"]
    assert amount[0]["value"] == "25"


@pytest.mark.parametrize("amount", ["0", "-5", "1e3", "\uff19", "9" * 40])
def test_a_bad_preset_amount_is_ignored(signed_in, store, catalogue, amount):
    response = signed_in.get("/purchase", query_string={**POPUP, "amount": amount})
    assert response.status_code == 200
    field = [a for a in read(response.data).all("input") if a.get("name") == "amount"]
    assert field[0]["value"] == ""


def test_signed_out_popup_signs_in_and_comes_back(client, store, catalogue):
    response = client.get("/purchase", query_string=POPUP)
    assert response.status_code == 302
    back = parse_qs(urlsplit(response.headers["Location"]).query)["return_to"][0]
    assert back.startswith("/purchase?") and "mode=popup" in back and "state=corr-123_abc" in back


def _checkout(http, **form):
    page = http.get("/purchase", query_string=POPUP)
    data = {
        "csrf_token": csrf_of(page.data),
        "client_id": "store",
        "return_to": carried_return_to(page),
        **form,
    }
    started = http.post("/purchase", data=data)
    assert started.status_code == 303, started.data[:300]
    return local(started.headers["Location"])


def test_simulated_purchase_hands_off_from_the_success_page(make_app, user, store, catalogue):
    _, http = simulated_browser(make_app)
    checkout_url = _checkout(http, package_id="starter")
    page = http.get(checkout_url)
    paid = http.post(
        checkout_url.split("?")[0],
        data={"csrf_token": csrf_of(page.data), "state": checkout_url.split("state=")[1]},
    )
    success = http.get(local(paid.headers["Location"]))
    assert success.status_code == 200
    found = handoff(success)
    session_id = checkout_url.split("/")[3].split("?")[0]
    assert found["data-checkout-id"] == session_id
    assert found["data-target-origin"] == "https://www.store.example:8443"
    assert found["data-state"] == "corr-123_abc"
    assert found["data-available"] == "100"  # the webhook credited it before this page
    assert scripts(success)[-2:] == ["/static/idp/popup_handoff.js", "/static/idp/purchase.js"]
    assert "Close" in read(success.data).text


def test_cancelled_checkout_reports_cancelled(make_app, user, store, catalogue):
    _, http = simulated_browser(make_app)
    checkout_url = _checkout(http, amount="7")
    page = read(http.get(checkout_url).data)
    cancel = next(a["href"] for a in page.all("a") if a.get("href", "").endswith("cancelled=1"))
    landing = http.get(local(cancel))
    assert landing.status_code == 200
    found = handoff(landing)
    assert found["data-outcome"] == "cancelled"
    assert found["data-state"] == "corr-123_abc"


def test_pages_outside_the_popup_are_unchanged(signed_in, store, catalogue):
    response = signed_in.get("/purchase", query_string={"client_id": "store"})
    assert handoff(response) is None
    assert "Skip for now Back to Store" in read(response.data).text
