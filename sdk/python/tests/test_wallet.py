"""WalletClient and AsyncWalletClient against the real wallet (PostgreSQL ledger)."""

from __future__ import annotations

import asyncio
import time

import pytest

import sdk_live as live
from cross_app_sdk import (
    AsyncWalletClient,
    HoldNotActive,
    IdempotencyConflict,
    InsufficientCredits,
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
    RateLimited,
    TokenVerifier,
    TransportError,
    UserToken,
    WalletClient,
)


@pytest.fixture(scope="module")
def bob_tokens(server, shop):
    return live.authorization_code_tokens(server.url, shop, "bob@example.com", live.WALLET)


@pytest.fixture
def wallet(server, shop, ada_tokens):  # ada_tokens: Ada has granted the shop the scopes
    with WalletClient(
        server.url, client_id="shop", client_secret=shop["client_secret"], backoff=0.05
    ) as client:
        yield client


@pytest.fixture
def proxy(server):
    p = live.Proxy(server.port)
    yield p
    p.close()


@pytest.fixture
def proxied(proxy, shop, ada_tokens):
    with WalletClient(
        proxy.url, client_id="shop", client_secret=shop["client_secret"], backoff=0.05
    ) as client:
        yield client


def test_balance_and_check(wallet, ada):
    state = wallet.balance(ada["sub"])
    assert state.available == state.balance - state.held and state.balance > 0
    assert any(p.id == "pack-10" and p.credits == 10 for p in state.packages)
    check = wallet.check(ada["sub"], state.available)
    assert check.sufficient and check.available == state.available
    assert not wallet.check(ada["sub"], state.available + 1).sufficient


def test_consume_is_idempotent(wallet, ada):
    before = wallet.balance(ada["sub"]).balance
    first = wallet.consume(ada["sub"], 3, "sdk-test", idempotency_key="consume-once")
    assert first.balance == before - 3 and not first.replayed
    assert first.transaction.amount == -3 and first.transaction.service == "sdk-test"
    again = wallet.consume(ada["sub"], 3, "sdk-test", idempotency_key="consume-once")
    assert again.replayed and again.transaction.id == first.transaction.id
    assert wallet.balance(ada["sub"]).balance == before - 3
    with pytest.raises(IdempotencyConflict) as caught:
        wallet.consume(ada["sub"], 4, "sdk-test", idempotency_key="consume-once")
    assert caught.value.status_code == 409


def test_a_generated_key_differs_per_call(wallet, ada):
    before = wallet.balance(ada["sub"]).balance
    wallet.consume(ada["sub"], 1, "sdk-test")
    wallet.consume(ada["sub"], 1, "sdk-test")
    assert wallet.balance(ada["sub"]).balance == before - 2


def test_insufficient_credits_carries_the_balance(server, bob_tokens):
    with WalletClient(server.url) as client, pytest.raises(InsufficientCredits) as caught:
        client.consume(UserToken(bob_tokens["access_token"]), 1, "sdk-test")
    assert caught.value.status_code == 402
    assert (caught.value.balance, caught.value.available) == (0, 0)


def test_the_users_own_token_and_verified_claims(server, ada_tokens):
    claims = TokenVerifier(server.url, "https://shop.example").verify(ada_tokens["access_token"])
    with WalletClient(server.url) as client:
        by_token = client.balance(UserToken(ada_tokens["access_token"]))
        by_claims = client.balance(claims)
    assert by_token.balance == by_claims.balance


def test_hold_capture_as_a_context_manager(wallet, ada):
    before = wallet.balance(ada["sub"])
    with wallet.hold(ada["sub"], 10, ttl=60, service="render") as hold:
        assert wallet.balance(ada["sub"]).held == before.held + 10
        result = hold.capture(7)
    assert result.hold.status == "captured" and result.hold.captured == 7
    after = wallet.balance(ada["sub"])
    assert (after.balance, after.held) == (before.balance - 7, before.held)
    with pytest.raises(HoldNotActive):
        wallet.capture(ada["sub"], hold.id, 1)


def test_a_hold_is_released_when_the_block_raises(wallet, ada):
    before = wallet.balance(ada["sub"])
    with pytest.raises(RuntimeError), wallet.hold(ada["sub"], 5, ttl=60, service="x") as hold:
        raise RuntimeError("the work failed")
    assert wallet.get_hold(ada["sub"], hold.id).status == "released"
    assert wallet.balance(ada["sub"]) == before


def test_release_and_capture_by_id(wallet, ada):
    hold = wallet.hold(ada["sub"], 2, ttl=60, service="x")
    assert wallet.release(ada["sub"], hold.id).hold.status == "released"
    with pytest.raises(HoldNotActive) as caught:
        wallet.release(ada["sub"], hold.id)
    assert caught.value.status_code == 409


def test_insufficient_for_a_hold(wallet, ada):
    available = wallet.balance(ada["sub"]).available
    with pytest.raises(InsufficientCredits) as caught:
        wallet.hold(ada["sub"], available + 1, ttl=60, service="x")
    assert caught.value.available == available


def test_transactions_iterate_over_pages(wallet, ada):
    for _ in range(3):
        wallet.consume(ada["sub"], 1, "paged")
    entries = list(wallet.transactions(ada["sub"], limit=2))
    ids = [e.id for e in entries]
    assert len(ids) >= 5 and ids == sorted(set(ids), reverse=True)
    assert entries[0].service == "paged"


def test_purchase_url(wallet, ada, server):
    url = wallet.purchase_url(
        ada["sub"], "pack-10", success_url="https://shop.example/ok",
        cancel_url="https://shop.example/no",
    )  # fmt: skip
    assert url.startswith(server.url + "/")


def test_another_apps_user_is_refused(server, services, bob):
    other = services.data["other"]
    secret = other["client_secret"]
    with (
        WalletClient(server.url, client_id="other", client_secret=secret) as c,
        pytest.raises(InsufficientScope) as caught,
    ):
        c.balance(bob["sub"])
    assert caught.value.status_code == 403 and caught.value.missing == ("credits:read",)


def test_a_bad_user_token_is_invalid_token(server):
    with WalletClient(server.url) as client, pytest.raises(InvalidToken):
        client.balance(UserToken("not-a-token"))


def test_the_app_token_is_fetched_once(server, shop, ada):
    with WalletClient(server.url, client_id="shop", client_secret=shop["client_secret"]) as c:
        before = server.settle("POST /oauth/token")
        for _ in range(4):
            c.balance(ada["sub"])
        assert server.settle("POST /oauth/token") == before + 1


def test_a_retry_after_a_dropped_connection_charges_once(proxied, proxy, wallet, ada):
    before = wallet.balance(ada["sub"]).balance
    proxy.drop(1, "/api/cross-app/credits/consume")
    result = proxied.consume(ada["sub"], 4, "flaky-network")
    assert result.replayed  # the first attempt was applied; the retry found it
    consumes = [line for line in proxy.seen if "/credits/consume" in line]
    assert len(consumes) == 2
    assert wallet.balance(ada["sub"]).balance == before - 4


def test_a_capture_whose_answer_was_lost_is_not_an_error(proxied, proxy, wallet, ada):
    hold = wallet.hold(ada["sub"], 3, ttl=60, service="x")
    proxy.drop(1, "/api/cross-app/credits/holds/")
    assert proxied.capture(ada["sub"], hold.id, 2).hold.status == "captured"


def test_429_honours_retry_after_and_5xx_is_retried(proxied, proxy, ada):
    proxy.answer(429, "/api/cross-app/credits", {"Retry-After": "1"})
    proxy.answer(503, "/api/cross-app/credits", n=2)
    start = time.monotonic()
    assert proxied.balance(ada["sub"]).balance >= 0
    assert time.monotonic() - start >= 1.0


def test_a_long_retry_after_raises_rate_limited(proxied, proxy, ada):
    proxy.answer(429, "/api/cross-app/credits", {"Retry-After": "120"})
    with pytest.raises(RateLimited) as caught:
        proxied.balance(ada["sub"])
    assert caught.value.retry_after == 120


def test_other_4xx_are_never_retried(proxied, proxy, ada):
    with pytest.raises(InvalidRequest) as caught:
        proxied.consume(ada["sub"], 0, "x")
    assert caught.value.status_code == 400
    assert len([line for line in proxy.seen if "/credits/consume" in line]) == 1


def test_unreachable_server_after_the_retries(shop):
    with (
        WalletClient(
            "http://127.0.0.1:9", client_id="shop", client_secret="x", max_retries=2, backoff=0.01
        ) as client,
        pytest.raises(TransportError),
    ):
        client.balance("someone")


def test_async_twin(server, shop, ada, ada_tokens):
    async def scenario():
        async with AsyncWalletClient(
            server.url, client_id="shop", client_secret=shop["client_secret"]
        ) as client:
            before = await client.balance(ada["sub"])
            spent = await client.consume(ada["sub"], 2, "async")
            async with client.hold(ada["sub"], 4, ttl=60, service="async") as hold:
                await hold.capture(1)
            with pytest.raises(RuntimeError):
                async with client.hold(ada["sub"], 4, ttl=60, service="async") as dropped:
                    raise RuntimeError
            released = await client.get_hold(ada["sub"], dropped.id)
            entries = [e async for e in client.transactions(ada["sub"], limit=2)]
            after = await client.balance(ada["sub"])
            return before, spent, released, entries, after

    before, spent, released, entries, after = asyncio.run(scenario())
    assert spent.balance == before.balance - 2
    assert released.status == "released"
    assert after.balance == before.balance - 3 and after.held == before.held
    assert entries[0].id > entries[-1].id


def test_the_app_token_is_fetched_single_flight(server, shop, ada):
    import threading

    with WalletClient(server.url, client_id="shop", client_secret=shop["client_secret"]) as c:
        before = server.settle("POST /oauth/token")
        barrier = threading.Barrier(8)
        results = []

        def read():
            barrier.wait()
            results.append(c.balance(ada["sub"]).balance)

        workers = [threading.Thread(target=read) for _ in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert len(results) == 8
        assert server.settle("POST /oauth/token") == before + 1


def test_an_apps_own_claims_name_no_user(server, shop):
    from cross_app_sdk import ConfigurationError

    token = live.client_credentials(server.url, shop)["access_token"]
    claims = TokenVerifier(server.url, "https://shop.example").verify(token)
    with WalletClient(server.url) as client, pytest.raises(ConfigurationError):
        client.balance(claims)


def test_async_retries_reuse_the_key_and_settle(server, proxy, shop, ada, wallet):
    async def scenario():
        async with AsyncWalletClient(
            proxy.url, client_id="shop", client_secret=shop["client_secret"], backoff=0.05
        ) as client:
            proxy.drop(1, "/api/cross-app/credits/consume")
            spent = await client.consume(ada["sub"], 2, "async-flaky")
            proxy.answer(503, "/api/cross-app/credits/holds", n=1)
            hold = await client.hold(ada["sub"], 3, ttl=60, service="async")
            proxy.drop(1, f"/api/cross-app/credits/holds/{hold.id}/release")
            released = await hold.release()
            second = await client.hold(ada["sub"], 3, ttl=60, service="async")
            captured = await client.capture(ada["sub"], second.id)
            with pytest.raises(HoldNotActive):
                await client.release(ada["sub"], second.id)
            packages = await client.packages()
            url = await client.purchase_url(ada["sub"], "pack-10")
            return spent, released, captured, packages, url

    before = wallet.balance(ada["sub"]).balance
    spent, released, captured, packages, url = asyncio.run(scenario())
    assert spent.replayed and released.hold.status == "released"
    assert captured.hold.captured == 3
    assert wallet.balance(ada["sub"]).balance == before - 2 - 3
    assert any(p.id == "pack-10" for p in packages) and url.startswith(server.url)


def test_retry_after_as_an_http_date():
    from email.utils import formatdate

    import httpx

    from cross_app_sdk.wallet import retry_after

    later = httpx.Response(429, headers={"Retry-After": formatdate(time.time() + 30, usegmt=True)})
    assert 28 <= retry_after(later) <= 31
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert retry_after(httpx.Response(429)) is None


def test_wrong_credentials_are_invalid_client(server):
    from cross_app_sdk import InvalidClient

    with (
        WalletClient(server.url, client_id="no-such-app", client_secret="wrong") as client,
        pytest.raises(InvalidClient) as caught,
    ):
        client.balance("anyone")
    assert caught.value.status_code == 401


def test_a_spend_limit_answer_is_typed_with_its_window():
    from datetime import UTC, datetime

    from cross_app_sdk import SpendLimitReached
    from cross_app_sdk.errors import api_error_class

    body = {
        "error": "spend_limit_reached",
        "limit": 100,
        "period": "day",
        "remaining": 3,
        "resets_at": "2026-12-02T00:00:00Z",
    }
    error = api_error_class(402, body["error"])("Limit reached.", status_code=402, body=body)

    assert isinstance(error, SpendLimitReached)
    assert (error.limit, error.period, error.remaining) == (100, "day", 3)
    assert error.resets_at == datetime(2026, 12, 2, tzinfo=UTC)
    assert SpendLimitReached(body={"resets_at": "soon"}).resets_at is None
