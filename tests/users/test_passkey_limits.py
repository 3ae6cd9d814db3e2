"""Rate limits on the passkey ceremonies: every challenge started is a stored row, and an
assertion that does not verify is a failed sign-in."""

import pytest

from .test_passkeys import Ceremonies


@pytest.fixture
def app_settings():
    return {"IDP_RATELIMIT_PASSKEY_OPTIONS": "3/minute", "IDP_RATELIMIT_LOGIN_IP": "2/minute"}


def test_ceremonies_started_and_failed_sign_ins_are_rate_limited(client):
    ceremonies = Ceremonies(client)
    for _ in range(3):
        assert ceremonies.post("/passkeys/sign-in/options").status_code == 200

    refused = ceremonies.post("/passkeys/sign-in/options")

    assert refused.status_code == 429 and refused.json["error"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) > 0
    for _ in range(2):
        assert ceremonies.post("/passkeys/sign-in", {"credential": {}}).status_code == 400
    assert ceremonies.post("/passkeys/sign-in", {"credential": {}}).status_code == 429
