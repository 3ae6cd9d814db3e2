"""The asyncio twin: :class:`AsyncWalletClient` and :class:`AsyncHold`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ..errors import (
    ApiError,
    HoldNotActive,
    TransportError,
)
from ..models import (
    Balance,
    Checkout,
    Consumption,
    CreditCheck,
    HoldInfo,
    HoldResult,
    Package,
    Transaction,
    TransactionPage,
)
from ._core import (
    User,
    _Base,
    _Call,
    _segment,
)


class AsyncWalletClient(_Base):
    """:class:`WalletClient` for asyncio: the same methods, awaited; ``transactions`` is an
    async iterator and ``hold`` works with ``async with`` as well as ``await``."""

    def __init__(self, issuer: str, **options: Any) -> None:
        super().__init__(issuer, **options)
        self._http = httpx.AsyncClient(**self._http_options)
        self._token_lock: asyncio.Lock | None = None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncWalletClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _app_access_token(self, force: bool = False) -> str:
        if not force and (token := self._cached_app_token()):
            return token
        stale = self._app_token
        if self._token_lock is None:
            self._token_lock = asyncio.Lock()
        async with self._token_lock:
            if self._app_token is not stale and (token := self._cached_app_token()):
                return token
            call = _Call("POST", self.token_endpoint, None)
            response = await self._retrying(
                call,
                lambda: self._http.post(
                    self.token_endpoint,
                    data=self._token_form(),
                    auth=self._basic_auth(),
                ),
            )
            return self._store_token(self._result(response))

    async def _retrying(self, call: _Call, send) -> httpx.Response:
        while True:
            call.attempts += 1
            try:
                response = await send()
            except httpx.TransportError as exc:
                delay = self._delay(call, None)
                if delay is None:
                    raise TransportError(type(exc).__name__, status_code=0) from exc
                await asyncio.sleep(delay)
                continue
            delay = self._delay(call, response)
            if delay is None:
                return response
            await response.aclose()
            await asyncio.sleep(delay)

    async def _send(self, call: _Call) -> dict:
        own = self._user_token(call.user)
        renewed = False
        while True:
            token = own or await self._app_access_token()
            response = await self._retrying(
                call,
                lambda token=token: self._http.request(
                    call.method,
                    self.api_base + call.path,
                    params=self._params(call),
                    json=call.json,
                    headers=self._headers(call, token),
                ),
            )
            if response.status_code == 401 and own is None and not renewed:
                renewed = True
                await self._app_access_token(force=True)
                continue
            return self._result(response)

    async def balance(self, user: User) -> Balance:
        return Balance.from_dict(await self._send(_Call("GET", "/credits", user)))

    async def check(self, user: User, required: int) -> CreditCheck:
        call = self._check_call(user, required)
        return CreditCheck.from_dict(await self._send(call))

    async def consume(
        self, user: User, amount: int, service: str, idempotency_key: str | None = None
    ) -> Consumption:
        call = self._consume_call(user, amount, service, idempotency_key)
        return Consumption.from_dict(await self._send(call))

    def hold(
        self,
        user: User,
        amount: int,
        ttl: int = 900,
        service: str = "default",
        idempotency_key: str | None = None,
    ) -> _AsyncHoldStart:
        return _AsyncHoldStart(
            self, user, self._hold_call(user, amount, ttl, service, idempotency_key)
        )

    async def get_hold(self, user: User, hold_id: str) -> HoldInfo:
        call = _Call("GET", f"/credits/holds/{_segment(hold_id)}", user)
        return HoldResult.from_dict(await self._send(call)).hold

    async def capture(self, user: User, hold_id: str, amount: int | None = None) -> HoldResult:
        call = self._capture_call(user, hold_id, amount)
        try:
            return HoldResult.from_dict(await self._send(call))
        except HoldNotActive as error:
            return await self._settled_by_us(error, call, user, hold_id, "captured")

    async def release(self, user: User, hold_id: str) -> HoldResult:
        call = self._release_call(user, hold_id)
        try:
            return HoldResult.from_dict(await self._send(call))
        except HoldNotActive as error:
            return await self._settled_by_us(error, call, user, hold_id, "released")

    async def _settled_by_us(self, error, call, user, hold_id, status) -> HoldResult:
        if call.attempts > 1:
            info = await self.get_hold(user, hold_id)
            if info.status == status:
                return HoldResult(hold=info)
        raise error

    async def transactions(
        self, user: User, *, limit: int = 50, client_id: str | None = None
    ) -> AsyncIterator[Transaction]:
        before = None
        while True:
            call = self._transactions_call(user, limit, before, client_id)
            page = TransactionPage.from_dict(await self._send(call))
            for entry in page.transactions:
                yield entry
            if page.next_before is None:
                return
            before = page.next_before

    async def purchase(
        self,
        user: User,
        package_id: str | None = None,
        *,
        amount: int | None = None,
        success_url: str | None = None,
        cancel_url: str | None = None,
    ) -> Checkout:
        call = self._purchase_call(user, package_id, amount, success_url, cancel_url)
        return Checkout.from_dict(await self._send(call))

    async def purchase_url(self, user: User, package_id: str | None = None, **options) -> str:
        return (await self.purchase(user, package_id, **options)).url

    async def packages(self) -> list[Package]:
        call = _Call("GET", "/credits/packages", None)
        response = await self._retrying(call, lambda: self._http.get(self.api_base + call.path))
        return [Package.from_dict(p) for p in self._result(response).get("packages", [])]


class _AsyncHoldStart:
    """``await wallet.hold(...)`` or ``async with wallet.hold(...) as h``."""

    def __init__(self, client: AsyncWalletClient, user: User, call: _Call) -> None:
        self._client, self._user, self._call = client, user, call
        self._hold: AsyncHold | None = None

    async def _start(self) -> AsyncHold:
        result = HoldResult.from_dict(await self._client._send(self._call))
        self._hold = AsyncHold(self._client, self._user, result)
        return self._hold

    def __await__(self):
        return self._start().__await__()

    async def __aenter__(self) -> AsyncHold:
        return await self._start()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        hold = self._hold
        if hold is None or hold.settled:
            return
        try:
            await hold.release()
        except HoldNotActive:
            hold.settled = True
        except ApiError:
            if exc_type is None:
                raise


class AsyncHold:
    """An open hold of :class:`AsyncWalletClient`."""

    def __init__(self, client: AsyncWalletClient, user: User, result: HoldResult) -> None:
        self._client = client
        self._user = user
        self.result = result
        self.info = result.hold
        self.settled = result.hold.status != "active"

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def amount(self) -> int:
        return self.info.amount

    async def capture(self, amount: int | None = None) -> HoldResult:
        result = await self._client.capture(self._user, self.id, amount)
        self.info, self.settled = result.hold, True
        return result

    async def release(self) -> HoldResult:
        result = await self._client.release(self._user, self.id)
        self.info, self.settled = result.hold, True
        return result
