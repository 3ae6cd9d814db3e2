"""Per-app user metadata and roles: every query on them."""

from __future__ import annotations

import json
import re

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from idp.core.db_types import utcnow
from idp.core.extensions import db

from .errors import InvalidMetadata, InvalidRole
from .models import UserAppMetadata, UserAppRole

MAX_METADATA_BYTES = 16 * 1024
MAX_DEPTH = 5
ROLE_RE = re.compile(r"^[a-z0-9][a-z0-9:._-]{0,63}$")


def get_metadata(user_id: int, client_id: str) -> dict:
    row = _row(user_id, client_id)
    return dict(row.data) if row else {}


def _row(user_id: int, client_id: str) -> UserAppMetadata | None:
    return db.session.scalar(
        select(UserAppMetadata).where(
            UserAppMetadata.user_id == user_id, UserAppMetadata.client_id == client_id
        )
    )


def patch_metadata(user_id: int, client_id: str, patch: object) -> dict:
    """RFC 7396 JSON merge patch of the app's document; the result is size-limited."""
    if not isinstance(patch, dict):
        raise InvalidMetadata("the body must be a JSON object (a JSON merge patch)")
    # Every object in a patch stays an object in the result, so a patch nested too deep
    # is refused before the (recursive) merge ever walks it.
    _check_depth(patch)
    row = _row(user_id, client_id)
    merged = _merge(dict(row.data) if row else {}, patch)
    _check_depth(merged)
    _check_size(merged)
    if row is None:
        row = UserAppMetadata(
            user_id=user_id, client_id=client_id, data=merged, updated_at=utcnow()
        )
        db.session.add(row)
    else:
        row.data, row.updated_at = merged, utcnow()
    try:
        db.session.commit()
    except IntegrityError:  # two first writes raced; the other one created the row
        db.session.rollback()
        return patch_metadata(user_id, client_id, patch)
    return merged


def _merge(target: dict, patch: dict) -> dict:
    """RFC 7396 section 2 MergePatch: null deletes, an object merges into an object (or
    into nothing, so its own nulls are dropped too), anything else replaces."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            current = target.get(key)
            target[key] = _merge(dict(current) if isinstance(current, dict) else {}, value)
        else:
            target[key] = value
    return target


def _check_size(document: dict) -> None:
    size = len(json.dumps(document, separators=(",", ":")).encode())
    if size > MAX_METADATA_BYTES:
        raise InvalidMetadata(f"metadata is {size} bytes; the limit is {MAX_METADATA_BYTES}")


def _check_depth(document: dict) -> None:
    if _depth(document) > MAX_DEPTH:
        raise InvalidMetadata(f"metadata may nest objects and arrays at most {MAX_DEPTH} deep")


def _depth(value) -> int:
    """How deep objects and arrays nest in ``value`` (the document itself is 1, a scalar
    adds nothing); iterative, so a hostile body cannot exhaust the stack."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def roles_for(user_id: int, client_id: str) -> list[str]:
    return list(
        db.session.scalars(
            select(UserAppRole.role)
            .where(UserAppRole.user_id == user_id, UserAppRole.client_id == client_id)
            .order_by(UserAppRole.role)
        )
    )


def set_roles(user_id: int, client_id: str, roles: object) -> list[str]:
    """Replace the user's roles in this app."""
    if (
        not isinstance(roles, list)
        or len(roles) > 50
        or not all(isinstance(r, str) and ROLE_RE.match(r) for r in roles)
    ):
        raise InvalidRole()
    db.session.execute(
        delete(UserAppRole).where(
            UserAppRole.user_id == user_id, UserAppRole.client_id == client_id
        )
    )
    now = utcnow()
    for role in sorted(set(roles)):
        db.session.add(UserAppRole(user_id=user_id, client_id=client_id, role=role, granted_at=now))
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent PUT inserted the same role; the last one wins
        db.session.rollback()
        return set_roles(user_id, client_id, roles)
    return roles_for(user_id, client_id)


def role_claims(client, subject) -> dict:
    """Token claims hook (``idp.oauth2.tokens``): the user's roles in this app only."""
    roles = roles_for(subject.user_id, client.client_id)
    return {"roles": roles} if roles else {}
