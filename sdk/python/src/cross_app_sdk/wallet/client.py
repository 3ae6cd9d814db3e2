"""The synchronous :class:`WalletClient` and its :class:`Hold`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
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


class WalletClient(_Base):
    """The credit API, synchronous.  Thread-safe; build one per process.

    ``issuer``: the IdP's base URL.  ``client_id``/``client_secret``: a confidential app's
    credentials (needed to act for a user by ``sub``).  ``scope``: scopes to ask for in the
    client-credentials request (default: every resource scope the app holds).
    ``max_retries``, ``backoff``, ``max_backoff`` (seconds), ``max_retry_after``: a
    ``Retry-After`` longer than this raises :class:`RateLimited` at once.  ``timeout``: per
    network phase.  ``transport``: an httpx transport (proxies, custom TLS).
    """

    def __init__(self, issuer: str, **options: Any) -> None:
        super().__init__(issuer, **options)
        self._http = httpx.Client(**self._http_options)
        self._token_lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WalletClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------------
    def _app_access_token(self, force: bool = False) -> str:
        if not force and (token := self._cached_app_token()):
            return token
        stale = self._app_token
        with self._token_lock:  # single flight: whoever waited reuses the fresh token
            if self._app_token is not stale and (token := self._cached_app_token()):
                return token
            call = _Call("POST", self.token_endpoint, None)
            response = self._retrying(
                call,
                lambda: self._http.post(
                    self.token_endpoint,
                    data=self._token_form(),
                    auth=self._basic_auth(),
                ),
            )
            return self._store_token(self._result(response))

    def _retrying(self, call: _Call, send) -> httpx.Response:
        while True:
            call.attempts += 1
            try:
                response = send()
            except httpx.TransportError as exc:
                delay = self._delay(call, None)
                if delay is None:
                    raise TransportError(type(exc).__name__, status_code=0) from exc
                time.sleep(delay)
                continue
            delay = self._delay(call, response)
            if delay is None:
                return response
            response.close()
            time.sleep(delay)

    def _send(self, call: _Call) -> dict:
        own = self._user_token(call.user)
        renewed = False
        while True:
            token = own or self._app_access_token()
            response = self._retrying(
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
                renewed = True  # the app token was revoked or the clock is off: once more
                self._app_access_token(force=True)
                continue
            return self._result(response)

    # -- the API ---------------------------------------------------------------------------
    def balance(self, user: User) -> Balance:
        """Balance, held, available and the packages on sale (``credits:read``)."""
        return Balance.from_dict(self._send(_Call("GET", "/credits", user)))

    def check(self, user: User, required: int) -> CreditCheck:
        """Whether ``required`` credits are available (``credits:read``)."""
        call = self._check_call(user, required)
        return CreditCheck.from_dict(self._send(call))

    def consume(
        self, user: User, amount: int, service: str, idempotency_key: str | None = None
    ) -> Consumption:
        """Spend ``amount`` credits (``credits:consume``).  :class:`InsufficientCredits`
        (402), :class:`IdempotencyConflict` (409: the key was used for another request)."""
        return Consumption.from_dict(
            self._send(self._consume_call(user, amount, service, idempotency_key))
        )

    def hold(
        self,
        user: User,
        amount: int,
        ttl: int = 900,
        service: str = "default",
        idempotency_key: str | None = None,
    ) -> Hold:
        """Reserve ``amount`` credits for ``ttl`` seconds; returns a :class:`Hold`, also a
        context manager that releases the hold when the block ends without settling it."""
        call = self._hold_call(user, amount, ttl, service, idempotency_key)
        return Hold(self, user, HoldResult.from_dict(self._send(call)))

    def get_hold(self, user: User, hold_id: str) -> HoldInfo:
        call = _Call("GET", f"/credits/holds/{_segment(hold_id)}", user)
        return HoldResult.from_dict(self._send(call)).hold

    def capture(self, user: User, hold_id: str, amount: int | None = None) -> HoldResult:
        """Charge ``amount`` (default: all) of the hold, release the rest.
        :class:`HoldNotActive` if it was already settled or expired."""
        call = self._capture_call(user, hold_id, amount)
        try:
            return HoldResult.from_dict(self._send(call))
        except HoldNotActive as error:
            # A retry after a lost answer finds the hold settled by our first attempt.
            return self._settled_by_us(error, call, user, hold_id, "captured")

    def release(self, user: User, hold_id: str) -> HoldResult:
        """Give the whole hold back.  :class:`HoldNotActive` if already settled."""
        call = self._release_call(user, hold_id)
        try:
            return HoldResult.from_dict(self._send(call))
        except HoldNotActive as error:
            return self._settled_by_us(error, call, user, hold_id, "released")

    def _settled_by_us(self, error, call: _Call, user, hold_id: str, status: str) -> HoldResult:
        if call.attempts > 1:
            info = self.get_hold(user, hold_id)
            if info.status == status:
                return HoldResult(hold=info)
        raise error

    def transactions(
        self, user: User, *, limit: int = 50, client_id: str | None = None
    ) -> Iterator[Transaction]:
        """Every ledger entry, newest first, fetched page by page (``credits:read``)."""
        before = None
        while True:
            call = self._transactions_call(user, limit, before, client_id)
            page = TransactionPage.from_dict(self._send(call))
            yield from page.transactions
            if page.next_before is None:
                return
            before = page.next_before

    def purchase(
        self,
        user: User,
        package_id: str | None = None,
        *,
        amount: int | None = None,
        success_url: str | None = None,
        cancel_url: str | None = None,
    ) -> Checkout:
        """Start a checkout (``credits:purchase``); URLs must be under the app's origins."""
        call = self._purchase_call(user, package_id, amount, success_url, cancel_url)
        return Checkout.from_dict(self._send(call))

    def purchase_url(self, user: User, package_id: str | None = None, **options: Any) -> str:
        """The checkout page to send the user's browser to."""
        return self.purchase(user, package_id, **options).url

    def packages(self) -> list[Package]:
        """The public catalogue (no token needed)."""
        call = _Call("GET", "/credits/packages", None)
        response = self._retrying(call, lambda: self._http.get(self.api_base + call.path))
        return [Package.from_dict(p) for p in self._result(response).get("packages", [])]


class Hold:
    """An open hold.  ``with wallet.hold(user, 10, service="render") as h: ... h.capture(7)``
    releases it if the block raises (or ends without a capture or release)."""

    def __init__(self, client: WalletClient, user: User, result: HoldResult) -> None:
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

    def capture(self, amount: int | None = None) -> HoldResult:
        result = self._client.capture(self._user, self.id, amount)
        self.info, self.settled = result.hold, True
        return result

    def release(self) -> HoldResult:
        result = self._client.release(self._user, self.id)
        self.info, self.settled = result.hold, True
        return result

    def __enter__(self) -> Hold:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.settled:
            return
        try:
            self.release()
        except HoldNotActive:
            self.settled = True  # expired meanwhile: nothing is held any more
        except ApiError:
            if exc_type is None:
                raise  # otherwise the block's own exception is the one to see
