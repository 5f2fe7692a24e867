"""Wire-format helpers shared by the sandbox's store, resources and seeder.

Everything here is pure: no I/O, no state.  Objects are kept as plain ``dict`` objects in the
exact wire format the FreshBooks accounting API emits (money as ``{"amount": "8.00", "code":
"USD"}``, dates as ``YYYY-MM-DD``, datetimes as naive US/Eastern wall time).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "CENT",
    "EASTERN",
    "eastern_now",
    "format_datetime",
    "line_amount",
    "money",
    "num_str",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "recompute_lines",
    "utc_now",
]

CENT = Decimal("0.01")
EASTERN = ZoneInfo("America/New_York")
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def money(amount: Decimal, code: str) -> dict[str, str]:
    """A wire money object: ``{"amount": "800.00", "code": "USD"}``."""
    return {"amount": str(amount.quantize(CENT, ROUND_HALF_UP)), "code": code}


def num_str(value: Decimal) -> str:
    """A decimal as the API writes quantities and tax rates: ``"4"``, ``"1.5"``, ``"8.875"``."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def parse_decimal(value: Any) -> Decimal | None:
    """A finite Decimal from a JSON number or numeric string, else None (bools rejected).

    Strings longer than 100 characters and exponents beyond +-1000 are refused too, so no
    later arithmetic can overflow or spin on a ``1e999999999``.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        if value.bit_length() > 256:
            return None
        return Decimal(value)
    if isinstance(value, (float, str, Decimal)):
        text = str(value).strip()
        if len(text) > 100:
            return None
        try:
            d = Decimal(text)
        except (InvalidOperation, ValueError):
            return None
        if not d.is_finite() or abs(d.adjusted()) > 1000:
            return None
        return d
    return None


def parse_date(value: Any) -> dt.date | None:
    """A date from a strict ``YYYY-MM-DD`` string, else None."""
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def parse_datetime(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, DATETIME_FORMAT)


def format_datetime(value: dt.datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (seconds precision)."""
    return value.replace(microsecond=0).isoformat(" ")


def eastern_now() -> dt.datetime:
    """Now as a naive US/Eastern wall-clock datetime, truncated to the second."""
    return dt.datetime.now(EASTERN).replace(tzinfo=None, microsecond=0)


def utc_now() -> dt.datetime:
    """Now as a naive UTC datetime, truncated to the second."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def line_amount(line: dict[str, Any]) -> Decimal:
    qty = Decimal(line["qty"])
    unit = Decimal(line["unit_cost"]["amount"])
    return (qty * unit).quantize(CENT, ROUND_HALF_UP)


def recompute_lines(lines: list[dict[str, Any]], code: str) -> Decimal:
    """Set each line's ``amount`` (qty x unit_cost) and return the total with line taxes.

    Each line's taxes are its amount x taxAmount1/100 and x taxAmount2/100 (percentages),
    each rounded to cents.
    """
    total = Decimal(0)
    for line in lines:
        amt = line_amount(line)
        line["amount"] = {"amount": str(amt), "code": code}
        line["unit_cost"] = {"amount": line["unit_cost"]["amount"], "code": code}
        total += amt
        for key in ("taxAmount1", "taxAmount2"):
            rate = Decimal(line.get(key) or 0)
            if rate:
                total += (amt * rate / 100).quantize(CENT, ROUND_HALF_UP)
    return total
