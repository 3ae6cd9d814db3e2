"""The OpenID Foundation's Config OP plan: its one module, written as a test.

``oidcc-discovery-endpoint-verification`` checks the document's form (200 JSON, the
issuer, required members, https endpoints, syntax of arrays), the JWKS it points to,
and here also that it is true: every advertised scope, claim, response type, grant
type, auth method, PKCE method, prompt value and alg is really accepted, what is not
advertised is refused, and nothing we return is missing from ``claims_supported``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import jwt

from tests.helpers import b64_header, basic, pkce_pair, query_of, token_request

from .conftest import ISSUER, OP

# OIDC Discovery 1.0 section 3, RFC 8414 section 2, RFC 9207, RP-Initiated Logout 1.0.
KNOWN_METADATA = {
    "issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
    "registration_endpoint", "scopes_supported", "response_types_supported",
    "response_modes_supported", "grant_types_supported", "acr_values_supported",
    "subject_types_supported", "id_token_signing_alg_values_supported",
    "userinfo_signing_alg_values_supported", "token_endpoint_auth_methods_supported",
    "display_values_supported", "claim_types_supported", "claims_supported",
    "service_documentation", "claims_locales_supported", "ui_locales_supported",
    "claims_parameter_supported", "request_parameter_supported",
    "request_uri_parameter_supported", "require_request_uri_registration",
    "op_policy_uri", "op_tos_uri", "revocation_endpoint",
    "revocation_endpoint_auth_methods_supported", "introspection_endpoint",
    "introspection_endpoint_auth_methods_supported", "code_challenge_methods_supported",
    "end_session_endpoint", "prompt_values_supported",
    "authorization_response_iss_parameter_supported", "access_token_signing_alg_values_supported",
}  # fmt: skip
REQUIRED = {
    "issuer", "authorization_endpoint", "token_endpoint", "jwks_uri",
    "response_types_supported", "subject_types_supported",
    "id_token_signing_alg_values_supported",
}  # fmt: skip
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 section 3.3
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
USER_SCOPES = "openid profile email offline_access credits:read credits:consume"
USER_SCOPES += " credits:purchase user:metadata"


def _check_document(response) -> dict:
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    meta = response.json
    issuer = urlsplit(meta["issuer"])
    # The issuer is the document's base (OIDC Discovery section 4.3).
    assert meta["issuer"] == ISSUER
    assert issuer.path + "/.well-known/openid-configuration" == urlsplit(response.request.url).path
    assert issuer.scheme == "https" and not issuer.query and not issuer.fragment
    assert set(meta) >= REQUIRED
    assert set(meta) <= KNOWN_METADATA, set(meta) - KNOWN_METADATA
    for name, value in meta.items():
        if name.endswith(("_endpoint", "_uri")) and isinstance(value, str):
            assert value.startswith(ISSUER + "/"), (name, value)  # https, on this host
        if name.endswith("_supported") and not isinstance(value, bool):
            assert isinstance(value, list) and value, name
            assert all(isinstance(v, str) for v in value) and len(set(value)) == len(value)
    assert all(SCOPE_TOKEN.match(s) for s in meta["scopes_supported"])
    assert "openid" in meta["scopes_supported"]
    # Absent means true for request_uri (OIDC Discovery section 3): say false explicitly.
    assert meta["request_parameter_supported"] is False
    assert meta["request_uri_parameter_supported"] is False
    assert meta.get("claims_parameter_supported", False) is False
    assert meta["authorization_response_iss_parameter_supported"] is True
    return meta


def _check_jwks(op: OP, meta: dict) -> None:
    response = op.http.get(urlsplit(meta["jwks_uri"]).path)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    keys = response.json["keys"]
    assert keys and len({k["kid"] for k in keys}) == len(keys)
    for key in keys:
        assert key["kty"] == "RSA" and key.get("use", "sig") == "sig"
        assert key.get("alg", "RS256") in meta["id_token_signing_alg_values_supported"]
        assert not PRIVATE_JWK_MEMBERS & set(key)
    assert len(jwt.PyJWKSet.from_dict(response.json).keys) == len(keys)


def _check_endpoints_served(op: OP, meta: dict) -> None:
    for name in ("token_endpoint", "introspection_endpoint", "revocation_endpoint"):
        response = op.http.post(urlsplit(meta[name]).path, data={})
        assert response.status_code in (400, 401), name  # served; refuses an empty call
    assert op.http.get(urlsplit(meta["userinfo_endpoint"]).path).status_code == 401
    assert op.http.get(urlsplit(meta["end_session_endpoint"]).path).status_code == 200


def _check_response_types_and_grants(op: OP, meta, rp, admin, roles, scraper) -> dict:
    assert meta["response_types_supported"] == ["code"]
    assert meta["response_modes_supported"] == ["query"]
    for unadvertised in ("token", "id_token", "code id_token"):
        response = op.http.get(op.url(rp, response_type=unadvertised))
        op.error(response, rp, "unsupported_response_type")
    assert set(meta["grant_types_supported"]) == {
        "authorization_code", "refresh_token", "client_credentials"
    }  # fmt: skip
    body = op.login(rp, USER_SCOPES, prompt="consent")  # authorization_code, every scope
    assert set(body["scope"].split()) == set(USER_SCOPES.split())
    refreshed = token_request(
        op.http, rp, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.json
    for app, scope in ((admin, "admin"), (roles, "roles:manage"), (scraper, "metrics")):
        minted = token_request(op.http, app, {"grant_type": "client_credentials", "scope": scope})
        assert minted.status_code == 200, minted.json
        assert minted.json["scope"] == scope
    implicit = token_request(op.http, rp, {"grant_type": "implicit"})
    assert implicit.status_code == 400 and implicit.json["error"] == "unsupported_grant_type"
    return body


def _check_scopes_and_claims(op: OP, meta: dict, rp, body: dict) -> None:
    advertised = set(meta["scopes_supported"])
    assert advertised == set(USER_SCOPES.split()) | {"admin", "roles:manage", "metrics"}
    returned = set(op.id_token(body, rp)) | set(op.claims(body["access_token"]))
    # Everything we return is advertised, and every advertised claim is returned.
    assert returned == set(meta["claims_supported"]), returned ^ set(meta["claims_supported"])
    assert meta["subject_types_supported"] == ["public"]


def _check_auth_methods(op: OP, meta: dict, rp, public) -> None:
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post", "none"
    }  # fmt: skip
    for style in ("basic", "post"):
        op.tokens(rp, op.code(rp), style)
    verifier, challenge = pkce_pair()
    code = op.code(public, code_challenge=challenge, code_challenge_method="S256")
    form = {"grant_type": "authorization_code", "code": code, "client_id": public["client_id"]}
    form |= {"redirect_uri": public["redirect_uris"][0], "code_verifier": verifier}
    none = op.http.post("/oauth/token", data=form)
    assert none.status_code == 200, none.json
    assert b64_header(none.json["id_token"])["alg"] == "RS256"
    assert (
        b64_header(none.json["access_token"])["alg"]
        in (meta["access_token_signing_alg_values_supported"])
    )
    token = none.json["access_token"]
    for style in ("basic", "post"):
        form = {"token": token}
        headers = basic(rp) if style == "basic" else {}
        if style == "post":
            form |= {"client_id": rp["client_id"], "client_secret": rp["client_secret"]}
        assert op.http.post("/oauth/introspect", data=form, headers=headers).status_code == 200
    assert "none" not in meta["introspection_endpoint_auth_methods_supported"]
    refused = op.http.post("/oauth/introspect", data={"token": token, "client_id": "spa-app"})
    assert refused.status_code == 401 and refused.json["error"] == "invalid_client"
    revoked = op.http.post("/oauth/revoke", data={"token": token, "client_id": "spa-app"})
    assert revoked.status_code == 200  # "none": a public client revokes its own token


def _check_pkce_and_prompts(op: OP, meta: dict, rp, anonymous: OP) -> None:
    assert meta["code_challenge_methods_supported"] == ["S256"]
    plain = op.http.get(op.url(rp, code_challenge="x" * 43, code_challenge_method="plain"))
    op.error(plain, rp, "invalid_request")
    assert meta["prompt_values_supported"] == ["none", "login", "consent", "create"]
    assert "code" in op.callback(op.authorize(rp, prompt="none"), rp)
    consent = op.http.get(op.url(rp, prompt="consent"))
    assert consent.status_code == 200 and b'name="decision"' in consent.data
    for prompt, page in (("login", "/login?"), ("create", "/signup?")):
        detour = op.http.get(op.url(rp, prompt=prompt))
        assert detour.status_code == 302 and detour.headers["Location"].startswith(page)
    unknown = op.http.get(op.url(rp, prompt="bogus"))
    op.error(unknown, rp, "invalid_request")
    assert query_of(anonymous.authorize(rp, prompt="none").headers["Location"])["error"] == (
        "login_required"
    )


def test_oidcc_discovery_endpoint_verification(op, anonymous_op, apps, rp):
    """The discovery document: 200 JSON; ``issuer`` is this OP's https URL and the
    document's base; the required members present, none unknown; every endpoint https
    on the issuer and served; arrays of unique strings; scope syntax; ``openid`` in
    scopes_supported; request/request_uri/claims parameters false.  The JWKS: served,
    RSA signing keys with unique kids, no private or symmetric members.  And true:
    the one response type (others refused), each grant type, each scope, each claim
    (and no unadvertised one returned), each token-endpoint auth method (basic, post,
    none), introspection and revocation auth, RS256 for ID and access tokens, S256
    (plain refused), each prompt value (an unknown one refused), ``public`` subjects."""
    rp_all = apps.create(
        client_id="rp-all",
        redirect_uris=["https://rp-all.example/cb"],
        allowed_scopes=USER_SCOPES,
        audience="https://rp-all.example",
    )
    public = apps.create(
        client_id="spa-app",
        type="public",
        redirect_uris=["https://spa-app.example/cb"],
        allowed_scopes="openid",
        audience="https://spa-app.example",
    )
    admin = apps.admin()
    roles = apps.create(client_id="roles-app", allowed_scopes="roles:manage")
    scraper = apps.create(client_id="scraper", allowed_scopes="metrics", first_party=True)
    meta = _check_document(op.http.get("/.well-known/openid-configuration"))
    _check_jwks(op, meta)
    _check_endpoints_served(op, meta)
    body = _check_response_types_and_grants(op, meta, rp_all, admin, roles, scraper)
    _check_scopes_and_claims(op, meta, rp_all, body)
    _check_auth_methods(op, meta, rp, public)
    _check_pkce_and_prompts(op, meta, rp, anonymous_op)
