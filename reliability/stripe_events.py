"""Stripe-format webhook deliveries (``checkout.session.completed``), signed the way
Stripe signs them, for the fault tests and the soak: the server verifies them with the
stripe library, as it verifies Stripe's."""

from __future__ import annotations

import hashlib
import hmac
import json
import time


def checkout_completed(event_id: str, session_id: str, credits: int) -> dict:
    """The event of a paid one-off checkout ``session_id`` (one the server recorded)."""
    return {
        "id": event_id,
        "object": "event",
        "created": int(time.time()),
        "type": "checkout.session.completed",
        "livemode": False,
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "mode": "payment",
                "status": "complete",
                "payment_status": "paid",
                "metadata": {"credits": str(credits)},
                "payment_intent": "pi_" + session_id,
            }
        },
    }


def delivery(event: dict, secret: str) -> tuple[bytes, dict]:
    """(body, headers) of one delivery of ``event``."""
    payload = json.dumps(event)
    t = int(time.time())
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    headers = {"Stripe-Signature": f"t={t},v1={mac}", "Content-Type": "application/json"}
    return payload.encode(), headers
