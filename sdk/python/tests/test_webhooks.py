"""verify_webhook against deliveries signed by the reference ``standardwebhooks``
library (an implementation independent of ours), and the FastAPI helper.  The server's
own deliveries are verified by the server's tests (tests/events/test_sdk_verify.py)."""

import json
import time
from datetime import UTC, datetime

import pytest

from cross_app_sdk.webhooks import (
    WebhookEvent,
    WebhookVerificationError,
    fastapi_dependency,
    verify_webhook,
)

standardwebhooks = pytest.importorskip("standardwebhooks.webhooks")

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = json.dumps(
    {
        "id": "evt_1",
        "type": "credits.purchased",
        "timestamp": "2026-12-01T12:00:00Z",
        "data": {"sub": "user-1", "credits": 25},
    }
)


def signed(body: str = BODY, msg_id: str = "evt_1", when: datetime | None = None) -> dict:
    when = when or datetime.now(UTC)
    signature = standardwebhooks.Webhook(SECRET).sign(msg_id, when, body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
    }


def test_a_reference_signature_verifies_into_a_typed_event():
    event = verify_webhook(BODY.encode(), signed(), SECRET)
    assert (event.id, event.type, event.sub) == ("evt_1", "credits.purchased", "user-1")
    assert event.data["credits"] == 25
    assert event.timestamp == datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_any_of_several_signatures_may_match():
    headers = signed()
    headers["webhook-signature"] = "v1,AAAA " + headers["webhook-signature"]
    assert verify_webhook(BODY, headers, SECRET).id == "evt_1"


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        (lambda: {**signed(), "webhook-signature": "v2,abc"}, BODY, "invalid_signature"),
        (lambda: signed(msg_id="evt_2"), BODY, "invalid_payload"),  # header and body disagree
        (
            lambda: signed(when=datetime.fromtimestamp(time.time() - 600, UTC)),
            BODY,
            "timestamp_out_of_tolerance",
        ),
        (lambda: signed(body="{}"), "{}", "invalid_payload"),
        (lambda: {}, BODY, "missing_headers"),
    ],
)
def test_refusals(headers, body, reason):
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(body, headers(), SECRET)
    assert caught.value.reason == reason


def test_a_malformed_secret_is_refused():
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(BODY, signed(), "whsec_not base64!")
    assert caught.value.reason == "invalid_secret"


def test_the_fastapi_dependency():
    import asyncio
    from typing import Annotated

    import httpx
    from fastapi import Depends, FastAPI

    app = FastAPI()
    verified = Annotated[WebhookEvent, Depends(fastapi_dependency(SECRET))]

    @app.post("/hooks")
    def hooks(event: verified):
        return {"type": event.type}

    async def post(body: str):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.post("/hooks", content=body, headers=signed())

    good = asyncio.run(post(BODY))
    assert good.json() == {"type": "credits.purchased"}
    assert asyncio.run(post(BODY + " ")).status_code == 400
