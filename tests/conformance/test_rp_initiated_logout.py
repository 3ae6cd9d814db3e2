"""The OpenID Foundation's RP-Initiated Logout OP plan, one test per module.

What every module checks: a logout request the OP accepts ends the session (after it a
``prompt=none`` request answers ``login_required``) and returns only to a registered
``post_logout_redirect_uri`` of the client the ``id_token_hint`` names, with ``state``
when one was sent; for bad input the OP does not redirect, it shows an error page, and
the user stays signed in.  GET shows a confirmation (the suite accepts one); its form
POSTs the request.
"""

from __future__ import annotations

import jwt
import pytest

from idp.audit import services as audit
from tests.helpers import b64_claims, confirm_logout, csrf_of, logout_url

from .conftest import RP_BYE, RP_CB, prompt_none


@pytest.fixture
def hint(op, rp) -> str:
    """Signed in, consented, and holding an ID token for ``rp``."""
    body = op.login(rp)
    op.id_token(body, rp)
    return body["id_token"]


def signed_out(op, rp) -> bool:
    answer = prompt_none(op, rp)
    if "code" in answer:
        return False
    assert answer["error"] == "login_required"
    return True


def refused(op, rp, url: str) -> None:
    """An error page of ours (400, ``invalid_request``), by GET and by POST alike: no
    redirect, nobody signed out."""
    for method in ("GET", "POST"):
        if method == "GET":
            response = op.http.get(url)
        else:
            token = csrf_of(op.http.get("/logout").data)
            response = op.http.post(url, data={"csrf_token": token})
        assert response.status_code == 400
        assert "Location" not in response.headers
        assert b"<code>invalid_request</code>" in response.data
    assert audit.tail(event=audit.LOGOUT) == []
    assert not signed_out(op, rp)


def test_oidcc_rp_initiated_logout_discovery_endpoint_verification(op):
    """``end_session_endpoint`` is advertised, https, on the issuer, and served."""
    meta = op.metadata()
    endpoint = meta["end_session_endpoint"]
    assert endpoint == meta["issuer"] + "/oauth/logout"
    assert op.http.get("/oauth/logout").status_code == 200


def test_oidcc_rp_initiated_logout(op, rp, hint, user):
    """id_token_hint + registered post_logout_redirect_uri + state: after confirmation,
    a 302 to exactly that URI with the state, the session cookie cleared, a logout
    audited for the client, and ``prompt=none`` then answers ``login_required``."""
    url = logout_url(id_token_hint=hint, post_logout_redirect_uri=RP_BYE, state="s-1")
    response = confirm_logout(op.http, url)
    assert response.status_code == 302
    assert response.headers["Location"] == RP_BYE + "?state=s-1"
    assert any(c.startswith("idp_session=;") for c in response.headers.getlist("Set-Cookie"))
    events = audit.tail(event=audit.LOGOUT)
    assert [(e.user_id, e.client_id) for e in events] == [(user.id, rp["client_id"])]
    assert signed_out(op, rp)


def test_oidcc_rp_initiated_logout_bad_id_token_hint(op, rp, hint):
    """An id_token_hint whose signature does not verify identifies no client: the
    registered URI is not followed; an error page, still signed in."""
    head, claims, sig = hint.split(".")
    bad = f"{head}.{claims}.{('A' if sig[0] != 'A' else 'B') + sig[1:]}"
    refused(op, rp, logout_url(id_token_hint=bad, post_logout_redirect_uri=RP_BYE, state="s"))


def test_oidcc_rp_initiated_logout_modified_id_token_hint(op, rp, hint):
    """The hint's claims re-sent as an ``alg: none`` token: refused like a forgery."""
    unsigned = jwt.encode(b64_claims(hint), None, algorithm="none")
    url = logout_url(id_token_hint=unsigned, post_logout_redirect_uri=RP_BYE, state="s")
    refused(op, rp, url)


def test_oidcc_rp_initiated_logout_no_id_token_hint(op, rp, hint):
    """post_logout_redirect_uri without id_token_hint (nor client_id): no client to
    check it against, so no redirect: an error page, still signed in."""
    refused(op, rp, logout_url(post_logout_redirect_uri=RP_BYE, state="s"))


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/bye", RP_CB, RP_BYE + "/"],
    ids=["other-site", "login-redirect-uri", "near-miss"],
)
def test_oidcc_rp_initiated_logout_bad_post_logout_redirect_uri(op, rp, hint, target):
    """A post_logout_redirect_uri not registered for the client: an error page."""
    refused(op, rp, logout_url(id_token_hint=hint, post_logout_redirect_uri=target, state="s"))


def test_oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri(op, rp, hint):
    """The registered URI with a query added is another URI (exact match): refused."""
    url = logout_url(id_token_hint=hint, post_logout_redirect_uri=RP_BYE + "?foo=bar", state="s")
    refused(op, rp, url)


def test_oidcc_rp_initiated_logout_no_state(op, rp, hint):
    """Without ``state`` the redirect is to the registered URI exactly, no state added."""
    response = confirm_logout(
        op.http, logout_url(id_token_hint=hint, post_logout_redirect_uri=RP_BYE)
    )
    assert response.status_code == 302
    assert response.headers["Location"] == RP_BYE
    assert signed_out(op, rp)


def test_oidcc_rp_initiated_logout_only_state(op, rp, hint):
    """Only ``state``: nowhere to return, so our signed-out page (no redirect, the state
    reflected nowhere), and the session ended."""
    response = confirm_logout(op.http, logout_url(state="s-only"))
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert b"You are signed out" in response.data
    assert b"s-only" not in response.data
    assert signed_out(op, rp)


def test_oidcc_rp_initiated_logout_no_post_logout_redirect_uri(op, rp, hint):
    """id_token_hint and state but no post_logout_redirect_uri: our signed-out page, no
    redirect, and the session ended."""
    response = confirm_logout(op.http, logout_url(id_token_hint=hint, state="s-1"))
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert b"You are signed out" in response.data
    assert signed_out(op, rp)


def test_oidcc_rp_initiated_logout_no_params(op, rp, hint):
    """No parameters at all: a confirmation, then our signed-out page; session ended."""
    response = confirm_logout(op.http, "/oauth/logout")
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert b"You are signed out" in response.data
    assert signed_out(op, rp)
