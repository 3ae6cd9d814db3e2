"""What a partner app and a person do in the browser tests.

``Partner`` is the relying party: it builds authorization URLs (PKCE S256, state,
nonce), reads what its callback received and talks to the token endpoint with a
plain HTTP client.  ``HostedPages`` fills in the IdP's own pages the way a person
would: by label and button name.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from urllib.parse import urlencode, urlsplit

import jwt
from playwright.sync_api import expect

from idp.pages.views import SCOPE_TEXT
from tests.helpers import pkce_pair, query_of


class Partner:
    """A public client (PKCE) registered with a redirect URI on the loopback server."""

    def __init__(self, issuer: str, client_id: str, redirect_uri: str, server):
        self.issuer = issuer
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.server = server
        self.state = self.nonce = self.verifier = None

    def authorize_url(self, scope: str = "openid profile email", **extra) -> str:
        """A fresh authorization request; remembers its state, nonce and PKCE verifier."""
        self.state, self.nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        self.verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": scope,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        return f"{self.issuer}/oauth/authorize?{urlencode(params)}"

    def is_callback(self, url: str) -> bool:
        return url.startswith(self.redirect_uri + "?")

    def received(self) -> dict:
        """The query of the last request the partner's callback answered."""
        path = urlsplit(self.redirect_uri).path
        hits = [h for h in self.server.hits if urlsplit(h).path == path]
        assert hits, f"the callback {self.redirect_uri} was never reached"
        return query_of(hits[-1])

    def exchange(self, code: str) -> tuple[int, dict]:
        return self.token_request(
            grant_type="authorization_code",
            code=code,
            redirect_uri=self.redirect_uri,
            code_verifier=self.verifier,
        )

    def refresh(self, refresh_token: str) -> tuple[int, dict]:
        return self.token_request(grant_type="refresh_token", refresh_token=refresh_token)

    def token_request(self, **form) -> tuple[int, dict]:
        """POST to /oauth/token as this public client; returns (status, JSON body)."""
        data = urlencode({"client_id": self.client_id, **form}).encode()
        request = urllib.request.Request(f"{self.issuer}/oauth/token", data=data)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.load(error)

    def id_claims(self, id_token: str) -> dict:
        """Verify the ID token like a real RP: JWKS over HTTP, RS256, iss, aud, nonce."""
        jwks = jwt.PyJWKClient(f"{self.issuer}/.well-known/jwks.json")
        claims = jwt.decode(
            id_token,
            jwks.get_signing_key_from_jwt(id_token).key,
            algorithms=["RS256"],
            audience=self.client_id,
            issuer=self.issuer,
        )
        assert claims["nonce"] == self.nonce
        return claims

    def assert_code_received(self) -> str:
        """The callback got a code for the request just made, with its state and our iss."""
        got = self.received()
        assert set(got) == {"code", "state", "iss"}, got
        assert got["state"] == self.state
        assert got["iss"] == self.issuer  # RFC 9207
        return got["code"]

    def tokens(self) -> dict:
        """Exchange the code the callback received; asserts it works."""
        status, body = self.exchange(self.assert_code_received())
        assert status == 200, body
        assert body["token_type"].lower() == "bearer"
        return body


class HostedPages:
    """A person using the IdP's hosted pages in one browser tab."""

    def __init__(self, page, issuer: str):
        self.page = page
        self.issuer = issuer

    def heading(self):
        return self.page.get_by_role("heading", level=1)

    def error(self):
        """The page's inline error (an ARIA live alert, never a dialog)."""
        return self.page.get_by_role("alert")

    def sign_in(self, email: str, password: str) -> None:
        expect(self.heading()).to_contain_text("Sign in")
        self.page.get_by_label("Email address").fill(email)
        self.page.get_by_label("Password", exact=True).fill(password)
        self.page.get_by_role("button", name="Sign in").click()

    def sign_up(self, email: str, password: str, name: str = "") -> None:
        expect(self.heading()).to_have_text("Create your account")
        self.page.get_by_label("Your name").fill(name)
        self.page.get_by_label("Email address").fill(email)
        self.page.get_by_label("Password", exact=True).fill(password)
        self.page.get_by_role("button", name="Create account").click()

    def enter_code(self, code: str) -> None:
        expect(self.heading()).to_have_text("Check your email")
        self.page.get_by_label("Verification code").fill(code)
        self.page.get_by_role("button", name="Verify").click()

    def expect_consent(self, partner_name: str, scopes: list[str]) -> None:
        """The consent page names the app and lists exactly the requested scopes."""
        expect(self.heading()).to_have_text(f"{partner_name} wants to access your account")
        items = self.page.locator("ul.scopes > li")
        expect(items).to_have_text([str(SCOPE_TEXT[s]) for s in scopes])
        assert [items.nth(i).get_attribute("data-scope") for i in range(len(scopes))] == scopes

    def allow(self, partner: Partner) -> None:
        """Click Allow and wait until the browser lands on the partner's callback."""
        self.page.get_by_role("button", name="Allow").click()
        self.page.wait_for_url(partner.is_callback)
