"""Rate limits on the abuse-prone endpoints (Flask-Limiter; Redis when configured).

Failed attempts count, successes do not, so a user who signs in correctly is never
slowed down, while guessing a password is.  Limits come from the IDP_RATELIMIT_*
settings; every refusal is a 429 with ``Retry-After``.
"""

from __future__ import annotations

import time

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many
from limits.strategies import FixedWindowRateLimiter

from .errors import error_response


def _account_key() -> str:
    """Per-account bucket: the address typed in, normalised (unknown ones count too, so
    the limit itself reveals nothing)."""
    return "account:" + (request.form.get("email") or "").strip().lower()[:254]


def _failed(response) -> bool:
    return response.status_code in (400, 401)


def _limit(setting: str):
    return lambda: current_app.config[setting]


# endpoint -> [(setting, key function, count only failures?)]
_RULES = {
    "pages.login": [
        ("IDP_RATELIMIT_LOGIN_IP", get_remote_address, True),
        ("IDP_RATELIMIT_LOGIN_ACCOUNT", _account_key, True),
    ],
    "pages.signup": [("IDP_RATELIMIT_SIGNUP", get_remote_address, False)],
    "pages.verify": [("IDP_RATELIMIT_VERIFY", get_remote_address, True)],
    "pages.forgot": [
        ("IDP_RATELIMIT_RESET", get_remote_address, False),
        ("IDP_RATELIMIT_RESET", _account_key, False),
    ],
}

# Client authentication failures are counted by hand: the token endpoint is the hot path,
# and Flask-Limiter's decorator costs two storage round trips on every successful grant.
_CLIENT_AUTH_ENDPOINTS = frozenset({"oauth2.token", "oauth2.introspect", "oauth2.revoke"})
_CLIENT_AUTH_NAMESPACE = "client-auth"


def init_app(app) -> None:
    """One limiter per app (Flask-Limiter keeps its storage on the instance)."""
    redis_url = app.config.get("REDIS_URL")
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=redis_url or "memory://",
        strategy="moving-window",
        headers_enabled=True,
        enabled=bool(app.config["IDP_RATELIMIT_ENABLED"]),
        key_prefix="idp:ratelimit",
    )
    for endpoint, rules in _RULES.items():
        view = app.view_functions[endpoint]
        for setting, key_func, failures_only in rules:
            view = limiter.limit(
                _limit(setting),
                key_func=key_func,
                methods=["POST"],
                deduct_when=_failed if failures_only else None,
                scope=f"{endpoint}:{setting}:{key_func.__name__}",
            )(view)
        app.view_functions[endpoint] = view
    app.extensions["idp_limiter"] = limiter
    # IP -> blocked until (epoch seconds); kept on the app so it can be inspected and reset.
    app.extensions["idp_client_auth_blocks"] = blocked = {}
    if limiter.enabled:
        _limit_client_auth_failures(app, FixedWindowRateLimiter(limiter.storage), blocked)


def _limit_client_auth_failures(
    app, counter: FixedWindowRateLimiter, blocked: dict[str, float]
) -> None:
    """Per IP: once too many client authentications failed, refuse (429) until the window
    ends.  Failures are counted in the shared storage (Redis when configured); the verdict
    "blocked until" is kept in process memory, so a successful grant costs no round trip.
    A node learns that an IP is over the limit at the next failure it sees itself."""

    def items():
        return parse_many(app.config["IDP_RATELIMIT_CLIENT_AUTH"])

    def refusal(until: float):
        retry = str(max(1, int(until - time.time()) + 1))
        return error_response(
            "rate_limited",
            "Too many attempts. Wait a little and try again.",
            429,
            [("Retry-After", retry)],
        )

    @app.before_request
    def _refuse_when_over():
        if request.endpoint not in _CLIENT_AUTH_ENDPOINTS:
            return None
        until = blocked.get(get_remote_address())
        if until is None:
            return None
        if until > time.time():
            return refusal(until)
        blocked.pop(get_remote_address(), None)
        return None

    @app.after_request
    def _count_failure(response):
        if request.endpoint not in _CLIENT_AUTH_ENDPOINTS or response.status_code != 401:
            return response
        address = get_remote_address()
        for item in items():
            counter.hit(item, _CLIENT_AUTH_NAMESPACE, address)
            if not counter.test(item, _CLIENT_AUTH_NAMESPACE, address):  # limit reached
                reset, _ = counter.get_window_stats(item, _CLIENT_AUTH_NAMESPACE, address)
                if len(blocked) > 10_000:  # forget verdicts that have run out
                    now = time.time()
                    for stale in [a for a, until in blocked.items() if until <= now]:
                        del blocked[stale]
                blocked[address] = max(blocked.get(address, 0.0), reset)
        return response
