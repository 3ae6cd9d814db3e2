"""Per-app spend limits: counted in the consume's (or hold's) transaction, refused with a
402 ``spend_limit_reached`` naming the limit and when it resets; exact under 50
concurrent consumes on PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from idp.core.db_types import utcnow
from idp.core.extensions import db
from wallet import ledger, preferences, spend_limits
from wallet.models import Wallet
from wallet.preference_models import DAY, MONTH, SpendLimit

from .actions import entries, fund, stored
from .test_concurrency import concurrently, consume, on_postgres

pytestmark = pytest.mark.postgres


def limit(user, client_id: str, day=None, month=None) -> None:
    wallet = ledger.wallet_for(user.id)
    preferences.set_spend_limits(wallet.id, client_id, {DAY: day, MONTH: month})


def watched(user) -> bool:
    db.session.expire_all()
    return db.session.scalar(select(Wallet.watched).where(Wallet.user_id == user.id))


def spent(user, client_id: str, period: str) -> int:
    db.session.expire_all()
    wallet = ledger.wallet_for(user.id)
    return db.session.get(SpendLimit, (wallet.id, client_id, period)).spent


def midnight_after(now: datetime) -> str:
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day + timedelta(days=1)).isoformat().replace("+00:00", "Z")


def test_a_daily_limit_refuses_what_would_pass_it(shop_credits, user):
    fund(user, 1000)
    limit(user, "shop", day=50)
    assert watched(user)
    assert shop_credits.consume(30).status_code == 201
    refused = shop_credits.consume(30)
    assert refused.status_code == 402
    body = refused.json
    assert body["error"] == "spend_limit_reached"
    assert (body["limit"], body["period"], body["remaining"]) == (50, "day", 20)
    assert body["resets_at"] == midnight_after(utcnow())
    assert stored(user) == (970, 0)  # the refused consume wrote nothing
    assert len(entries(user, "consume")) == 1
    assert spent(user, "shop", DAY) == 30
    assert shop_credits.consume(20).status_code == 201  # exactly up to the cap


def test_the_limit_is_the_apps_own(shop_credits, blog_credits, user):
    fund(user, 1000)
    limit(user, "shop", day=10)
    assert shop_credits.consume(11).status_code == 402
    assert blog_credits.consume(11).status_code == 201


def test_a_monthly_limit_and_its_reset_time(shop_credits, user):
    fund(user, 1000)
    limit(user, "shop", day=500, month=40)
    assert shop_credits.consume(40).status_code == 201
    refused = shop_credits.consume(1)
    assert (refused.json["period"], refused.json["limit"], refused.json["remaining"]) == (
        "month",
        40,
        0,
    )
    resets = datetime.fromisoformat(refused.json["resets_at"].replace("Z", "+00:00"))
    assert resets.day == 1 and resets > utcnow() and (resets.hour, resets.minute) == (0, 0)
    assert resets - utcnow() <= timedelta(days=31)


def test_a_new_window_starts_from_zero(shop_credits, user):
    fund(user, 1000)
    limit(user, "shop", day=50)
    assert shop_credits.consume(50).status_code == 201
    assert shop_credits.consume(1).status_code == 402
    yesterday = spend_limits.window_start(DAY, utcnow()) - timedelta(days=1)
    db.session.execute(update(SpendLimit).values(window_start=yesterday))
    db.session.commit()
    assert shop_credits.consume(50).status_code == 201
    assert spent(user, "shop", DAY) == 50


def test_a_hold_counts_and_a_release_gives_it_back(shop_credits, user):
    fund(user, 1000)
    limit(user, "shop", day=100)
    hold = shop_credits.hold_id(80)
    refused = shop_credits.hold(30)
    assert (refused.status_code, refused.json["error"]) == (402, "spend_limit_reached")
    assert shop_credits.consume(30).status_code == 402
    assert shop_credits.capture(hold, 50).status_code == 200  # a capture never fails on it
    assert spent(user, "shop", DAY) == 50  # the 30 left uncaptured came back
    other = shop_credits.hold_id(50)
    assert shop_credits.release(other).status_code == 200
    assert spent(user, "shop", DAY) == 50
    assert shop_credits.consume(50).status_code == 201


def test_a_hold_placed_before_the_limit_gives_nothing_back(shop_credits, user):
    fund(user, 1000)
    hold = shop_credits.hold_id(80)  # not counted: no limit yet
    limit(user, "shop", day=100)
    assert shop_credits.consume(90).status_code == 201
    assert shop_credits.capture(hold, 10).status_code == 200
    assert spent(user, "shop", DAY) == 90  # its 70 uncaptured were never counted
    assert shop_credits.consume(20).status_code == 402


def test_removing_the_limits_unwatches_the_wallet(shop_credits, user):
    fund(user, 100)
    limit(user, "shop", day=10)
    assert watched(user)
    limit(user, "shop")
    assert not watched(user)
    assert shop_credits.consume(50).status_code == 201


def test_an_unwatched_wallet_takes_the_short_path(shop_credits, user, app):
    """No limit, no top-up, no mail: the consume is the short path's one statement (no
    listener work: the ORM entry of the full path never appears)."""
    fund(user, 100)
    seen = []
    ledger.register_change_listener(app, seen.append)
    try:
        assert shop_credits.consume(5).status_code == 201
    finally:
        app.extensions[ledger._LISTENERS].remove(seen.append)
    [applied] = seen
    assert not isinstance(applied.entry, type(entries(user)[0]))


@pytest.mark.parametrize(
    ("day", "month", "field"),
    [(0, None, DAY), (-5, None, DAY), (None, 0, MONTH), (spend_limits.MAX_CAP + 1, None, DAY)],
)
def test_a_limit_is_a_positive_number(user, apps, day, month, field):
    from wallet.errors import WalletError

    apps.partner("shop", "openid credits:consume")
    with pytest.raises(WalletError) as refused:
        limit(user, "shop", day=day, month=month)
    assert refused.value.extra["field"] == field


@on_postgres
def test_fifty_concurrent_consumes_never_pass_the_cap(app, committed_db, shop_credits, user):
    fund(user, 10_000)
    limit(user, "shop", day=200)
    responses = concurrently(app, 50, consume(shop_credits.token, 10, "lim-{i}"))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 20, 402: 30}
    assert {r.json["error"] for r in responses if r.status_code == 402} == {"spend_limit_reached"}
    assert spent(user, "shop", DAY) == 200
    assert stored(user) == (10_000 - 200, 0)
    assert len(entries(user, "consume")) == 20
