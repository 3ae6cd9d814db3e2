"""Request validation for the credit API: a JSON object body, strict integers, bounds.

JSON has no integer type of its own: ``true`` is not 1 here, ``1.0`` is not 1, and a
query-string number is plain ASCII digits (``int()`` would also take ``"+1"``, ``" 1"``,
``"1_000"`` and other scripts' digits).  Every integer has bounds, so nothing out of a
column's range (ledger ids are BIGINT) reaches the database.
"""

from __future__ import annotations

from flask import request

from .errors import WalletError

MAX_ID = 2**63 - 1  # BIGINT
MAX_PAGE = 200


def json_body() -> dict:
    """The JSON object sent, ``{}`` for none (and for GET); anything else is a 400."""
    if request.method == "GET":
        return {}
    body = request.get_json(silent=True)
    if body is None and not request.data:
        return {}
    if not isinstance(body, dict):
        raise WalletError("the request body must be a JSON object")
    return body


def whole_number(value: object, field: str, low: int, high: int) -> int:
    """``value`` as a JSON integer from ``low`` to ``high``; booleans and floats are not."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise WalletError(f"{field} must be a whole number from {low} to {high}", field=field)
    return value


def query_number(field: str, low: int, high: int, default: int | None = None) -> int | None:
    """The query parameter ``field`` as a whole number from ``low`` to ``high``."""
    raw = request.args.get(field)
    if raw is None:
        return default
    # The length check first: int() of a long enough digit string is itself an error.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(high))):
        raise WalletError(f"{field} must be a whole number from {low} to {high}", field=field)
    return whole_number(int(raw), field, low, high)
