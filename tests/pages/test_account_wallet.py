"""The wallet's section of the account page (wallet.account through
idp.ui.account_sections): balance, reserved and available credits, a paged history and
"Buy credits" (or why credits cannot be bought here)."""

import pytest

from idp.ui.account_sections import _KEY, render_account_sections
from tests.helpers import Browser
from tests.pages.html import read, text
from wallet import account, holds, ledger, services


@pytest.fixture
def signed_in(client, user):
    assert Browser(client).login().status_code == 302
    return client


def entry_ids(response) -> list[int]:
    return [int(r["data-entry-id"]) for r in read(response.data).all("tr") if "data-entry-id" in r]


def test_shows_balance_held_available_and_history(app, signed_in, db, user, monkeypatch):
    monkeypatch.setitem(app.config, "IDP_PAYMENTS", "simulated")
    wallet = ledger.wallet_for(user.id)
    services.grant(wallet, 1500, "promo_grant", "test")
    holds.hold(wallet, 200, 600, "render", "k1", None, "test")

    page = signed_in.get("/account")

    words = text(page)
    assert "Credits Balance 1,500 Reserved by apps 200 Available 1,300" in words
    assert "Reserved render (200 reserved) 1,500" in words
    assert "Promotional credits +1,500 1,500" in words
    assert "Buy credits" in words
    assert 'href="/purchase?return_to=/account"' in page.get_data(as_text=True)


def test_a_new_account_reads_zero_and_gets_no_wallet(signed_in, db, user):
    from sqlalchemy import func, select

    from wallet.models import Wallet

    page = signed_in.get("/account")
    assert "Balance 0 Reserved by apps 0 Available 0" in text(page)
    assert "No credits have been added or used yet." in text(page)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Wallet)) == 0  # reading wrote nothing


def test_history_is_paged(signed_in, db, user):
    wallet = ledger.wallet_for(user.id)
    for _ in range(account.HISTORY_PAGE + 3):
        services.grant(wallet, 1, "promo_grant", "test")

    first = signed_in.get("/account")
    ids = entry_ids(first)
    assert len(ids) == account.HISTORY_PAGE and ids == sorted(ids, reverse=True)
    older = signed_in.get(f"/account?wallet_before={ids[-1]}")
    rest = entry_ids(older)
    assert len(rest) == 3 and max(rest) < min(ids)
    assert "Older entries" in text(first) and "Older entries" not in text(older)
    assert "Newest" in text(older)


def test_without_payments_it_says_so(app, signed_in, db, user, monkeypatch):
    monkeypatch.setitem(app.config, "IDP_PAYMENTS", "disabled")
    page = signed_in.get("/account")
    assert "Credits cannot be bought on this server yet" in text(page)
    assert "Buy credits" not in text(page)


def test_sections_render_what_they_return(app, db, user, monkeypatch):
    monkeypatch.setitem(
        app.extensions,
        _KEY,
        [lambda u: "<p>raw</p>", lambda u: None, lambda u: ("_carry.html", {})],
    )
    with app.test_request_context():
        rendered = render_account_sections(user)
    assert rendered[0] == "<p>raw</p>" and len(rendered) == 2
