"""Helpers shared by the tests (flaskr's AuthActions pattern)."""

from __future__ import annotations

import base64
import functools
import json
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from idp.apps import services as app_services
from idp.core.db_types import utcnow
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
        data.setdefault("name", f"Test app {data.get('client_id') or secrets.token_hex(4)}")
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

    def partner(self, name: str, scopes: str, origin: bool = False, **extra) -> dict:
        """A confidential partner web app on https://NAME.example: its own audience, one
        redirect URI (``/cb``) and, with ``origin``, its origin allowed for CORS."""
        site = f"https://{name}.example"
        extra.setdefault("redirect_uris", [f"{site}/cb"])
        if origin:
            extra.setdefault("allowed_origins", [site])
        return self.confidential(name, scopes, audience=extra.pop("audience", site), **extra)

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
        return token_request(http, app, form, style)


def token_request(http, app: dict, form: dict, style: str = "basic", **headers):
    """POST ``form`` to the token endpoint as ``app``: HTTP Basic (``style="basic"``,
    client_secret_basic) or the secret in the body (``"post"``, client_secret_post);
    a public app (no secret) names itself in the form."""
    if not app.get("client_secret"):
        form = {**form, "client_id": app["client_id"]}
    elif style == "post":
        form = {**form, "client_id": app["client_id"], "client_secret": app["client_secret"]}
    else:
        headers = {**headers, **basic(app)}
    return http.post("/oauth/token", data=form, headers=headers)


def basic(app: dict) -> dict:
    raw = f"{app['client_id']}:{app['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# -- people and browsers ------------------------------------------------------------------
import hashlib  # noqa: E402
import html  # noqa: E402
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

    def consent(self, url: str, decision: str = "allow"):
        page = self.http.get(url)
        assert page.status_code == 200, page.data[:500]
        return self.http.post(url, data={"csrf_token": csrf_of(page.data), "decision": decision})


def at_hash(access_token: str) -> str:
    """OIDC Core section 3.1.3.6: left half of SHA-256, base64url without padding."""
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def logout_url(**params) -> str:
    """/oauth/logout with ``params`` (a parameter given as None is left out)."""
    return "/oauth/logout?" + urlencode({k: v for k, v in params.items() if v is not None})


def form_action(page) -> str:
    """Where the page's (one) POST form submits."""
    match = re.search(r'<form method="post" action="([^"]+)"', page.data.decode())
    return html.unescape(match.group(1))


def confirm_logout(http, url: str):
    """Open the logout page (a confirmation: GET signs nobody out), then submit it."""
    page = http.get(url)
    assert page.status_code == 200, page.data[:500]
    assert "Location" not in page.headers
    return http.post(form_action(page), data={"csrf_token": csrf_of(page.data)})


def mail_code(mailbox) -> str:
    """The 6-digit code from the newest message."""
    body = mailbox.messages[-1].get_payload(decode=True).decode()
    return re.search(r"\b(\d{6})\b", body).group(1)


def mail_link(mailbox) -> str:
    body = mailbox.messages[-1].get_payload(decode=True).decode()
    return re.search(r"(https?://\S+)", body).group(1)


def authorize_url(
    client_id: str,
    redirect_uri: str | None,
    scope: str = "openid profile email",
    challenge: str | None = None,
    **extra,
) -> str:
    """An authorization request (a parameter given as None is left out)."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": "st-123",
    }
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra)
    return "/oauth/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


class Flow:
    """Walks the authorization-code flow (PKCE, consent when asked) for one browser:
    the one flow helper of the suite.  ``http`` is the test client that sends the
    requests; ``browser`` a :class:`Browser` on it (for the consent page)."""

    def __init__(self, http, browser: Browser | None = None):
        self.http = http
        self.browser = browser or Browser(http)

    @staticmethod
    def redirect_uri(app: dict) -> str:
        return app["redirect_uris"][0]

    def url(self, app: dict, scope: str = "openid", challenge: str | None = None, **extra) -> str:
        """An authorization request for ``app``; a parameter given as None is left out."""
        params = {"redirect_uri": self.redirect_uri(app), **extra}
        return authorize_url(app["client_id"], scope=scope, challenge=challenge, **params)

    def authorize(self, app: dict, scope: str = "openid", pkce: bool = True, **extra):
        """GET /oauth/authorize; returns (response, verifier or None, url)."""
        verifier, challenge = pkce_pair() if pkce else (None, None)
        url = self.url(app, scope, challenge, **extra)
        return self.http.get(url), verifier, url

    def code(self, app: dict, scope: str = "openid", pkce: bool = True, **extra):
        """Authorize (consenting when asked); returns (code, verifier or None)."""
        verifier, challenge = pkce_pair() if pkce else (None, None)
        return self.code_for(app, scope, challenge, **extra), verifier

    def code_for(self, app: dict, scope: str, challenge: str | None = None, **extra) -> str:
        """A code for this signed-in browser, with ``challenge`` (None: no PKCE)."""
        url = self.url(app, scope, challenge, **extra)
        response = self.http.get(url)
        if response.status_code == 200:  # the consent page
            response = self.browser.consent(url)
        assert response.status_code == 302, response.data[:500]
        location = response.headers["Location"]
        assert location.startswith(self.redirect_uri(app) + "?"), location
        params = query_of(location)
        assert "code" in params, params
        return params["code"]

    @staticmethod
    def code_form(app: dict, code: str, verifier=None, redirect_uri=None) -> dict:
        """The token request for ``code``; a public app names itself in it."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri or app["redirect_uris"][0],
        }
        if verifier:
            form["code_verifier"] = verifier
        if not app.get("client_secret"):
            form["client_id"] = app["client_id"]
        return form

    def exchange(self, app: dict, code: str, verifier=None, redirect_uri=None, auth=None, **hdrs):
        """POST the code to /oauth/token as ``auth`` (default: ``app`` itself)."""
        form = self.code_form(app, code, verifier, redirect_uri)
        if auth is not None and auth is not app:
            form.pop("client_id", None)
        return self.token_request(auth or app, form, **hdrs)

    def refresh(self, app: dict, refresh_token: str, scope: str | None = None):
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if scope is not None:
            form["scope"] = scope
        return self.token_request(app, form)

    def token_request(self, app: dict, form: dict, **headers):
        """HTTP Basic for a confidential app; a public app names itself in the form."""
        return token_request(self.http, app, form, **headers)

    def tokens(self, app: dict, scope: str = "openid", **extra) -> dict:
        """The whole flow; returns the token response body."""
        code, verifier = self.code(app, scope, **extra)
        response = self.exchange(app, code, verifier)
        assert response.status_code == 200, response.json
        return response.json


def user_tokens(
    http,
    app: dict,
    scope: str = "openid",
    email: str = "ada@example.com",
    password: str = PASSWORD,
    sign_in: bool = True,
) -> dict:
    """Sign in (unless ``http`` already holds a session) and run the whole
    authorization-code flow for ``app``; the token response."""
    flow = Flow(http)
    if sign_in:
        assert flow.browser.login(email, password).status_code == 302
    return flow.tokens(app, scope)


def stored_refresh_token(user, apps: Apps) -> None:
    """A refresh token of ``user`` for an app "shop" (family "family-1"), stored as the
    refresh grant stores it: for tests of what ends a user's access."""
    from idp.apps.services import query_client
    from idp.oauth2 import services as oauth

    apps.create(
        client_id="shop",
        redirect_uris=["https://shop.example/cb"],
        allowed_scopes="openid offline_access",
        audience="https://shop.example",
    )
    oauth.save_refresh_token(
        "refresh-1",
        query_client("shop"),
        oauth.Subject(user.id, user.sub, utcnow()),
        "openid offline_access",
        "family-1",
    )


def mint_tokens(app: dict, user, scope: str, refresh: bool = False) -> dict:
    """``user``'s tokens for ``app`` as the token endpoint issues them after consent,
    without walking the pages: a real consent row, the server's own token generator
    (RS256 with the active key), and a refresh token stored as a grant stores it.
    For tests whose subject is not the login flow."""
    from idp.apps.services import query_client
    from idp.core.db_types import utcnow
    from idp.oauth2 import services as oauth
    from idp.oauth2.server import authorization_server

    oauth.grant_consent(user.id, app["client_id"], scope)
    client = query_client(app["client_id"])
    subject = oauth.Subject(user.id, user.sub, utcnow())
    token = authorization_server().generate_token(
        "authorization_code", client, subject, scope, include_refresh_token=refresh
    )
    if refresh:
        oauth.save_refresh_token(
            token["refresh_token"], client, subject, scope, secrets.token_hex(16)
        )
    return dict(token)
