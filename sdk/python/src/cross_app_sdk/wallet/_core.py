"""What both wallet clients share: who acts, request shapes, retry decisions, error
mapping.  No I/O here."""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from .. import challenge
from .._http import require_https
from ..claims import Claims
from ..errors import (
    ApiError,
    ConfigurationError,
    RateLimited,
    ServerError,
    api_error_class,
)
from ..models import (
    TokenResponse,
)

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_PERMANENT = frozenset({"payments_not_configured"})


@dataclass(frozen=True)
class UserToken:
    """A user's own access token (with the wallet scopes), to act as that user."""

    token: str = field(repr=False)


User = str | UserToken | Claims


def new_idempotency_key() -> str:
    return "sdk-" + uuid.uuid4().hex


@dataclass
class _Call:
    method: str
    path: str
    user: User | None
    params: dict[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    idempotency_key: str | None = None
    attempts: int = 0


@dataclass
class _AppToken:
    value: str
    refresh_at: float


class _Base:
    def __init__(
        self,
        issuer: str,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str | None = None,
        max_retries: int = 3,
        backoff: float = 0.2,
        max_backoff: float = 5.0,
        max_retry_after: float = 30.0,
        timeout: float = 10.0,
        token_endpoint: str | None = None,
        api_base: str | None = None,
        transport: Any = None,
    ) -> None:
        issuer = require_https(issuer, "issuer").rstrip("/")
        if bool(client_id) != bool(client_secret):
            raise ConfigurationError("give both client_id and client_secret, or neither")
        self.client_id = client_id
        self._credentials = (client_id, client_secret) if client_id and client_secret else None
        self.scope = scope
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.token_endpoint = require_https(token_endpoint or issuer + "/oauth/token", "token")
        self.api_base = require_https(api_base or issuer + "/api/cross-app", "api_base")
        self._http_options = {
            "timeout": httpx.Timeout(timeout),
            "follow_redirects": False,
            **({"transport": transport} if transport is not None else {}),
        }
        self._app_token: _AppToken | None = None

    # -- pieces shared by both clients ----------------------------------------------------
    def _user_token(self, user: User | None) -> str | None:
        """The user's own token, or None when the app's token is to be used."""
        if isinstance(user, UserToken):
            return user.token
        if isinstance(user, Claims):
            if not user.is_user:  # an app's own token names nobody
                raise ConfigurationError("these Claims are an app's token: pass the user's sub")
            if not user.token:
                raise ConfigurationError("these Claims carry no token to forward")
            return user.token
        if user is None or (isinstance(user, str) and user):
            if not self.client_id:
                raise ConfigurationError("acting for a user by sub needs client credentials")
            return None
        raise ConfigurationError("user must be a sub, a UserToken or Claims")

    @staticmethod
    def _params(call: _Call) -> dict[str, Any]:
        params = {k: v for k, v in call.params.items() if v is not None}
        if isinstance(call.user, str):
            params["user"] = call.user
        return params

    def _headers(self, call: _Call, token: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if call.idempotency_key:
            headers["Idempotency-Key"] = call.idempotency_key
        return headers

    def _basic_auth(self) -> tuple[str, str]:
        if self._credentials is None:
            raise ConfigurationError("an app token needs client_id and client_secret")
        return self._credentials

    def _token_form(self) -> dict[str, str]:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        return form

    def _store_token(self, body: dict) -> str:
        token = TokenResponse.from_dict(body)
        margin = min(30.0, token.expires_in / 10)
        self._app_token = _AppToken(
            token.access_token, time.monotonic() + token.expires_in - margin
        )
        return token.access_token

    def _cached_app_token(self) -> str | None:
        cached = self._app_token
        if cached is not None and time.monotonic() < cached.refresh_at:
            return cached.value
        return None

    def _delay(self, call: _Call, response: httpx.Response | None) -> float | None:
        """Seconds to wait before retrying, or None for "do not retry"."""
        if call.attempts > self.max_retries:
            return None
        if response is not None:
            if response.status_code not in _RETRY_STATUSES:
                return None
            if _error_code(response) in _PERMANENT:
                return None
            after = retry_after(response)
            if after is not None:
                return after if after <= self.max_retry_after else None
        ceiling = min(self.max_backoff, self.backoff * 2 ** (call.attempts - 1))
        return random.uniform(0, ceiling)  # full jitter

    @staticmethod
    def _result(response: httpx.Response) -> dict:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            raise _error(response, body if isinstance(body, dict) else {})
        if not isinstance(body, dict):
            raise ServerError(
                "the server answered no JSON object", status_code=response.status_code
            )
        return body

    # -- request shapes --------------------------------------------------------------------
    @staticmethod
    def _consume_call(user, amount, service, idempotency_key) -> _Call:
        key = idempotency_key or new_idempotency_key()
        body = {"amount": amount, "service": service, "idempotency_key": key}
        return _Call("POST", "/credits/consume", user, json=body, idempotency_key=key)

    @staticmethod
    def _hold_call(user, amount, ttl, service, idempotency_key) -> _Call:
        key = idempotency_key or new_idempotency_key()
        body = {"amount": amount, "ttl_seconds": ttl, "service": service, "idempotency_key": key}
        return _Call("POST", "/credits/holds", user, json=body, idempotency_key=key)

    @staticmethod
    def _check_call(user, required) -> _Call:
        return _Call("POST", "/credit-check", user, json={"required": required})

    @staticmethod
    def _capture_call(user, hold_id, amount) -> _Call:
        body = {} if amount is None else {"amount": amount}
        return _Call("POST", f"/credits/holds/{_segment(hold_id)}/capture", user, json=body)

    @staticmethod
    def _release_call(user, hold_id) -> _Call:
        return _Call("POST", f"/credits/holds/{_segment(hold_id)}/release", user, json={})

    @staticmethod
    def _transactions_call(user, limit, before, client_id) -> _Call:
        params = {"limit": limit, "before": before, "client_id": client_id}
        return _Call("GET", "/credits/transactions", user, params=params)

    @staticmethod
    def _purchase_call(user, package_id, amount, success_url, cancel_url) -> _Call:
        body = {
            "package_id": package_id,
            "amount": amount,
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        return _Call("POST", "/credits/purchase", user, json={k: v for k, v in body.items() if v})


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def _error(response: httpx.Response, body: dict) -> ApiError:
    code = body.get("error") if isinstance(body.get("error"), str) else None
    cls = api_error_class(response.status_code, code)
    kwargs: dict[str, Any] = {"status_code": response.status_code, "error": code, "body": body}
    if cls is RateLimited:
        kwargs["retry_after"] = retry_after(response)
    if code == "insufficient_scope":
        kwargs["scope"] = _challenge_scope(response.headers.get("WWW-Authenticate", ""))
    if code == "insufficient_user_authentication":
        header = response.headers.get("WWW-Authenticate")
        kwargs["acr_values"], kwargs["max_age"] = challenge.parameters(header, body)
    return cls(body.get("error_description"), **kwargs)


def _challenge_scope(challenge: str) -> str:
    marker = 'scope="'
    start = challenge.find(marker)
    if start < 0:
        return ""
    end = challenge.find('"', start + len(marker))
    return challenge[start + len(marker) : end if end >= 0 else None]


def _segment(hold_id: str) -> str:
    if not isinstance(hold_id, str) or not hold_id or not hold_id.replace("_", "").isalnum():
        raise ConfigurationError("not a hold id")
    return hold_id
