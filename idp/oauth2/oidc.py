"""OpenID Connect Core: ID tokens and UserInfo claims."""

from __future__ import annotations

import time

from authlib.oidc.core import UserInfo
from authlib.oidc.core.util import create_half_hash
from flask import current_app

from idp.core import scopes as scope_names
from idp.users import services as users
from idp.users.factors import acr_of
from keys.signer import ALG, key_cache

from .services import epoch


def user_info(user, scope: str) -> UserInfo:
    """Claims released for ``scope`` (OIDC Core section 5.4)."""
    granted = scope_names.to_list(scope)
    info = UserInfo(sub=user.sub)
    if "profile" in granted:
        info["name"] = user.display_name or None
        # Profile claims' last change; rows from before that column existed: creation.
        info["updated_at"] = epoch(user.updated_at or user.created_at)
    if "email" in granted:
        info["email"] = user.email
        info["email_verified"] = user.email_verified
    return UserInfo({k: v for k, v in info.items() if v is not None})


def id_token(token: dict, request) -> str:
    """OIDC Core section 2 / 3.1.3.6: signed with the active key, naming its ``kid``."""
    now = int(time.time())
    client, subject = request.client, request.user
    claims = {
        "iss": current_app.config["IDP_ISSUER"],
        "sub": subject.sub,
        "aud": client.client_id,
        "azp": client.client_id,
        "iat": now,
        "exp": now + current_app.config["IDP_ID_TOKEN_LIFETIME"],
        "auth_time": epoch(subject.auth_time),
        # OIDC Core section 2: how the person authenticated, and the level reached.
        "amr": subject.methods,
        "acr": subject.acr or acr_of(subject.methods),
        "at_hash": create_half_hash(token["access_token"], ALG).decode(),
    }
    code = getattr(request, "authorization_code", None)
    if code is not None and code.nonce:
        claims["nonce"] = code.nonce
    claims.update(user_info(users.get(subject.user_id), token.get("scope", "")))
    return key_cache().sign(claims, typ="JWT")
