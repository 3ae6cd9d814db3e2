"""Validation of partner-app metadata, shared by the CLI and the admin API.

Every rule raises a :class:`RegistryError` naming the offending field, so a
script or an operator learns exactly what to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from idp.core import scopes as scope_names
from idp.core.defaults import DEFAULTS

from . import branding, uris
from .errors import InvalidRedirectURI, RegistryError
from .models import CONFIDENTIAL, PUBLIC

CLIENT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,}$")
_FIELDS = {
    "client_id",
    "name",
    "type",
    "redirect_uris",
    "allowed_origins",
    "allowed_scopes",
    "audience",
    "access_token_lifetime",
    "first_party",
    "require_mfa",
    "post_logout_redirect_uris",
    "logo_uri",
    "brand_color",
    "client_uri",
    "policy_uri",
    "tos_uri",
    "refresh_token_idle_lifetime",
    "refresh_token_absolute_lifetime",
    "refresh_reuse_grace_seconds",
    "contact_email",
}
_MUTABLE = _FIELDS - {"client_id", "type"}
_MAX_LIST = 20
# Long enough for two tabs of one browser to race, short enough that a replayed stolen
# token is still caught almost at once (RFC 9700 section 4.14.2).
MAX_REUSE_GRACE = 60


@dataclass(frozen=True)
class Policy:
    """What the deployment allows: production refuses plain http outside loopback."""

    production: bool
    max_lifetime: int
    default_lifetime: int
    reserved_audiences: frozenset[str]
    refresh_idle_default: int = DEFAULTS["IDP_REFRESH_IDLE_LIFETIME"]
    refresh_absolute_default: int = DEFAULTS["IDP_REFRESH_ABSOLUTE_LIFETIME"]
    max_refresh_lifetime: int = 365 * 86400
    refresh_grace_default: int = DEFAULTS["IDP_REFRESH_REUSE_GRACE_SECONDS"]


def validate_new(data: object, policy: Policy) -> dict:
    """Validate a registration request; returns normalised column values."""
    data = _mapping(data)
    _reject_unknown(data, _FIELDS)
    client_type = data.get("type", CONFIDENTIAL)
    if client_type not in (CONFIDENTIAL, PUBLIC):
        raise RegistryError("type must be 'confidential' or 'public'", field="type")
    values = {"client_type": client_type}
    if "client_id" in data:
        values["client_id"] = _client_id(data["client_id"])
    values.update(_validate_fields(data, policy, required=True))
    values.setdefault("access_token_lifetime", policy.default_lifetime)
    values.setdefault("refresh_token_idle_lifetime", policy.refresh_idle_default)
    values.setdefault("refresh_token_absolute_lifetime", policy.refresh_absolute_default)
    values.setdefault("refresh_reuse_grace_seconds", policy.refresh_grace_default)
    _check_combination(values, client_type)
    return values


def validate_update(data: object, policy: Policy, current) -> dict:
    """Validate a partial update against the stored app ``current``."""
    data = _mapping(data)
    _reject_unknown(data, _MUTABLE, immutable=_FIELDS - _MUTABLE)
    values = _validate_fields(data, policy, required=False)
    merged = {
        "first_party": current.first_party,
        "allowed_scopes": current.allowed_scopes,
        "redirect_uris": current.redirect_uris,
        "refresh_token_idle_lifetime": current.refresh_token_idle_lifetime,
        "refresh_token_absolute_lifetime": current.refresh_token_absolute_lifetime,
        **values,
    }
    _check_combination(merged, current.client_type)
    return values


def _mapping(data: object) -> dict:
    if not isinstance(data, dict):
        raise RegistryError("the request body must be a JSON object")
    return data


def _reject_unknown(data: dict, allowed: set[str], immutable: set[str] = frozenset()) -> None:
    for key in data:
        if key in immutable:
            raise RegistryError(f"{key} cannot be changed after registration", field=key)
        if key not in allowed:
            raise RegistryError(f"unknown field {key!r}", field=key)


def _validate_fields(data: dict, policy: Policy, required: bool) -> dict:
    """Each field ``data`` sets, checked in a fixed order (so the first error reported is
    always the same); ``required``: a new app, whose unset lists start empty."""
    values: dict[str, object] = {}
    if "name" in data or required:
        values["name"] = _name(data.get("name"))
    _url_list(values, data, "redirect_uris", policy, required)
    _url_list(values, data, "allowed_origins", policy, required)
    if "allowed_scopes" in data:
        values["allowed_scopes"] = _scopes(data["allowed_scopes"])
    elif required:
        values["allowed_scopes"] = []
    if "audience" in data:
        values["audience"] = _audience(data["audience"], policy)
    values.update(_durations(data, policy))
    _url_list(values, data, "post_logout_redirect_uris", policy, required)
    if "logo_uri" in data:
        values["logo_uri"] = uris.logo_uri(data["logo_uri"], policy)
    values.update(_branding(data))
    if "contact_email" in data:
        values["contact_email"] = contact_email(data["contact_email"]) or None
    if "first_party" in data:
        if not isinstance(data["first_party"], bool):
            raise RegistryError("first_party must be true or false", field="first_party")
        values["first_party"] = data["first_party"]
    elif required:
        values["first_party"] = False
    if "require_mfa" in data:  # every sign-in to the app needs a second factor
        if not isinstance(data["require_mfa"], bool):
            raise RegistryError("require_mfa must be true or false", field="require_mfa")
        values["require_mfa"] = data["require_mfa"]
    return values


def _branding(data: dict) -> dict:
    """The colour and the links of the app's hosted pages that ``data`` sets."""
    values = {f: uris.page_link(data[f], f) for f in _LINKS if f in data}
    if "brand_color" in data:
        values["brand_color"] = branding.brand_color(data["brand_color"])
    return values


_LINKS = ("client_uri", "policy_uri", "tos_uri")
_URL_CHECKS = {
    "redirect_uris": uris.redirect_uri,
    "allowed_origins": uris.origin,
    "post_logout_redirect_uris": lambda uri, policy: uris.redirect_uri(
        uri, policy, "post_logout_redirect_uris"
    ),
}


def _url_list(values: dict, data: dict, field: str, policy: Policy, required: bool) -> None:
    if field in data:
        values[field] = [_URL_CHECKS[field](url, policy) for url in _list(data, field)]
    elif required:
        values[field] = []


def _durations(data: dict, policy: Policy) -> dict:
    """The lifetimes and the refresh-token reuse grace window that ``data`` sets."""
    bounds = {
        "access_token_lifetime": (60, policy.max_lifetime),
        "refresh_token_idle_lifetime": (60, policy.max_refresh_lifetime),
        "refresh_token_absolute_lifetime": (60, policy.max_refresh_lifetime),
        "refresh_reuse_grace_seconds": (0, MAX_REUSE_GRACE),
    }
    return {
        field: _seconds(data[field], field, low, high)
        for field, (low, high) in bounds.items()
        if field in data
    }


def _check_combination(values: dict, client_type: str) -> None:
    if values["refresh_token_idle_lifetime"] > values["refresh_token_absolute_lifetime"]:
        raise RegistryError(
            "refresh_token_idle_lifetime cannot exceed refresh_token_absolute_lifetime",
            field="refresh_token_idle_lifetime",
        )
    if scope_names.ADMIN_SCOPE in values["allowed_scopes"] and not (
        values["first_party"] and client_type == CONFIDENTIAL
    ):
        raise RegistryError(
            "the admin scope is only for first-party confidential apps", field="allowed_scopes"
        )
    if client_type == PUBLIC and not values["redirect_uris"]:
        raise InvalidRedirectURI(
            "a public app needs at least one redirect URI", field="redirect_uris"
        )


def _client_id(value: object) -> str:
    if not isinstance(value, str) or not CLIENT_ID_RE.match(value):
        raise RegistryError(
            "client_id must be 3-64 characters of a-z, 0-9, '.', '_' or '-', "
            "starting with a letter or digit",
            field="client_id",
        )
    return value


def contact_email(value: object) -> str:
    """Where mail about the app's integration goes (its webhook endpoint disabled); ""
    removes it (so does null)."""
    if value in ("", None):
        return ""
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL_RE.match(value):
        raise RegistryError("contact_email must be an email address", field="contact_email")
    return value


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 100:
        raise RegistryError("name is required and at most 100 characters", field="name")
    return value.strip()


def _list(data: dict, field: str) -> list:
    value = data[field]
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RegistryError(f"{field} must be a list of strings", field=field)
    if len(value) > _MAX_LIST:
        raise RegistryError(f"{field} holds at most {_MAX_LIST} entries", field=field)
    return list(dict.fromkeys(value))


def require_scopes(allowed_scopes: list[str]) -> None:
    """An operator's new app names at least one scope: an app registered with none can do
    nothing (every grant asks for a scope), and each default would be wrong for some apps
    (``openid`` means nothing to a service calling the credit API, ``credits:read``
    nothing to a sign-in-only app), so the operator says which."""
    if not allowed_scopes:
        raise RegistryError(
            "allowed_scopes is required: name at least one scope the app may use, e.g. "
            "'openid profile email' for sign-in; supported: "
            f"{' '.join(sorted(scope_names.SUPPORTED))}",
            field="allowed_scopes",
        )


def _scopes(value: object) -> list[str]:
    if (isinstance(value, list) and all(isinstance(v, str) for v in value)) or isinstance(
        value, str
    ):
        requested = scope_names.to_list(value)
    else:
        raise RegistryError(
            "allowed_scopes must be a list or a space-separated string", field="allowed_scopes"
        )
    unknown = [s for s in requested if s not in scope_names.SUPPORTED]
    if unknown:
        raise RegistryError(
            f"unknown scope(s): {' '.join(unknown)}; supported: "
            f"{' '.join(sorted(scope_names.SUPPORTED))}",
            field="allowed_scopes",
        )
    return requested


def _audience(value: object, policy: Policy) -> str:
    if not isinstance(value, str) or not value or len(value) > 255 or re.search(r"\s", value):
        raise RegistryError(
            "audience must be a non-empty identifier of at most 255 characters without spaces",
            field="audience",
        )
    if value in policy.reserved_audiences:
        raise RegistryError("audience names a resource of this server", field="audience")
    return value


def _seconds(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RegistryError(f"{field} must be an integer from {low} to {high} seconds", field=field)
    return value
