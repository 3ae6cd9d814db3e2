"""OpenID Connect RP-Initiated Logout 1.0 (``end_session_endpoint``)."""

from __future__ import annotations

from authlib.common.urls import add_params_to_uri
from flask import current_app, redirect, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jws import extract_compact

from idp.apps.services import query_client
from idp.audit import services as audit
from idp.users import sessions
from keys.signer import ALG, key_cache


def _id_token_client(hint: str | None) -> tuple[str | None, str | None]:
    """(client_id, sub) of an ID token we signed.  Expiry is fine here (section 2)."""
    if not hint or len(hint) > 8192:
        return None, None
    try:
        header = extract_compact(hint.encode()).protected
        key = key_cache().public_key(header.get("kid", "")) if header.get("alg") == ALG else None
        if key is None:
            return None, None
        claims = jwt.decode(hint, key, algorithms=[ALG]).claims
    except (JoseError, ValueError):
        return None, None
    if claims.get("iss") != current_app.config["IDP_ISSUER"]:
        return None, None
    aud = claims.get("aud")
    return (aud if isinstance(aud, str) else (aud or [None])[0]), claims.get("sub")


def end_session():
    from idp.pages.views import error_page, page

    values = request.values
    hinted_client, _ = _id_token_client(values.get("id_token_hint"))
    client_id = values.get("client_id") or hinted_client
    if values.get("client_id") and hinted_client and values["client_id"] != hinted_client:
        return error_page("invalid_request", "client_id does not match id_token_hint", 400)
    client = query_client(client_id) if client_id else None
    target = values.get("post_logout_redirect_uri")
    if target and (client is None or target not in client.post_logout_redirect_uris):
        # Section 3: only a registered URI of an identified client is ever followed.
        return error_page(
            "invalid_request", "post_logout_redirect_uri is not registered for this client", 400
        )
    found = sessions.current()
    if request.method == "GET":
        return page(
            "logout.html",
            app=client,
            user=found[1] if found else None,
            action=request.full_path,
            target=target,
        )
    ended = sessions.end_current()
    if ended is not None:
        audit.record(audit.LOGOUT, ended.user_id, client_id, via="rp_initiated")
    if target:
        state = values.get("state")
        response = redirect(add_params_to_uri(target, [("state", state)]) if state else target)
    else:
        response = page("signed_out.html", app=client)
    response.delete_cookie(current_app.config["IDP_SESSION_COOKIE"], path="/")
    return response
