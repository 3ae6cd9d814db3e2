"""Helpers shared by the tests (flaskr's AuthActions pattern)."""

from __future__ import annotations

import base64
import functools
import json
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from idp.apps import services as app_services
from idp.db_types import utcnow
from keys import services as key_services
from keys.models import ACTIVE, NEXT
from keys.signer import key_cache

FILES = Path(__file__).parent / "files"
KEK = base64.urlsafe_b64encode(b"k" * 32).decode()


@functools.cache
def fixed_private_key(n: int):
    """Loaded once per session: parsing checks the RSA key, ~50 ms each time."""
    return serialization.load_pem_private_key((FILES / f"rsa_key_{n}.pem").read_bytes(), None)


def install_fixed_keys():
    """Active = rsa_key_1, next = rsa_key_2, both published long enough to rotate."""
    long_ago = utcnow() - timedelta(days=1)
    active = key_services.import_key(fixed_private_key(1), ACTIVE, long_ago)
    nxt = key_services.import_key(fixed_private_key(2), NEXT, long_ago)
    key_cache().invalidate()
    return {"active": active.kid, "next": nxt.kid}


def b64_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def b64_header(token: str) -> dict:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))


class Apps:
    """Register partner apps and get tokens for them."""

    def create(self, **data) -> dict:
        data.setdefault("name", "Test app")
        data.setdefault("type", "confidential")
        app, secret = app_services.create(data)
        return {**app_services.to_dict(app), "client_secret": secret}

    def confidential(self, client_id: str, scopes: str = "credits:read", **extra) -> dict:
        return self.create(
            client_id=client_id,
            allowed_scopes=scopes,
            audience=extra.pop("audience", f"https://{client_id}.example"),
            **extra,
        )

    def admin(self, client_id: str = "ops-admin") -> dict:
        return self.create(
            client_id=client_id,
            allowed_scopes="admin",
            first_party=True,
            audience="https://ops.example",
        )

    @staticmethod
    def token(http, app: dict, scope: str | None = None, style: str = "basic"):
        """POST a client-credentials request; returns the Flask/requests-like response."""
        form = {"grant_type": "client_credentials"}
        if scope is not None:
            form["scope"] = scope
        if style == "post":
            form.update(client_id=app["client_id"], client_secret=app["client_secret"])
            return http.post("/oauth/token", data=form)
        return http.post("/oauth/token", data=form, headers=basic(app))


def basic(app: dict) -> dict:
    raw = f"{app['client_id']}:{app['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# -- people and browsers ------------------------------------------------------------------
import hashlib  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
from urllib.parse import parse_qs, urlencode, urlsplit  # noqa: E402

PASSWORD = "correct horse battery"


def make_user(
    email: str = "ada@example.com", password: str = PASSWORD, verified=True, name: str = "Ada"
):
    from idp.users import services as users

    return users.create(email, password, name, verified=verified)


def csrf_of(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    match = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert match, "page has no CSRF token"
    return match.group(1)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def query_of(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class Browser:
    """Drives the hosted pages through a Flask test client that keeps cookies."""

    def __init__(self, http):
        self.http = http

    def login(self, email="ada@example.com", password=PASSWORD, **params):
        page = self.http.get("/login", query_string=params)
        form = {"email": email, "password": password, "csrf_token": csrf_of(page.data), **params}
        return self.http.post("/login", data=form)

    def authorize_url(
        self,
        client_id: str,
        redirect_uri: str,
        scope="openid profile email",
        challenge: str | None = None,
        **extra,
    ) -> str:
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": "st-123",
            **extra,
        }
        if challenge:
            params.update(code_challenge=challenge, code_challenge_method="S256")
        return "/oauth/authorize?" + urlencode(params)

    def consent(self, url: str, decision: str = "allow"):
        page = self.http.get(url)
        assert page.status_code == 200, page.data[:500]
        return self.http.post(url, data={"csrf_token": csrf_of(page.data), "decision": decision})


def mail_code(mailbox) -> str:
    """The 6-digit code from the newest message."""
    body = mailbox.messages[-1].get_payload(decode=True).decode()
    return re.search(r"\b(\d{6})\b", body).group(1)


def mail_link(mailbox) -> str:
    body = mailbox.messages[-1].get_payload(decode=True).decode()
    return re.search(r"(https?://\S+)", body).group(1)


def user_tokens(
    http, app: dict, scope: str, email: str = "ada@example.com", password: str = PASSWORD
) -> dict:
    """Run the authorization-code flow (PKCE, consent) for ``app`` and return the token
    response.  ``app`` is a dict from :class:`Apps` with one registered redirect URI."""
    browser = Browser(http)
    browser.login(email, password)
    verifier, challenge = pkce_pair()
    redirect_uri = app["redirect_uris"][0]
    url = browser.authorize_url(app["client_id"], redirect_uri, scope, challenge)
    response = http.get(url)
    if response.status_code == 200:  # consent page
        response = browser.consent(url)
    code = query_of(response.headers["Location"])["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
        "client_id": app["client_id"],
    }
    headers = basic(app) if app.get("client_secret") else {}
    if headers:
        form.pop("client_id")
    token = http.post("/oauth/token", data=form, headers=headers)
    assert token.status_code == 200, token.json
    return token.json
