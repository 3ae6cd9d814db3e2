"""What the second-factor tests do again and again: enrol an authenticator app from the
account page, sign in with the second step, read the codes the pages show."""

from __future__ import annotations

import html
import re

import pyotp

from idp.users import totp
from tests.helpers import PASSWORD, Browser, csrf_of

# A fixed instant in the middle of a 30-second step: codes computed for it and the steps
# around it never straddle a boundary while a test runs.
T0 = 1_900_000_005


def code_at(secret: str, steps: int = 0) -> str:
    """The authenticator app's code ``steps`` steps after T0."""
    return pyotp.TOTP(secret).at(T0 + 30 * steps)


def at_step(monkeypatch, steps: int) -> None:
    """Set the server's clock ``steps`` steps after T0."""
    monkeypatch.setattr(totp, "_clock", lambda: T0 + 30 * steps)


class Mfa:
    """One browser's actions on the two-step pages."""

    def __init__(self, http):
        self.http = http
        self.browser = Browser(http)

    def csrf(self, path: str = "/account") -> str:
        return csrf_of(self.http.get(path).data)

    def start(self) -> str:
        """Start setting up an authenticator app; the secret the setup page shows."""
        response = self.http.post("/account/two-step/start", data={"csrf_token": self.csrf()})
        assert response.status_code == 302, response.data[:300]
        page = self.http.get("/account/two-step").data.decode()
        return re.search(r'id="totp-secret" class="secret">([A-Z2-7]+)<', page).group(1)

    def confirm(self, code: str, **form):
        token = self.csrf("/account/two-step")
        return self.http.post("/account/two-step", data={"code": code, "csrf_token": token, **form})

    def enrol(self, monkeypatch, step: int = -1) -> tuple[str, list[str]]:
        """Turn the app on (the code of ``step``); (secret, the recovery codes shown)."""
        secret = self.start()
        at_step(monkeypatch, 0)
        response = self.confirm(code_at(secret, step))
        assert response.status_code == 200, response.data[:500]
        return secret, recovery_codes_of(response)

    def second_step(self, path: str = "/login/second-factor", **fields):
        """Open the second step page at ``path`` and submit its form with ``fields``."""
        page = self.http.get(path)
        assert page.status_code == 200, (page.status_code, page.headers.get("Location"))
        found = re.search(r'<form method="post" action="([^"]+)"', page.data.decode())
        data = {"csrf_token": csrf_of(page.data), **fields}
        return self.http.post(html.unescape(found.group(1)), data=data)

    def sign_in(self, code: str | None = None, recovery: str | None = None, **params):
        """Password, then the second step (a TOTP code or a recovery code)."""
        response = self.browser.login(**params)
        assert response.status_code == 302, response.data[:300]
        location = response.headers["Location"]
        assert location.startswith("/login/second-factor"), location
        if recovery is not None:
            joiner = "&" if "?" in location else "?"
            return self.second_step(location + joiner + "method=recovery", recovery_code=recovery)
        return self.second_step(location, code=code)


def recovery_codes_of(response) -> list[str]:
    return re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", response.data.decode())


__all__ = ["PASSWORD", "T0", "Mfa", "at_step", "code_at", "recovery_codes_of"]
