"""OpenID Connect RP-Initiated Logout 1.0 (``end_session_endpoint``).

The confirmation and signed-out pages are the UI's, shown through the renderers the
pages package registers (``interaction``); a refused request is raised and shown on the
hosted error page."""

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

from . import interaction
from .errors import LogoutHintMismatch, UnregisteredLogoutRedirect


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
    """Section 2: a GET shows the confirmation (a GET alone never signs out); its POST
    ends this browser's session and goes back to the app, or to our signed-out page."""
    client_id, client, target = _logout_request()
    if request.method == "GET":
        found = sessions.current()
        return interaction.show(interaction.LOGOUT, client=client, user=found[1] if found else None)
    ended = sessions.end_current()
    if ended is not None:
        audit.record(audit.LOGOUT, ended.user_id, client_id, via="rp_initiated")
    if target:
        state = request.values.get("state")
        response = redirect(add_params_to_uri(target, [("state", state)]) if state else target)
    else:
        response = interaction.show(interaction.SIGNED_OUT, client=client)
    sessions.forget_cookie(response)
    return response


def _logout_request():
    """(client_id, client, post_logout_redirect_uri) of a request we may follow: the
    client named or hinted (section 2), and only its registered URI (section 3)."""
    values = request.values
    hinted_client, _ = _id_token_client(values.get("id_token_hint"))
    client_id = values.get("client_id") or hinted_client
    if values.get("client_id") and hinted_client and values["client_id"] != hinted_client:
        raise LogoutHintMismatch()
    client = query_client(client_id) if client_id else None
    target = values.get("post_logout_redirect_uri")
    if target and (client is None or target not in client.post_logout_redirect_uris):
        raise UnregisteredLogoutRedirect()
    return client_id, client, target
