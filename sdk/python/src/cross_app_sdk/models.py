"""Response models of the credit API, as typed dataclasses.

Field names and types follow the server's OpenAPI document (``idp.openapi``); a test
checks each model's fields against the document's schemas so the two cannot drift.
Unknown fields the server may add later are ignored; a missing required one is a
:class:`~cross_app_sdk.errors.ServerError`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from .errors import ServerError

T = TypeVar("T", bound="Model")


class Model:
    """``from_dict`` builds the dataclass from a JSON object; nested models by annotation."""

    nested: ClassVar[dict[str, type[Model]]] = {}
    nested_lists: ClassVar[dict[str, type[Model]]] = {}

    @classmethod
    def from_dict(cls: type[T], data: Any) -> T:
        if not isinstance(data, dict):
            raise ServerError(f"expected a {cls.__name__} object", status_code=200)
        values = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name not in data:
                if f.default is dataclasses.MISSING:
                    raise ServerError(f"{cls.__name__} lacks {f.name}", status_code=200)
                continue
            value = data[f.name]
            if f.name in cls.nested and value is not None:
                value = cls.nested[f.name].from_dict(value)
            elif f.name in cls.nested_lists:
                value = tuple(cls.nested_lists[f.name].from_dict(v) for v in value or ())
            values[f.name] = value
        return cls(**values)


@dataclass(frozen=True)
class Package(Model):
    """A credit package or subscription plan on sale."""

    id: str
    name: str
    credits: int
    price: int
    currency: str
    type: str
    interval: str | None = None


@dataclass(frozen=True)
class CategoryBreakdown(Model):
    """The balance by the category of the credit lots holding it."""

    paid: int
    promotional: int


@dataclass(frozen=True)
class NextExpiry(Model):
    """The soonest date some credits expire, and how many expire then."""

    amount: int
    expires_at: str


@dataclass(frozen=True)
class Balance(Model):
    """``GET /credits``: balance, held (by open holds), available, the balance by lot
    category (``paid``, ``promotional``), the next expiry (None if none), the catalogue."""

    balance: int
    held: int
    available: int
    packages: tuple[Package, ...] = ()
    by_category: CategoryBreakdown | None = None  # None from a server without credit lots
    next_expiry: NextExpiry | None = None
    nested: ClassVar = {"by_category": CategoryBreakdown, "next_expiry": NextExpiry}
    nested_lists: ClassVar = {"packages": Package}


@dataclass(frozen=True)
class CreditCheck(Model):
    """``POST /credit-check``."""

    sufficient: bool
    balance: int
    held: int
    available: int


@dataclass(frozen=True)
class LotShare(Model):
    """What an entry did to one credit lot: opened it (``amount`` positive) or drew from
    it (negative)."""

    lot_id: int
    amount: int


@dataclass(frozen=True)
class Transaction(Model):
    """A ledger entry (another app's detail fields are None); ``lots`` names the lots it
    opened or drew from."""

    id: int
    kind: str
    amount: int
    held_delta: int
    balance_after: int
    available_after: int
    created_at: str
    client_id: str | None = None
    service: str | None = None
    hold_id: str | None = None
    reason: str | None = None
    lots: tuple[LotShare, ...] = ()
    nested_lists: ClassVar = {"lots": LotShare}


@dataclass(frozen=True)
class Consumption(Model):
    """``POST /credits/consume``: the entry, whether it was a replay, the wallet after."""

    transaction: Transaction
    replayed: bool
    balance: int
    held: int
    available: int
    nested: ClassVar = {"transaction": Transaction}


@dataclass(frozen=True)
class HoldInfo(Model):
    """A hold as the API shows it."""

    id: str
    amount: int
    captured: int
    status: str
    service: str
    expires_at: str


@dataclass(frozen=True)
class HoldResult(Model):
    """Hold create/capture/release answers: the hold and the wallet after."""

    hold: HoldInfo
    balance: int | None = None
    held: int | None = None
    available: int | None = None
    replayed: bool = False
    nested: ClassVar = {"hold": HoldInfo}


@dataclass(frozen=True)
class TransactionPage(Model):
    transactions: tuple[Transaction, ...]
    next_before: int | None = None
    nested_lists: ClassVar = {"transactions": Transaction}


@dataclass(frozen=True)
class Checkout(Model):
    """A checkout session: send the user's browser to ``url``."""

    id: str
    url: str


@dataclass(frozen=True)
class TokenResponse(Model):
    access_token: str
    token_type: str
    expires_in: int
    scope: str = ""
