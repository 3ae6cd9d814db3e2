"""Guessing the second factor: wrong codes count per account (whatever the browser or
its address) and per IP, like wrong passwords; the refused form is shown again with the
wait."""

from __future__ import annotations

import pytest

from idp.users import totp
from tests.pages.html import read

from .mfa_actions import Mfa, code_at


def browser_at(app, ip: str) -> Mfa:
    http = app.test_client()
    http.environ_base["REMOTE_ADDR"] = ip
    return Mfa(http)


@pytest.mark.redis
def test_wrong_codes_are_limited_per_account(make_app, user, monkeypatch):
    limited = make_app(IDP_RATELIMIT_LOGIN_ACCOUNT="3/minute")
    owner = browser_at(limited, "10.0.1.1")
    assert owner.browser.login().status_code == 302
    secret, _ = owner.enrol(monkeypatch)
    for ip in ("10.0.1.2", "10.0.1.3", "10.0.1.4"):  # spread over IPs: the account counts
        assert browser_at(limited, ip).sign_in("000000").status_code == 401
    refused = browser_at(limited, "10.0.1.5").sign_in(code_at(secret, 0))
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    [alert] = read(refused.data).alerts
    assert alert.startswith("Too many attempts.")
    assert totp.enabled(user)  # the account itself is untouched
