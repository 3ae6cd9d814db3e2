"""Request validation and response shapes of the credit API: strict integers, bounds.

JSON has no integer type of its own: ``true`` is not 1 here, ``1.0`` is not 1, and a
query-string number is plain ASCII digits (``int()`` would also take ``"+1"``, ``" 1"``,
``"1_000"`` and other scripts' digits).  Every integer has bounds, so nothing out of a
column's range (ledger ids are BIGINT) reaches the database.

The bounds below are part of the published contract (idp/openapi/spec/wallet.yaml states
each one), not operator settings: changing one changes what partners were promised.
"""

from __future__ import annotations

from flask import request

from .errors import WalletError
from .models import Hold, LedgerEntry

MAX_ID = 2**63 - 1  # BIGINT
MAX_AMOUNT = 10**9  # credits in one operation
MIN_HOLD_TTL, DEFAULT_HOLD_TTL, MAX_HOLD_TTL = 10, 900, 7 * 86400  # seconds
DEFAULT_PAGE, MAX_PAGE = 50, 200  # ledger entries per page


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


def positive_amount(value: object, field: str = "amount") -> int:
    """A number of credits from 1 to :data:`MAX_AMOUNT`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_AMOUNT:
        raise WalletError(
            f"{field} must be a whole number of credits from 1 to {MAX_AMOUNT}", field=field
        )
    return value


def hold_ttl(value: object) -> int:
    """A hold's lifetime in seconds, from :data:`MIN_HOLD_TTL` to :data:`MAX_HOLD_TTL`."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (MIN_HOLD_TTL <= value <= MAX_HOLD_TTL)
    ):
        raise WalletError(
            f"ttl_seconds must be from {MIN_HOLD_TTL} to {MAX_HOLD_TTL}", field="ttl_seconds"
        )
    return value


def idempotency_key(value: object) -> str:
    """The caller's key for one operation: a retry with it is answered, not repeated."""
    if not isinstance(value, str) or not 1 <= len(value) <= 255:
        raise WalletError(
            "idempotency_key is required: 1-255 characters, unique per operation",
            field="idempotency_key",
        )
    return value


def service_name(value: object) -> str:
    """The partner's name for what the credits pay for, trimmed."""
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= 100:
        raise WalletError("service is required (1-100 characters)", field="service")
    return value.strip()


def entry_to_dict(entry: LedgerEntry, viewer_client_id: str | None = None) -> dict:
    """An entry as the API shows it; another app's consumption detail is withheld."""
    own = viewer_client_id is None or entry.client_id == viewer_client_id
    return {
        "id": entry.id,
        "kind": entry.kind,
        "amount": entry.amount,
        "held_delta": entry.held_delta,
        "balance_after": entry.balance_after,
        "available_after": entry.balance_after - entry.held_after,
        "client_id": entry.client_id if own else None,
        "service": entry.service if own else None,
        "hold_id": entry.hold_id if own else None,
        "reason": entry.reason if own else None,
        "lots": entry_lots(entry),
        "created_at": entry.created_at.isoformat(),
    }


def entry_lots(entry) -> list[dict]:
    """The lots an entry opened (positive amount) or drew from (negative): set by the
    ledger on a new entry and by the transactions list; the short path's row names its
    one lot."""
    named = getattr(entry, "lots", None)
    if named is not None:
        return named
    lot_id = getattr(entry, "lot_id", None)
    return [{"lot_id": lot_id, "amount": entry.amount}] if lot_id is not None else []


def hold_to_dict(found: Hold) -> dict:
    """A hold as the API shows it (only ever to the app that placed it)."""
    return {
        "id": found.id,
        "amount": found.amount,
        "captured": found.captured,
        "status": found.status,
        "service": found.service,
        "expires_at": found.expires_at.isoformat(),
    }
