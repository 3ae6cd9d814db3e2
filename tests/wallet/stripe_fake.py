"""A local stand-in for Stripe's API, and Stripe-signed webhook deliveries.

``FakeStripe`` is a threaded ``http.server`` on 127.0.0.1 (a free port) that answers the
calls we make like api.stripe.com does (form-encoded requests, JSON objects with
``"object"`` and ``cs_test_...``-style ids) and records every request, so tests assert
the exact parameters we send.  ``fail_with`` switches it to Stripe's error format.
Stripe's real servers are never contacted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

WEBHOOK_SECRET = "whsec_test_" + "s" * 32
SECRET_KEY = "sk_test_fake_" + "k" * 24


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]  # form-decoded, nested keys flat: "metadata[user_sub]"
    headers: dict[str, str] = field(default_factory=dict)


class FakeStripe:
    """Answers POST /v1/customers, /v1/checkout/sessions, /v1/billing_portal/sessions and
    /v1/payment_intents (off-session, answered once per idempotency key as Stripe does);
    GET of a customer, its saved payment methods, a Checkout Session, a PaymentIntent
    (with ``expand[]`` of the charge and its receipt) and an invoice; POST to a customer
    (its default payment method).  ``save_card`` gives a customer a card."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.failure: dict | None = None
        self.cards: dict[str, list[str]] = {}  # customer -> saved payment methods
        self.defaults: dict[str, str] = {}  # customer -> default payment method
        self.intents: dict[str, dict] = {}  # PaymentIntents by idempotency key
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeStripe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def calls(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def fail_with(
        self, status=402, type="card_error", code="card_declined", message=None, path=None
    ):
        """Answer every request (or those to ``path``) with Stripe's error body until
        ``recover()``."""
        self.failure = {
            "path": path,
            "status": status,
            "error": {
                "type": type,
                "code": code,
                "message": message or "Your card was declined.",
                "doc_url": f"https://stripe.com/docs/error-codes/{code}",
                "request_log_url": "https://dashboard.stripe.com/test/logs/req_fake",
            },
        }

    def recover(self) -> None:
        self.failure = None

    def reset(self) -> None:
        """Forget recorded requests, saved cards, payments and any failure (between tests)."""
        with self._lock:
            self.requests.clear()
            self.cards.clear()
            self.defaults.clear()
            self.intents.clear()
        self.failure = None

    def save_card(self, customer: str) -> str:
        """A card saved to ``customer`` (as a Checkout with ``setup_future_usage`` does)."""
        method = "pm_test_" + secrets.token_hex(7)
        self.cards.setdefault(customer, []).append(method)
        return method

    # -- Stripe objects -----------------------------------------------------------------

    def answer(
        self, path: str, params: dict[str, str], method: str = "POST", key: str | None = None
    ) -> tuple[int, dict]:
        if self.failure is not None and self.failure["path"] in (None, path):
            return self.failure["status"], {"error": self.failure["error"]}
        for verb, pattern, build_one in _ROUTES:
            found = re.fullmatch(pattern, path)
            if found and verb == method:
                return 200, build_one(self, found.group(1), params, key)
        build = {
            "/v1/customers": _customer,
            "/v1/checkout/sessions": _checkout_session,
            "/v1/billing_portal/sessions": _portal_session,
        }.get(path)
        if build is None:
            error = {
                "type": "invalid_request_error",
                "message": f"Unrecognized request URL (POST: {path}).",
            }
            return 404, {"error": error}
        return 200, build(params)


def _handler_for(fake: FakeStripe):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            parts = urlsplit(self.path)
            self._answer("GET", parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)))

        def do_DELETE(self):
            self._answer("DELETE", urlsplit(self.path).path, {})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            self._answer("POST", self.path, dict(parse_qsl(body, keep_blank_values=True)))

        def _answer(self, method: str, path: str, params: dict[str, str]):
            record = Recorded(method, path, params, dict(self.headers.items()))
            with fake._lock:
                fake.requests.append(record)
            if not self.headers.get("Authorization", "").startswith("Bearer sk_"):
                status, payload = 401, {"error": {"type": "invalid_request_error"}}
            else:
                key = self.headers.get("Idempotency-Key")
                status, payload = fake.answer(path, params, method, key)
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.send_header("Request-Id", "req_" + secrets.token_hex(7))
            self.send_header("Stripe-Should-Retry", "false")
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args):  # keep test output clean
            pass

    return Handler


def nested(params: dict[str, str], prefix: str) -> dict[str, str]:
    """``metadata[user_sub]`` style keys under ``prefix``, as a plain dict."""
    start = prefix + "["
    return {
        k[len(start) : -1]: v
        for k, v in params.items()
        if k.startswith(start) and "][" not in k[len(start) :]
    }


def _customer(params: dict[str, str]) -> dict:
    return {
        "id": "cus_test_" + secrets.token_hex(7),
        "object": "customer",
        "email": params.get("email"),
        "name": params.get("name"),
        "metadata": nested(params, "metadata"),
        "created": int(time.time()),
        "livemode": False,
    }


def _checkout_session(params: dict[str, str]) -> dict:
    session_id = "cs_test_" + secrets.token_hex(24)
    return {
        "id": session_id,
        "object": "checkout.session",
        "mode": params.get("mode"),
        "status": "open",
        "payment_status": "unpaid",
        "customer": params.get("customer"),
        "client_reference_id": params.get("client_reference_id"),
        "metadata": nested(params, "metadata"),
        "success_url": params.get("success_url"),
        "cancel_url": params.get("cancel_url"),
        "url": f"https://checkout.stripe.com/c/pay/{session_id}#fidkdWxOYHwnPyd1blpxYHZxWjA0",
        "payment_intent": None,
        "subscription": None,
        "created": int(time.time()),
        "expires_at": int(time.time()) + 86400,
        "livemode": False,
    }


def _portal_session(params: dict[str, str]) -> dict:
    return {
        "id": "bps_test_" + secrets.token_hex(12),
        "object": "billing_portal.session",
        "customer": params.get("customer"),
        "return_url": params.get("return_url"),
        "url": "https://billing.stripe.com/p/session/test_" + secrets.token_hex(12),
        "created": int(time.time()),
        "livemode": False,
    }


def _customer_of(fake: FakeStripe, customer: str, params: dict, key) -> dict:
    settings = {"default_payment_method": fake.defaults.get(customer)}
    return {"id": customer, "object": "customer", "invoice_settings": settings}


def _update_customer(fake: FakeStripe, customer: str, params: dict, key) -> dict:
    method = params.get("invoice_settings[default_payment_method]")
    if method:
        fake.defaults[customer] = method
    return _customer_of(fake, customer, params, key)


def _saved_methods(fake: FakeStripe, customer: str, params: dict, key) -> dict:
    cards = list(reversed(fake.cards.get(customer, [])))  # newest first, as Stripe lists
    data = [
        {"id": m, "object": "payment_method", "type": "card", "customer": customer} for m in cards
    ]
    url = f"/v1/customers/{customer}/payment_methods"
    return {"object": "list", "data": data, "has_more": False, "url": url}


def _payment_intent(fake: FakeStripe, _: str, params: dict, key) -> dict:
    """An off-session PaymentIntent, confirmed at once; the same key answers the same one."""
    with fake._lock:
        if key in fake.intents:
            return fake.intents[key]
        tag = secrets.token_hex(10)
        intent = {
            "id": "pi_test_" + tag,
            "object": "payment_intent",
            "status": "succeeded",
            "amount": int(params["amount"]),
            "currency": params.get("currency"),
            "customer": params.get("customer"),
            "payment_method": params.get("payment_method"),
            "off_session": params.get("off_session") == "true",
            "metadata": nested(params, "metadata"),
            "latest_charge": "ch_test_" + tag,
            "livemode": False,
        }
        fake.intents[key or intent["id"]] = intent
        return intent


def receipt_of(charge: str) -> str:
    return f"https://pay.stripe.com/receipts/payment/{charge}"


def _charge(charge: str) -> dict:
    return {"id": charge, "object": "charge", "receipt_url": receipt_of(charge)}


def _intent_of(fake: FakeStripe, intent_id: str, params: dict, key) -> dict:
    found = next((i for i in fake.intents.values() if i["id"] == intent_id), None)
    intent = dict(found or {"id": intent_id, "object": "payment_intent", "status": "succeeded"})
    intent.setdefault("latest_charge", "ch_test_" + intent_id.removeprefix("pi_"))
    if "latest_charge" in params.values():
        intent["latest_charge"] = _charge(intent["latest_charge"])
    return intent


def _session_of(fake: FakeStripe, session_id: str, params: dict, key) -> dict:
    charge = "ch_test_" + session_id.removeprefix("cs_")[:20]
    intent = {"id": "pi_test_" + charge[8:], "object": "payment_intent", "latest_charge": charge}
    if "payment_intent.latest_charge" in params.values():
        intent["latest_charge"] = _charge(charge)
    return {"id": session_id, "object": "checkout.session", "payment_intent": intent}


def _invoice_of(fake: FakeStripe, invoice_id: str, params: dict, key) -> dict:
    url = f"https://invoice.stripe.com/i/{invoice_id}"
    return {"id": invoice_id, "object": "invoice", "hosted_invoice_url": url}


def _cancelled_subscription(fake, subscription_id: str, params, key) -> dict:
    return {
        "id": subscription_id,
        "object": "subscription",
        "status": "canceled",
        "canceled_at": int(time.time()),
    }


_ROUTES = [
    ("GET", r"/v1/customers/([^/]+)/payment_methods", _saved_methods),
    ("GET", r"/v1/customers/([^/]+)", _customer_of),
    ("POST", r"/v1/customers/([^/]+)", _update_customer),
    ("POST", r"/v1/payment_intents()", _payment_intent),
    ("GET", r"/v1/payment_intents/([^/]+)", _intent_of),
    ("GET", r"/v1/checkout/sessions/([^/]+)", _session_of),
    ("GET", r"/v1/invoices/([^/]+)", _invoice_of),
    ("DELETE", r"/v1/subscriptions/([^/]+)", _cancelled_subscription),
]


# -- webhook deliveries ------------------------------------------------------------------


def event(type: str, obj: dict, *, id: str | None = None, created: int | None = None) -> dict:
    """A Stripe event envelope around ``obj``."""
    return {
        "id": id or "evt_test_" + secrets.token_hex(12),
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()) if created is None else created,
        "livemode": False,
        "pending_webhooks": 1,
        "type": type,
        "data": {"object": obj},
    }


def signature(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Stripe's ``Stripe-Signature``: ``t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">``.
    Computed here independently of the stripe library the server verifies with."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def signed(evt: dict, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    """(body, headers) of a delivery of ``evt``."""
    payload = json.dumps(evt)
    return payload, {
        "Stripe-Signature": signature(payload, secret, timestamp),
        "Content-Type": "application/json",
    }
