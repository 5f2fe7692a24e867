"""Value types: how each declared field is parsed from the wire, coerced from Python, and sent back.

Every field of a resource names one of these.  Parsing is by declaration, never by the shape of
the string: ``"2016-09-09 16:04:42"`` is a US/Eastern wall time because the field is declared
``EASTERN_DATETIME``, not because it looks like one.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar

import attrs
from dateutil import parser as date_parser

__all__ = [
    "BOOL",
    "DATE",
    "DECIMAL",
    "DECIMAL_STRING",
    "EASTERN",
    "EASTERN_DATETIME",
    "INT",
    "MONEY",
    "STR",
    "EnumType",
    "Money",
    "ValueType",
    "to_date",
    "to_decimal",
]

T = TypeVar("T")

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        EASTERN: dt.tzinfo = ZoneInfo("America/New_York")
    except ZoneInfoNotFoundError:  # pragma: no cover - a system without tz data and no tzdata
        raise ImportError from None
except ImportError:  # pragma: no cover
    from dateutil import tz

    _eastern = tz.gettz("America/New_York")
    assert _eastern is not None
    EASTERN = _eastern


def to_decimal(value: Any) -> Decimal:
    """Coerce a number or numeric string to Decimal; floats go through ``repr`` so 0.1 stays 0.1."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError(f"expected a number, got {value!r}")
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, (int, str)):
        try:
            return Decimal(value)
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value!r}") from None
    raise TypeError(f"expected a Decimal, int or numeric string, got {type(value).__name__}")


def to_date(value: Any) -> dt.date:
    """Coerce a date, a datetime (its date) or any string dateutil parses to a ``date``."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return date_parser.parse(value).date()
        except (ValueError, OverflowError):
            raise ValueError(f"not a date: {value!r}") from None
    raise TypeError(f"expected a date, datetime or date string, got {type(value).__name__}")


@attrs.frozen
class Money:
    """An amount of one currency. Amounts are ``Decimal``, never float.

    Money adds, subtracts, negates, compares and takes ``abs()`` within one currency (mixing
    currencies raises ``ValueError`` naming both), multiplies and divides by a number, and
    ``sum()`` works (``0 + Money`` is the Money).

    >>> Money("800.00", "USD")
    Money(amount=Decimal('800.00'), code='USD')
    >>> sum([Money("10.50", "USD"), Money("4.50", "USD")]) * 2
    Money(amount=Decimal('30.00'), code='USD')
    """

    amount: Decimal = attrs.field(converter=to_decimal)
    code: str = attrs.field()

    def __str__(self) -> str:
        return f"{self.amount} {self.code}"

    # --- arithmetic and ordering within one currency -------------------------------------------
    # Amounts stay Decimal: ``*`` and ``/`` take an int, a Decimal or a float (through ``repr``,
    # as ``to_decimal`` does) and keep every digit Decimal gives; round with ``quantize()``.

    def _same_code(self, other: Money, verb: str) -> None:
        if other.code != self.code:
            raise ValueError(
                f"cannot {verb} Money in different currencies: {self.code!r} and {other.code!r}"
            )

    def __add__(self, other: object) -> Money:
        if isinstance(other, Money):
            self._same_code(other, "add")
            return Money(self.amount + other.amount, self.code)
        if _is_zero(other):  # sum() starts from 0
            return self
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other: object) -> Money:
        if isinstance(other, Money):
            self._same_code(other, "subtract")
            return Money(self.amount - other.amount, self.code)
        if _is_zero(other):
            return self
        return NotImplemented

    def __rsub__(self, other: object) -> Money:
        if _is_zero(other):
            return -self
        return NotImplemented

    def __neg__(self) -> Money:
        return Money(-self.amount, self.code)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.code)

    def __mul__(self, other: object) -> Money:
        factor = _factor(other)
        if factor is None:
            return NotImplemented
        return Money(self.amount * factor, self.code)

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> Any:
        """``Money / number`` is Money; ``Money / Money`` (one currency) is their Decimal ratio."""
        if isinstance(other, Money):
            self._same_code(other, "divide")
            return self.amount / other.amount
        divisor = _factor(other)
        if divisor is None:
            return NotImplemented
        return Money(self.amount / divisor, self.code)

    def _compare(self, other: object) -> Decimal | None:
        if not isinstance(other, Money):
            return None
        self._same_code(other, "compare")
        return other.amount

    def __lt__(self, other: object) -> bool:
        amount = self._compare(other)
        return NotImplemented if amount is None else self.amount < amount

    def __le__(self, other: object) -> bool:
        amount = self._compare(other)
        return NotImplemented if amount is None else self.amount <= amount

    def __gt__(self, other: object) -> bool:
        amount = self._compare(other)
        return NotImplemented if amount is None else self.amount > amount

    def __ge__(self, other: object) -> bool:
        amount = self._compare(other)
        return NotImplemented if amount is None else self.amount >= amount

    def to_wire(self) -> dict[str, str]:
        amount = self.amount
        # FreshBooks writes money with at least two places ("5000.00"); keep extra precision.
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and exponent > -2:
            amount = amount.quantize(Decimal("0.01"))
        return {"amount": format(amount, "f"), "code": self.code}


def _is_zero(value: object) -> bool:
    """The plain number 0 (``sum()``'s start), which adds to Money of any currency."""
    return type(value) in (int, Decimal, float) and value == 0


def _factor(value: object) -> Decimal | None:
    """A multiplier or divisor for Money: an int, Decimal or float (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, float)):
        return None
    return to_decimal(value)


class ValueType(Generic[T]):
    """How one kind of value crosses the wire.

    ``parse`` reads what the server sent (None stays None), ``coerce`` accepts what a user
    assigns, ``to_wire`` writes what the server expects.
    """

    name = "value"

    def parse(self, raw: Any) -> T | None:
        return None if raw is None else self.coerce(raw)

    def coerce(self, value: Any) -> T:
        return value  # type: ignore[no-any-return]

    def to_wire(self, value: T | None) -> Any:
        return value


class _Str(ValueType[str]):
    name = "str"

    def coerce(self, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"expected a str, got {type(value).__name__}")
        return value


class _Int(ValueType[int]):
    name = "int"

    def coerce(self, value: Any) -> int:
        if isinstance(value, bool):
            raise TypeError(f"expected an int, got {value!r}")
        if isinstance(value, int):
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise TypeError(f"expected an int, got {value!r}")


class _Bool(ValueType[bool]):
    name = "bool"

    def coerce(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        raise TypeError(f"expected a bool, got {value!r}")


class _Decimal(ValueType[Decimal]):
    """A decimal the API sends as a string ("4", "13.000"); sent back as a number when whole."""

    name = "decimal"

    def parse(self, raw: Any) -> Decimal | None:
        if raw is None or raw == "":
            return None
        return to_decimal(raw)

    def coerce(self, value: Any) -> Decimal:
        return to_decimal(value)

    def to_wire(self, value: Decimal | None) -> Any:
        if value is None:
            return None
        # The documented requests send whole quantities and tax rates as JSON numbers.
        if value == value.to_integral_value():
            return int(value)
        return format(value, "f")


class _DecimalString(_Decimal):
    """A decimal the API documents as a "decimal-string" (``discount_value``): sent as a string."""

    def to_wire(self, value: Decimal | None) -> Any:
        return None if value is None else format(value, "f")


class _Date(ValueType[dt.date]):
    name = "date"

    def parse(self, raw: Any) -> dt.date | None:
        if raw is None or raw == "" or raw == "0000-00-00":
            return None
        if isinstance(raw, str) and len(raw) == 10:
            return dt.date.fromisoformat(raw)
        return to_date(raw)

    def coerce(self, value: Any) -> dt.date:
        return to_date(value)

    def to_wire(self, value: dt.date | None) -> Any:
        return None if value is None else value.isoformat()


class _EasternDateTime(ValueType[dt.datetime]):
    """``YYYY-MM-DD HH:MM:SS`` naive US/Eastern wall time on the wire; aware datetime in Python."""

    name = "datetime (US/Eastern)"

    def parse(self, raw: Any) -> dt.datetime | None:
        if raw is None or raw == "":
            return None
        if isinstance(raw, str):
            return dt.datetime.fromisoformat(raw).replace(tzinfo=EASTERN)
        return self.coerce(raw)

    def coerce(self, value: Any) -> dt.datetime:
        if isinstance(value, str):
            value = date_parser.parse(value)
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=EASTERN)
        return value

    def to_wire(self, value: dt.datetime | None) -> Any:
        if value is None:
            return None
        return value.astimezone(EASTERN).strftime("%Y-%m-%d %H:%M:%S")


class _Money(ValueType[Money]):
    name = "Money"

    def parse(self, raw: Any) -> Money | None:
        if raw is None:
            return None
        if isinstance(raw, Mapping):
            if raw.get("amount") is None:
                return None
            return Money(raw["amount"], str(raw.get("code") or ""))
        return self.coerce(raw)

    def coerce(self, value: Any) -> Money:
        if isinstance(value, Money):
            return value
        if isinstance(value, Mapping) and "amount" in value and "code" in value:
            return Money(value["amount"], str(value["code"]))
        raise TypeError(
            f"expected Money(amount, code) or {{'amount': ..., 'code': ...}}, got {value!r}"
        )

    def to_wire(self, value: Money | None) -> Any:
        return None if value is None else value.to_wire()


class EnumType(ValueType[Any]):
    """An IntEnum on the wire as its int. Unknown numbers stay plain ints rather than crash."""

    def __init__(self, enum_cls: type[enum.IntEnum]) -> None:
        self.enum_cls = enum_cls
        self.name = enum_cls.__name__

    def parse(self, raw: Any) -> Any:
        if raw is None:
            return None
        try:
            return self.enum_cls(int(raw))
        except ValueError:
            return int(raw)

    def coerce(self, value: Any) -> Any:
        if isinstance(value, str) and not value.isdigit():
            try:
                return self.enum_cls[value.upper().replace("-", "_").replace(" ", "_")]
            except KeyError:
                names = ", ".join(m.name.lower() for m in self.enum_cls)
                raise ValueError(f"unknown {self.name} {value!r}; valid: {names}") from None
        try:
            return self.enum_cls(int(value))
        except (ValueError, TypeError):
            valid = ", ".join(f"{m.value} ({m.name.lower()})" for m in self.enum_cls)
            raise ValueError(f"unknown {self.name} {value!r}; valid: {valid}") from None

    def to_wire(self, value: Any) -> Any:
        return None if value is None else int(value)


class ChoiceType(ValueType[str]):
    """A string restricted to a documented set of values."""

    def __init__(self, choices: tuple[str, ...], name: str) -> None:
        self.choices = choices
        self.name = name

    def parse(self, raw: Any) -> str | None:
        return None if raw is None else str(raw)  # the server may know values we do not

    def coerce(self, value: Any) -> str:
        if value not in self.choices:
            raise ValueError(f"{value!r} is not a {self.name}; valid: {', '.join(self.choices)}")
        return str(value)


STR: ValueType[str] = _Str()
INT: ValueType[int] = _Int()
BOOL: ValueType[bool] = _Bool()
DECIMAL: ValueType[Decimal] = _Decimal()
DECIMAL_STRING: ValueType[Decimal] = _DecimalString()
DATE: ValueType[dt.date] = _Date()
EASTERN_DATETIME: ValueType[dt.datetime] = _EasternDateTime()
MONEY: ValueType[Money] = _Money()
