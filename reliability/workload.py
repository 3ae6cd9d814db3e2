"""The mixed workload of the soak and cluster runs, and its verdict.

Each of N clients loops until the deadline over: a sign-in and the authorization-code
flow (PKCE, consent), refresh, introspection, client credentials, consumes and holds
with idempotency keys, and a purchase settled by Stripe-format webhook deliveries (some
delivered twice, some preceded by an out-of-order ``async_payment_succeeded``).  Writes
are retried with the same key (the same event) until acknowledged, as a client must,
so the ledger can be checked exactly afterwards: every wallet's balance is its grant,
less every acknowledged consume, plus every settled purchase, once.

Every answer is recorded with its time: a 5xx other than 503 fails the run at any time,
and any failure (a 503, a dropped connection) fails it outside the fault windows.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from . import stripe_events
from .stack import CREDITS, PASSWORD, REDIRECT, USER_SCOPE, WEBHOOK_SECRET

API = "/api/cross-app"
TIMEOUT = 15  # seconds: a request still unanswered then is a "hung" error
RETRY_FOR = 90  # seconds past the deadline an unacknowledged write keeps being retried


@dataclass
class Record:
    """Everything measured, shared by the clients (one lock)."""

    started: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    outcomes: Counter = field(default_factory=Counter)  # (action, outcome) -> n
    failures: list = field(default_factory=list)  # (start, end, action, outcome)
    consumes: dict = field(default_factory=dict)  # key -> (user, amount, transaction id)
    purchases: dict = field(default_factory=dict)  # checkout id -> (user, credits)
    holds: int = 0
    windows: list = field(default_factory=list)  # (name, start, end)

    def note(self, action: str, outcome: str, start: float, end: float) -> None:
        with self.lock:
            self.outcomes[(action, outcome)] += 1
            if outcome != "ok":
                self.failures.append((start, end, action, outcome))

    def now(self) -> float:
        return time.monotonic() - self.started


class Unexpected(Exception):
    """An answer the workload cannot go on from (recorded already)."""


class Client:
    """One user agent and partner backend: a browser's cookies, the shop's secret."""

    def __init__(self, base: str, shop: dict, email: str, record: Record, end: float):
        self.base, self.shop, self.email, self.record, self.end = base, shop, email, record, end
        self.http = requests.Session()
        self.http.headers["Connection"] = "close"  # each request its own connection: the
        # balancer spreads them over the nodes, and a dead node costs only what it held
        self.basic = (shop["client_id"], shop["client_secret"])
        self.tokens: dict | None = None

    # -- one request, recorded ----------------------------------------------------------
    def call(self, action: str, method: str, path: str, ok=(200,), **kwargs):
        """The response, or None for a failure the caller may retry (a 503, a dropped
        connection, a timeout); anything else unexpected raises :class:`Unexpected`."""
        start = time.monotonic()
        try:
            response = self.http.request(
                method, self.base + path, timeout=TIMEOUT, allow_redirects=False, **kwargs
            )
        except requests.Timeout:
            self.record.note(action, "timeout", start, time.monotonic())
            return None
        except requests.RequestException:  # refused, reset, cut off mid-answer
            self.record.note(action, "connection_error", start, time.monotonic())
            return None
        end = time.monotonic()
        status = response.status_code
        if status in ok:
            self.record.note(action, "ok", start, end)
            return response
        if status == 503:
            good = response.headers.get("Retry-After", "").isdigit() and _json_or_page(response)
            self.record.note(action, "503" if good else "503_malformed", start, end)
            return None
        if status >= 500:  # fails the run; retried all the same, as Stripe or a client would,
            self.record.note(action, str(status), start, end)  # so the ledger stays checkable
            return None
        self.record.note(action, str(status), start, end)
        raise Unexpected(f"{action}: {status} {response.text[:200]}")

    def until_done(self, action: str, method: str, path: str, ok=(200,), **kwargs):
        """:meth:`call` again (same request: same idempotency key) until it is answered."""
        stop = self.end + RETRY_FOR
        while True:
            response = self.call(action, method, path, ok, **kwargs)
            if response is not None:
                return response
            if time.monotonic() > stop:
                raise Unexpected(f"{action}: never acknowledged")
            time.sleep(0.3)

    # -- the actions ----------------------------------------------------------------------
    def sign_in_and_authorize(self) -> None:
        self.http.cookies.clear()
        page = self.until_done("login_page", "GET", "/login")
        form = {"email": self.email, "password": PASSWORD, "csrf_token": _csrf(page.text)}
        self.until_done("sign_in", "POST", "/login", ok=(302,), data=form)
        verifier = secrets.token_urlsafe(32)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        query = {
            "response_type": "code", "client_id": self.shop["client_id"],
            "redirect_uri": REDIRECT, "scope": USER_SCOPE, "state": "s",
            "code_challenge": challenge.rstrip(b"=").decode(), "code_challenge_method": "S256",
        }  # fmt: skip
        url = "/oauth/authorize?" + urlencode(query)
        answer = self.until_done("authorize", "GET", url, ok=(200, 302))
        if answer.status_code == 200:  # the consent page (first time for this user)
            form = {"csrf_token": _csrf(answer.text), "decision": "allow"}
            answer = self.until_done("consent", "POST", url, ok=(302,), data=form)
        given = parse_qs(urlsplit(answer.headers["Location"]).query)
        if "code" not in given:
            self.record.note("authorize", "no_code", time.monotonic(), time.monotonic())
            raise Unexpected(f"authorize: {given}")
        code = given["code"][0]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                "code_verifier": verifier}  # fmt: skip
        response = self.call("code_exchange", "POST", "/oauth/token", data=form, auth=self.basic)
        if response is None:
            raise Unexpected("code_exchange failed")  # a code is single-use: start over
        self.tokens = response.json()

    def refresh(self) -> None:
        form = {"grant_type": "refresh_token", "refresh_token": self.tokens["refresh_token"]}
        response = self.call("refresh", "POST", "/oauth/token", data=form, auth=self.basic)
        if response is None:
            # Lost on the way back, the rotation may have happened: the old token is then
            # spent (reuse detection). Sign in again rather than replay it.
            self.tokens = None
            return
        self.tokens = response.json()

    def introspect(self) -> None:
        form = {"token": self.tokens["access_token"]}
        response = self.call("introspect", "POST", "/oauth/introspect", data=form,
                             auth=self.basic)  # fmt: skip
        if response is not None and not response.json().get("active"):
            self.record.note("introspect", "inactive", time.monotonic(), time.monotonic())

    def client_credentials(self) -> None:
        form = {"grant_type": "client_credentials", "scope": "credits:read"}
        self.call("client_credentials", "POST", "/oauth/token", data=form, auth=self.basic)

    def _bearer(self) -> dict:
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}

    def consume(self) -> None:
        key = "soak-" + secrets.token_hex(10)
        amount = random.randint(1, 5)
        body = {"amount": amount, "service": "soak", "idempotency_key": key}
        response = self.until_done("consume", "POST", f"{API}/credits/consume", ok=(200, 201),
                                   json=body, headers=self._bearer())  # fmt: skip
        entry = response.json()["transaction"]["id"]
        with self.record.lock:
            self.record.consumes[key] = (self.email, amount, entry)

    def hold(self) -> None:
        body = {"amount": 3, "ttl_seconds": 300, "service": "soak",
                "idempotency_key": "hold-" + secrets.token_hex(10)}  # fmt: skip
        made = self.until_done("hold", "POST", f"{API}/credits/holds", ok=(200, 201),
                               json=body, headers=self._bearer())  # fmt: skip
        hold_id = made.json()["hold"]["id"]
        path = f"{API}/credits/holds/{hold_id}/release"
        self.until_done("release", "POST", path, ok=(200, 409), json={}, headers=self._bearer())
        with self.record.lock:
            self.record.holds += 1

    def purchase(self) -> None:
        credits = random.randint(10, 50)
        started = self.until_done("purchase", "POST", f"{API}/credits/purchase", ok=(201,),
                                  json={"amount": credits}, headers=self._bearer())  # fmt: skip
        session = started.json()["id"]
        completed = stripe_events.checkout_completed("evt_" + secrets.token_hex(12), session,
                                                     credits)  # fmt: skip
        deliveries = [completed] * random.choice((1, 1, 2))  # duplicates
        if random.random() < 0.3:  # out of order: the async success before the completion
            early = stripe_events.checkout_completed("evt_" + secrets.token_hex(12), session,
                                                     credits)  # fmt: skip
            early["type"] = "checkout.session.async_payment_succeeded"
            deliveries.insert(0, early)
        for event in deliveries:
            body, headers = stripe_events.delivery(event, WEBHOOK_SECRET)
            self.until_done("webhook", "POST", "/stripe/webhook", data=body, headers=headers)
        with self.record.lock:
            self.record.purchases[session] = (self.email, credits)

    def balance(self) -> dict:
        response = self.until_done("balance", "GET", f"{API}/credits", headers=self._bearer())
        return response.json()

    def run(self) -> None:
        actions = [self.consume] * 5 + [self.introspect] * 3 + [self.client_credentials] * 3
        actions += [self.refresh] * 2 + [self.hold] * 2 + [self.purchase]
        while time.monotonic() < self.end:
            try:
                if self.tokens is None or random.random() < 0.03:
                    self.sign_in_and_authorize()
                    continue
                random.choice(actions)()
            except Unexpected:
                self.tokens = None  # start again from a sign-in
                time.sleep(0.2)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if not match:
        raise Unexpected("a page without its CSRF token")
    return match.group(1)


def _json_or_page(response) -> bool:
    kind = response.headers.get("Content-Type", "")
    if kind.startswith("application/json"):
        return response.json().get("error") == "temporarily_unavailable"
    return kind.startswith("text/html")


def run_clients(base: str, shop: dict, users: list[str], clients: int, seconds: float,
                record: Record) -> list[Client]:  # fmt: skip
    end = time.monotonic() + seconds
    made = [Client(base, shop, users[n % len(users)], record, end) for n in range(clients)]
    # Each user consents once, before the load: two browsers of one user consenting to
    # the same app at the same moment collide on the consent row (a 500, reported
    # separately), which is not what these runs measure.
    for client in made[: len(users)]:
        client.sign_in_and_authorize()
    threads = [threading.Thread(target=c.run, daemon=True) for c in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + RETRY_FOR + 60)
    return made


def verdict(record: Record, clients: list[Client], audit: tuple[bool, str]) -> list[str]:
    """Every reason the run failed (none: it passed)."""
    problems = []
    server_errors = [f for f in record.failures if f[3].startswith("5") and f[3] != "503"]
    if server_errors:
        problems.append(f"{len(server_errors)} 5xx answers other than 503: {server_errors[:3]}")
    outside = [f for f in record.failures if not _in_window(f, record.windows)]
    if outside:
        shown = [(f"{s - record.started:.1f}-{e - record.started:.1f} s", a, o)
                 for s, e, a, o in outside[:5]]  # fmt: skip
        problems.append(f"{len(outside)} failures outside the fault windows: {shown}")
    ids = [entry for _, _, entry in record.consumes.values()]
    if len(set(ids)) != len(ids):
        problems.append("two acknowledged consumes share one ledger entry")
    by_user = {}
    for client in clients:
        by_user.setdefault(client.email, client)
    for email, client in by_user.items():
        if client.tokens is None:
            client.sign_in_and_authorize()
        spent = sum(a for user, a, _ in record.consumes.values() if user == email)
        bought = sum(c for user, c in record.purchases.values() if user == email)
        state = client.balance()
        if state["balance"] != CREDITS - spent + bought:
            problems.append(
                f"{email}: balance {state['balance']}, expected {CREDITS - spent + bought}"
                f" ({CREDITS} - {spent} consumed + {bought} bought)"
            )
        if state.get("held"):
            problems.append(f"{email}: {state['held']} credits still held after every release")
    if not audit[0]:
        problems.append(f"flask wallet audit is not clean: {audit[1][-300:]}")
    return problems


def _in_window(failure, windows) -> bool:
    start, end = failure[0], failure[1]
    return any(start <= w_end and end >= w_start for _, w_start, w_end in windows)


def report(record: Record, problems: list[str], audit: tuple[bool, str], faults: list) -> str:
    lines = []
    total = sum(record.outcomes.values())
    failed = Counter()
    for (_, outcome), n in record.outcomes.items():
        if outcome != "ok":
            failed[outcome] += n
    lines.append(f"requests: {total}, answered as expected: {total - sum(failed.values())}")
    per_action = Counter()
    for (action, _), n in record.outcomes.items():
        per_action[action] += n
    lines.append("  by action: " + ", ".join(f"{a} {n}" for a, n in sorted(per_action.items())))
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(failed.items())) or "none"
    lines.append(f"errors by kind: {kinds}")
    for (action, outcome), n in sorted(record.outcomes.items()):
        if outcome != "ok":
            lines.append(f"  {action}: {outcome} x{n}")
    lines.append(
        f"acknowledged writes: {len(record.consumes)} consumes, {record.holds} holds released,"
        f" {len(record.purchases)} purchases settled by webhook"
    )
    for fault in faults:
        lines.append("fault: " + fault)
    for name, w_start, w_end in record.windows:
        inside = Counter(f[3] for f in record.failures if _in_window(f, [(name, w_start, w_end)]))
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(inside.items())) or "none"
        lines.append(f"  errors in the window of {name}: {kinds}")
    lines.append(f"ledger audit: {'clean' if audit[0] else 'NOT CLEAN'}: {audit[1][-200:]}")
    lines.append("verdict: " + ("PASS" if not problems else "FAIL"))
    lines += [f"  - {p}" for p in problems]
    return "\n".join(lines)
