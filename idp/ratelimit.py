"""Rate limits on the abuse-prone endpoints (Flask-Limiter; Redis when configured).

Each limit counts only what an attacker gains from: a failed sign-in or code (a guess),
a sign-up that created an account or sent a mail.  A user who signs in correctly, or
mistypes a sign-up form, is never slowed down.  Limits come from the IDP_RATELIMIT_*
settings; every refusal is a 429 with ``Retry-After``, and the wait is noted for the page
that says it (``idp.ui.waits``): the refused form itself, shown again.
"""

from __future__ import annotations

import logging
import time

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from redis import RedisError

from .apps.services import query_client
from .core.redis_client import client_options
from .oauth2.server import TooManyAttempts
from .ui import waits
from .users import factors, sessions

_PREFIX = "idp:ratelimit"
log = logging.getLogger("idp.ratelimit")


def _account_key() -> str:
    """Per-account bucket: the address typed in, normalised (unknown ones count too, so
    the limit itself reveals nothing)."""
    return "account:" + (request.form.get("email") or "").strip().lower()[:254]


def _signed_in_key() -> str:
    """Per-account bucket for the signed-in account pages: the session's user (a
    browser without one is sent to sign in before anything is counted)."""
    found = sessions.current()
    return f"user:{found[1].id}" if found else "user:-"


def _second_step_key() -> str:
    """Per-account bucket for the second factor: the account whose sign-in waits for
    it (or the signed-in one stepping up), so a stolen password buys few code guesses."""
    found = factors.pending_user() or (sessions.current() or (None, None))[1]
    return f"user:{found.id}" if found else "user:-"


def _failed(response) -> bool:
    """A refused guess: a wrong password or code."""
    return response.status_code in (400, 401)


def _went_through(response) -> bool:
    """A sign-up that went on to the code page: an account was created, or a mail sent to
    the owner of a taken address.  A form refused for a typo (400) costs nothing."""
    return response.status_code == 302


def _note_wait(limit) -> None:
    """on_breach: the seconds the 429's ``Retry-After`` will say, for the page."""
    waits.note(limit.reset_at - time.time())


def _limit(setting: str):
    return lambda: current_app.config[setting]


# endpoint -> [(setting, key function, which answers count: None for every POST)]
_RULES = {
    "pages.login": [
        ("IDP_RATELIMIT_LOGIN_IP", get_remote_address, _failed),
        ("IDP_RATELIMIT_LOGIN_ACCOUNT", _account_key, _failed),
    ],
    "pages.signup": [("IDP_RATELIMIT_SIGNUP", get_remote_address, _went_through)],
    "pages.verify": [("IDP_RATELIMIT_VERIFY", get_remote_address, _failed)],
    "pages.forgot": [
        ("IDP_RATELIMIT_RESET", get_remote_address, None),
        ("IDP_RATELIMIT_RESET", _account_key, None),
    ],
    # The account pages that take a password or a code: whoever holds a session (a
    # borrowed laptop, a stolen cookie) may not guess their way to the account itself.
    "pages.change_password": [("IDP_RATELIMIT_LOGIN_ACCOUNT", _signed_in_key, _failed)],
    "pages.change_email": [("IDP_RATELIMIT_LOGIN_ACCOUNT", _signed_in_key, _failed)],
    "pages.verify_new_email": [("IDP_RATELIMIT_VERIFY", _signed_in_key, _failed)],
    "pages.delete_account": [("IDP_RATELIMIT_LOGIN_ACCOUNT", _signed_in_key, _failed)],
    # Second factors: a code or recovery code guessed, the password to turn one off.
    "pages.second_factor": [
        ("IDP_RATELIMIT_LOGIN_IP", get_remote_address, _failed),
        ("IDP_RATELIMIT_LOGIN_ACCOUNT", _second_step_key, _failed),
    ],
    "pages.confirm_totp": [("IDP_RATELIMIT_LOGIN_ACCOUNT", _signed_in_key, _failed)],
    "pages.disable_totp": [("IDP_RATELIMIT_LOGIN_ACCOUNT", _signed_in_key, _failed)],
    "pages.regenerate_recovery_codes": [("IDP_RATELIMIT_LOGIN_ACCOUNT", _signed_in_key, _failed)],
    # Passkeys: every challenge is a row (counted per IP whatever the answer); an
    # assertion that does not verify is a failed sign-in.
    "passkeys.sign_in_options": [("IDP_RATELIMIT_PASSKEY_OPTIONS", get_remote_address, None)],
    "passkeys.second_step_options": [("IDP_RATELIMIT_PASSKEY_OPTIONS", get_remote_address, None)],
    "passkeys.registration_options": [("IDP_RATELIMIT_PASSKEY_OPTIONS", get_remote_address, None)],
    "passkeys.sign_in": [("IDP_RATELIMIT_LOGIN_IP", get_remote_address, _failed)],
    "passkeys.second_step": [
        ("IDP_RATELIMIT_LOGIN_IP", get_remote_address, _failed),
        ("IDP_RATELIMIT_LOGIN_ACCOUNT", _second_step_key, _failed),
    ],
}


def init_app(app) -> None:
    """One limiter per app (Flask-Limiter keeps its storage on the instance)."""
    redis_url = app.config.get("REDIS_URL")
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=redis_url or "memory://",
        storage_options=client_options(app, redis_url) if redis_url else {},
        strategy="moving-window",
        headers_enabled=True,
        enabled=bool(app.config["IDP_RATELIMIT_ENABLED"]),
        key_prefix=_PREFIX,
        # Without Redis the same limits count in this process's memory until Redis
        # answers again (Flask-Limiter checks it now and then): each node then allows
        # its own share, rather than none (closed) or unlimited guessing (open).  An
        # error the fallback does not cover (Redis dying between the check and the
        # count) is logged and the request goes on.  docs/reliability.md.
        in_memory_fallback_enabled=bool(redis_url),
        swallow_errors=True,
    )
    for endpoint, rules in _RULES.items():
        view = app.view_functions[endpoint]
        for setting, key_func, counts in rules:
            view = limiter.limit(
                _limit(setting),
                key_func=key_func,
                methods=["POST"],
                deduct_when=counts,
                on_breach=_note_wait,
                scope=f"{endpoint}:{setting}:{key_func.__name__}",
            )(view)
        app.view_functions[endpoint] = view
    _drop_request_wide_check(app, limiter)
    app.extensions["idp_limiter"] = limiter
    # The guard is kept on the app so it can be inspected and its verdicts reset (the
    # test harness clears "idp_client_auth_blocks" between tests).
    guard = ClientAuthGuard(app, limiter.storage if limiter.enabled else None)
    app.extensions["idp_client_auth_guard"] = app.extensions["idp_client_auth_blocks"] = guard
    if limiter.enabled:
        app.extensions["idp_oauth_server"].client_auth_guard = guard


def _drop_request_wide_check(app, limiter: Limiter) -> None:
    """Every limit here is a decorated view's, checked inside that view's wrapper.
    Flask-Limiter's own ``before_request`` pass applies only default and application
    limits, which are not configured, yet resolves them on every request (a seventh of
    a token grant's Python time), so it is taken out.  Configuring such limits would
    need it back: refused rather than silently ignored."""
    if app.config.get("RATELIMIT_DEFAULT") or app.config.get("RATELIMIT_APPLICATION"):
        raise RuntimeError("default/application rate limits are not supported (idp.ratelimit)")
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks:  # not registered when limits are disabled
        hooks.remove(limiter._check_request_limit)


class ClientAuthGuard:
    """Failed client authentications, wherever they happen (the token, introspection and
    revocation endpoints and the JSON endpoints forwarded to them).

    A client id whose authentication fails too often is locked out, for longer at each
    lockout in a row; failures naming no known client are capped per IP.  A client that
    authenticates correctly is never refused for what *other* clients did, even from the
    same address (a NAT).  Failures are counted in the shared storage (Redis when
    configured); the verdict "blocked until" is kept in process memory, so a successful
    authentication costs no round trip.  A node learns of a lockout at the next failure
    it sees itself.
    """

    _NAMESPACE = "client-auth"

    def __init__(self, app, storage) -> None:
        self.config = app.config
        self.shared = storage
        self.counter = FixedWindowRateLimiter(storage) if storage is not None else None
        # Counted here while the shared storage (Redis) is unreachable, as the limiter
        # does: lockouts then hold per process instead of nowhere.
        self.local = MemoryStorage()
        self.local_counter = FixedWindowRateLimiter(self.local)
        self.clients: dict[str, float] = {}  # client id -> blocked until (epoch seconds)
        self.addresses: dict[str, float] = {}  # IP -> blocked until, for unknown ids only

    def clear(self) -> None:
        """Forget every verdict held by this process."""
        self.clients.clear()
        self.addresses.clear()

    def check(self, client_id: str | None) -> None:
        """Before authentication: only dictionary look-ups on the hot path."""
        if client_id and client_id in self.clients:
            self._refuse_if_blocked(self.clients, client_id)
        address = get_remote_address()
        if address in self.addresses and not _known(client_id):
            self._refuse_if_blocked(self.addresses, address)

    def failed(self, client_id: str | None) -> None:
        if _known(client_id):
            self._count_somewhere(self.clients, "client", client_id, "IDP_RATELIMIT_CLIENT_AUTH")
        else:
            address = get_remote_address()
            setting = "IDP_RATELIMIT_CLIENT_AUTH_UNKNOWN"
            self._count_somewhere(self.addresses, "ip", address, setting)

    def _count_somewhere(self, verdicts, kind: str, key: str, setting: str) -> None:
        """In the shared storage; in this process's memory while it cannot answer."""
        try:
            self._count(verdicts, kind, key, setting, self.counter, self.shared)
        except RedisError as exc:
            log.warning("client-auth failures counted in memory (%s)", type(exc).__name__)
            self._count(verdicts, kind, key, setting, self.local_counter, self.local)

    @staticmethod
    def _refuse_if_blocked(verdicts: dict[str, float], key: str) -> None:
        until = verdicts.get(key, 0.0)
        if until > time.time():
            raise TooManyAttempts(int(until - time.time()) + 1)
        verdicts.pop(key, None)

    def _count(self, verdicts, kind: str, key: str, setting: str, counter, storage) -> None:
        for item in parse_many(self.config[setting]):
            allowed = counter.hit(item, self._NAMESPACE, kind, key)
            if counter.test(item, self._NAMESPACE, kind, key):
                continue
            # The failure that reaches the limit (allowed, and now none left) starts a new
            # lockout; later ones, on this node or another, only learn the current one.
            until = time.time() + self._lockout_seconds(kind, key, allowed, storage)
            _forget_expired(verdicts)
            verdicts[key] = max(verdicts.get(key, 0.0), until)

    def _lockout_seconds(self, kind: str, key: str, new: bool, storage) -> int:
        """Doubles with each lockout in a row, up to the maximum; the streak is forgotten
        once the client stays quiet for twice the maximum."""
        base = self.config["IDP_CLIENT_LOCKOUT_SECONDS"]
        cap = self.config["IDP_CLIENT_LOCKOUT_MAX_SECONDS"]
        streak_key = f"{_PREFIX}/{self._NAMESPACE}/streak/{kind}/{key}"
        streak = storage.incr(streak_key, 2 * cap) if new else max(1, storage.get(streak_key))
        return min(cap, base * 2 ** min(streak - 1, 20))


def _known(client_id: str | None) -> bool:
    return bool(client_id) and query_client(client_id) is not None


def _forget_expired(verdicts: dict[str, float]) -> None:
    if len(verdicts) > 10_000:
        now = time.time()
        for stale in [k for k, until in verdicts.items() if until <= now]:
            del verdicts[stale]
