"""The catalogue: credit packs and subscription plans on sale."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp.core.db_types import utcnow
from idp.core.extensions import db

from .errors import PackageNotFound, WalletError
from .models import Package

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")
_CURRENCY_RE = re.compile(r"^[a-z]{3}$")


def create(
    package_id: str,
    name: str,
    credits: int,
    price_minor: int,
    currency: str,
    stripe_price_id: str | None = None,
    interval: str | None = None,
) -> Package:
    """Put a credit pack (``interval`` None) or a monthly/yearly plan on sale."""
    currency = _check(package_id, name, credits, price_minor, currency, interval)
    package = Package(
        id=package_id,
        name=name,
        credits=credits,
        price_minor=price_minor,
        currency=currency,
        stripe_price_id=stripe_price_id or None,
        interval=interval,
        active=True,
        created_at=utcnow(),
    )
    db.session.add(package)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise WalletError(f"package {package_id!r} already exists", field="id") from None
    return package


def _check(package_id, name, credits, price_minor, currency, interval) -> str:
    """Refuse the first bad field, in the order of the arguments; the currency, lower case."""
    if not _ID_RE.match(package_id or ""):
        raise WalletError("package id: 2-64 characters of a-z, 0-9, '_' or '-'", field="id")
    if not name or len(name) > 100:
        raise WalletError("name is required (at most 100 characters)", field="name")
    if isinstance(credits, bool) or not isinstance(credits, int) or credits <= 0:
        raise WalletError("credits must be a positive whole number", field="credits")
    if isinstance(price_minor, bool) or not isinstance(price_minor, int) or price_minor < 0:
        raise WalletError("price must be a non-negative amount in minor units", field="price")
    currency = (currency or "").lower()
    if not _CURRENCY_RE.match(currency):
        raise WalletError("currency must be an ISO 4217 code such as usd", field="currency")
    if interval not in (None, "month", "year"):
        raise WalletError("interval must be month or year (or empty for one-off)", field="interval")
    return currency


def on_sale() -> list[Package]:
    """Active packages: one-off packs first, then plans, cheapest first."""
    return list(
        db.session.scalars(
            select(Package)
            .where(Package.active.is_(True))
            .order_by(Package.interval.is_not(None), Package.price_minor)
        )
    )


def all_packages() -> list[Package]:
    """Every package, on sale or not, by id."""
    return list(db.session.scalars(select(Package).order_by(Package.id)))


def get(package_id: object, *, active_only: bool = True) -> Package:
    """The package (by default only one on sale); else a 404."""
    package = db.session.get(Package, package_id) if isinstance(package_id, str) else None
    if package is None or (active_only and not package.active):
        raise PackageNotFound()
    return package


def by_price(stripe_price_id: str | None) -> Package | None:
    """The package charged with this Stripe Price, if any."""
    if not stripe_price_id:
        return None
    return db.session.scalar(select(Package).where(Package.stripe_price_id == stripe_price_id))


def set_active(package_id: str, active: bool) -> Package:
    """Put a package on sale or take it off (existing purchases are unaffected)."""
    package = get(package_id, active_only=False)
    package.active = active
    db.session.commit()
    return package


def to_dict(package: Package) -> dict:
    """A package as the catalogue shows it."""
    return {
        "id": package.id,
        "name": package.name,
        "credits": package.credits,
        "price": package.price_minor,
        "currency": package.currency,
        "interval": package.interval,
        "type": "subscription" if package.interval else "one_time",
    }
