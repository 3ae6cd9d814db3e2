"""What one app sees of one event: the ``data`` of its payload ("only what that app may
see").  The emitters say what happened, with whatever the writer needs to decide who
hears it; only the fields ``types.FIELDS`` names reach a payload."""

from __future__ import annotations

from .types import FIELDS, OWN_ONLY, PROFILE_FIELDS

LOW, UPDATED = "credits.low", "user.updated"


def profile(user, scopes: set[str]) -> dict:
    """``sub`` always; the profile fields only under the scope that shows them."""
    shown = {"sub": user.sub}
    values = {"email": user.email, "email_verified": user.email_verified}
    values["name"] = user.display_name
    for scope, fields in PROFILE_FIELDS.items():
        if scope in scopes:
            shown.update({field: values[field] for field in fields})
    return shown


def visible_fields(scopes: set[str]) -> set[str]:
    return {field for scope in scopes for field in PROFILE_FIELDS.get(scope, ())}


def shape(
    kind: str, data: dict, client_id: str, scopes: set[str], threshold: int | None = None
) -> dict | None:
    """The event's ``data`` for the app ``client_id`` (beyond :func:`profile`), or None
    when none of the change is visible to it (a name changed, seen by no ``profile``)."""
    if kind == LOW:
        return {"available": data["available_after"], "threshold": threshold}
    if kind == UPDATED:
        seen = visible_fields(scopes)
        changed = [field for field in data.get("changed", ()) if field in seen]
        return {"changed": changed} if changed else None
    source = dict(data)
    if "available" not in source and "available_after" in source:
        source["available"] = source["available_after"]
    shown = {field: source[field] for field in FIELDS[kind] if field in source}
    if "client_id" in shown and shown["client_id"] != client_id:
        shown.update({field: None for field in OWN_ONLY if field in shown})
    return shown
