"""Rate limits on the abuse-prone endpoints (Flask-Limiter; Redis when configured).

Failed attempts count, successes do not, so a user who signs in correctly is never
slowed down, while guessing a password is.  Limits come from the IDP_RATELIMIT_*
settings; every refusal is a 429 with ``Retry-After``.
"""

from __future__ import annotations

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


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
    "oauth2.token": [("IDP_RATELIMIT_CLIENT_AUTH", get_remote_address, True)],
}


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
