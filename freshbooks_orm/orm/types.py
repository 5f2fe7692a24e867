"""Value types: how each declared field is parsed from the wire, coerced from Python, and sent back.

Every field of a resource names one of these.  Parsing is by declaration, never by the shape of
the string: ``"2016-09-09 16:04:42"`` is a US/Eastern wall time because the field is declared
``EASTERN_DATETIME``, not because it looks like one.

Input is strict, because a guess here decides what a batch fix rewrites:

* dates are ``date``/``datetime`` objects or full ISO 8601 calendar dates: ``YYYY-MM-DD`` or a
  full datetime ``YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|+HH:MM]`` (a space may replace the ``T``).
  Reduced forms (``2024``, ``2024-03``, ``20240301``, ``March 2024``, ``5``) are refused;
* decimals are finite (no NaN, sNaN or Infinity), below ``MAX_DECIMAL`` in magnitude and with at
  most ``MAX_DECIMAL_PLACES`` decimal places; integers lie within a signed 64-bit range unless
  the field declares a narrower one;
* currency codes are three ASCII letters; lower case is accepted and upper-cased (``usd`` ->
  ``USD``), since ISO 4217 codes are upper case and FreshBooks sends them so.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections import deque
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from itertools import repeat
from operator import itemgetter, methodcaller
from typing import Any, Generic, TypeVar

import attrs

from ..errors import MixedCurrencyError

__all__ = [
    "BOOL",
    "CURRENCY",
    "DATE",
    "DECIMAL",
    "DECIMAL_STRING",
    "EASTERN",
    "EASTERN_DATETIME",
    "INT",
    "MAX_DECIMAL",
    "MAX_DECIMAL_PLACES",
    "MONEY",
    "STR",
    "EnumType",
    "IntType",
    "Money",
    "ValueType",
    "to_currency",
    "to_date",
    "to_datetime",
    "to_decimal",
    "to_int",
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


#: Decimals must be smaller than this in magnitude: FreshBooks stores amounts as fixed-point
#: decimals ("to two decimal places"); 10**13 leaves room for any real invoice and keeps every
#: amount exact at 28 significant digits. [?] -- the API documents no maximum.
MAX_DECIMAL = Decimal(10) ** 13
#: At most this many decimal places (money has 2, tax percentages 3, quantities a few).
MAX_DECIMAL_PLACES = 10
INT64 = (-(2**63), 2**63 - 1)

DATE_FORMS = "a date, a datetime, or an ISO 8601 string YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM]"

_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
    r"(?:[T ](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?)?",
    re.ASCII | re.IGNORECASE,
)


def to_decimal(value: Any) -> Decimal:
    """Coerce a number or numeric string to a finite Decimal FreshBooks can store.

    Floats go through ``repr`` so 0.1 stays 0.1.  NaN, sNaN, Infinity, magnitudes of
    ``MAX_DECIMAL`` or more and more than ``MAX_DECIMAL_PLACES`` places raise ``ValueError``.
    """
    if isinstance(value, bool):
        raise TypeError(f"expected a number, got {value!r}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        number = Decimal(repr(value))
    elif isinstance(value, int):
        if not -MAX_DECIMAL < value < MAX_DECIMAL:
            raise ValueError(f"{_clip(value)} is out of range: give less than 10**13 in magnitude")
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {_clip(value)}") from None
    else:
        raise TypeError(f"expected a Decimal, int or numeric string, got {type(value).__name__}")
    if not number.is_finite():
        raise ValueError(f"not a finite number: {_clip(value)}")
    if not -MAX_DECIMAL < number < MAX_DECIMAL:
        raise ValueError(f"{_clip(value)} is out of range: give less than 10**13 in magnitude")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMAL_PLACES and number != 0:
        normal = number.normalize().as_tuple().exponent
        if isinstance(normal, int) and normal < -MAX_DECIMAL_PLACES:
            raise ValueError(
                f"{_clip(value)} has more than {MAX_DECIMAL_PLACES} decimal places "
                "(round it, or give a Decimal)"
            )
    return number


def to_int(value: Any, low: int = INT64[0], high: int = INT64[1]) -> int:
    """Coerce an int or a string of digits (``"42"``, ``"-3"``) to an int within [low, high]."""
    if isinstance(value, bool):
        raise TypeError(f"expected an integer, got {value!r}")
    digits = isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,20}\s*", value, re.ASCII)
    if isinstance(value, int) or digits:
        number = int(value)
    else:
        raise TypeError(f"expected an integer, got {_clip(value)}")
    if not low <= number <= high:
        raise ValueError(f"{_clip(value)} is out of range: give {low} to {high}")
    return number


def _clip(value: Any) -> str:
    if isinstance(value, int) and value.bit_length() > 200:  # str() refuses > 4300 digits
        return f"an integer of {int(value.bit_length() * 0.30103) + 1} digits"
    text = repr(value) if not isinstance(value, int) else str(value)
    return text if len(text) <= 60 else text[:40] + f"... ({len(text)} characters)"


def _parse_iso(text: str) -> dt.date | dt.datetime:
    """A full ISO 8601 calendar date or datetime; reduced forms raise ValueError."""
    match = _ISO.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a full ISO 8601 date: {_clip(text)}; give {DATE_FORMS}")
    g = match.groupdict()
    try:
        day = dt.date(int(g["y"]), int(g["m"]), int(g["d"]))
        if g["H"] is None:
            return day
        fraction = (g["f"] or "0")[:6].ljust(6, "0")
        tz: dt.tzinfo | None = None
        if g["tz"]:
            if g["tz"].upper() == "Z":
                tz = dt.timezone.utc
            else:
                sign = -1 if g["tz"][0] == "-" else 1
                digits = g["tz"][1:].replace(":", "")
                offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
                tz = dt.timezone(sign * offset)
        return dt.datetime(
            day.year, day.month, day.day, int(g["H"]), int(g["M"]), int(g["S"] or 0),
            int(fraction), tzinfo=tz,
        )  # fmt: skip
    except ValueError as exc:
        raise ValueError(f"not a valid date: {_clip(text)} ({exc})") from None


def to_date(value: Any) -> dt.date:
    """Coerce a date, a datetime or a full ISO 8601 string to a ``date``.

    A timezone-aware datetime is first converted to US/Eastern, the API's clock.
    """
    if isinstance(value, str):
        value = _parse_iso(value)
    if isinstance(value, dt.datetime):
        return (value.astimezone(EASTERN) if value.tzinfo is not None else value).date()
    if isinstance(value, dt.date):
        return value
    raise TypeError(f"expected {DATE_FORMS}; got {type(value).__name__}")


def to_datetime(value: Any, naive: dt.tzinfo | None = None) -> dt.datetime:
    """Coerce a datetime, a date (midnight) or a full ISO 8601 string to an aware datetime.

    Naive values are wall times in ``naive`` (US/Eastern, the API's clock, by default); values
    with an offset keep their instant.  Reduced or free-form strings (``2024-03``, ``March
    2024``) raise ``ValueError``.
    """
    if isinstance(value, str):
        value = _parse_iso(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"expected {DATE_FORMS}; got {type(value).__name__}")
    if value.tzinfo is None:
        return value.replace(tzinfo=EASTERN if naive is None else naive)
    return value


def to_currency(value: Any) -> str:
    """A three-letter ISO 4217 code, upper-cased (``"usd"`` -> ``"USD"``)."""
    if not isinstance(value, str):
        raise TypeError(f"a currency code is a string of three letters, got {_clip(value)}")
    code = value.strip()
    if not re.fullmatch(r"[A-Za-z]{3}", code, re.ASCII):
        raise ValueError(f"a currency code is three letters such as 'USD', got {_clip(value)}")
    return code.upper()


# --- fast paths for values as FreshBooks sends them ----------------------------------------
# Reading a field parses its wire value.  The values FreshBooks sends are almost always in one
# canonical form ("800.00", "2024-05-01", "2016-09-09 16:04:42", "USD"); for those the checks
# below are done in a few C calls and give exactly what the general functions give.  Anything
# else takes the general (strict) path, which returns the same value or raises the same error.

_CODES: dict[str, str] = {}  # currency codes already checked, as sent -> as kept
_new = object.__new__


def _plain_decimal(raw: str) -> Decimal | None:
    """``Decimal(raw)`` when it is certainly what ``to_decimal`` gives (finite, below 10**13
    in magnitude, at most MAX_DECIMAL_PLACES places), else None: ask ``to_decimal``."""
    if "e" in raw or "E" in raw:
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return None
    if number.is_finite() and number.adjusted() < 13:
        point = raw.find(".")
        if point < 0 or len(raw) - point <= MAX_DECIMAL_PLACES + 1:
            return number
    return None


def _wire_decimal(raw: str) -> Decimal:
    """``to_decimal(raw)`` for a string, fast when it is a plain decimal ("-12.50")."""
    number = _plain_decimal(raw)
    return to_decimal(raw) if number is None else number


def _wire_currency(raw: str) -> str:
    code = _CODES.get(raw)
    if code is None:
        code = to_currency(raw)
        if len(_CODES) < 1024:
            _CODES[raw] = code
    return code


# --- whole columns at once ---------------------------------------------------------------------
# A model reads a field for a whole page of objects at once (``ValueType.parse_column``).  When
# every value of the column is in the canonical form, one C-level pass checks them all (a
# regular expression over the joined strings, the set of their types) and the conversion runs
# through ``map``; any other column is parsed value by value, by ``parse`` itself.  Either way
# each value is exactly what ``parse`` gives it.

#: In a parsed column: this value did not parse (its object's own read reports why).
UNPARSED: Any = type("Unparsed", (), {"__repr__": lambda self: "UNPARSED"})()
_NONE_TYPE = type(None)


def _one_per_line(value: str) -> re.Pattern[str]:
    """A pattern matching lines of ``value``, one value per line (for ``_lines_match``)."""
    return re.compile(rf"{value}(?:\n{value})*", re.ASCII)


#: Plain decimals ``_plain_decimal`` accepts as they are, one per line.
_PLAIN_DECIMALS = _one_per_line(rf"-?\d{{1,13}}(?:\.\d{{1,{MAX_DECIMAL_PLACES}}})?")
_DATES = _one_per_line(r"\d{4}-\d{2}-\d{2}")
_DATETIMES = _one_per_line(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_AMOUNT = itemgetter("amount")
_CODE = itemgetter("code")


def _lines_match(pattern: re.Pattern[str], strings: list[Any]) -> bool:
    """Whether every item is a str matching ``pattern``'s one-line form (checked in C)."""
    try:
        text = "\n".join(strings)
    except TypeError:  # not all strings
        return False
    # a newline inside an item would split it into two lines that match
    return pattern.fullmatch(text) is not None and text.count("\n") == len(strings) - 1


def _one_by_one(parse: Any, raws: list[Any]) -> tuple[list[Any], bool]:
    out = []
    complete = True
    for raw in raws:
        try:
            out.append(parse(raw))
        except Exception:  # the object's own read raises the typed error
            out.append(UNPARSED)
            complete = False
    return out, complete


def _without_nones(raws: list[Any]) -> list[Any] | None:
    """``raws`` when no item is None, else the items that are not (None: nothing left)."""
    if None not in raws:
        return raws
    present = [raw for raw in raws if raw is not None]
    return present or None


def _with_nones(raws: list[Any], present: list[Any], values: list[Any]) -> list[Any]:
    """``values`` (parsed from ``present``) put back in the places of ``raws``, None elsewhere."""
    if present is raws:
        return values
    it = iter(values)
    return [None if raw is None else next(it) for raw in raws]


@attrs.frozen
class Money:
    """An amount of one currency. Amounts are ``Decimal``, never float.

    Money adds, subtracts, negates, compares and takes ``abs()`` within one currency (mixing
    currencies raises ``MixedCurrencyError``, a ``ValueError``, naming both), multiplies and
    divides by a number, and ``sum()`` works (``0 + Money`` is the Money).

    Arithmetic keeps every digit ``Decimal`` gives (``Money("10.00", "USD") / 3`` is
    ``3.333...`` to 28 digits); round with ``quantize()``.  The wire's limit of
    ``MAX_DECIMAL_PLACES`` places applies where a value goes to FreshBooks: assigning such a
    Money to a field raises ``InvalidFieldValue`` (round it first).

    >>> Money("800.00", "USD")
    Money(amount=Decimal('800.00'), code='USD')
    >>> sum([Money("10.50", "USD"), Money("4.50", "USD")]) * 2
    Money(amount=Decimal('30.00'), code='USD')
    """

    amount: Decimal = attrs.field(converter=to_decimal)
    code: str = attrs.field(converter=to_currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.code}"

    # --- arithmetic and ordering within one currency -------------------------------------------
    # Amounts stay Decimal: ``*`` and ``/`` take an int, a Decimal or a float (through ``repr``,
    # as ``to_decimal`` does) and keep every digit Decimal gives; round with ``quantize()``.

    def _same_code(self, other: Money, verb: str) -> None:
        if other.code != self.code:
            raise MixedCurrencyError(
                f"cannot {verb} Money in different currencies: {self.code!r} and {other.code!r}"
            )

    def __add__(self, other: object) -> Money:
        if isinstance(other, Money):
            self._same_code(other, "add")
            return _result(self.amount + other.amount, self.code)
        if _is_zero(other):  # sum() starts from 0
            return self
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other: object) -> Money:
        if isinstance(other, Money):
            self._same_code(other, "subtract")
            return _result(self.amount - other.amount, self.code)
        if _is_zero(other):
            return self
        return NotImplemented

    def __rsub__(self, other: object) -> Money:
        if _is_zero(other):
            return -self
        return NotImplemented

    def __neg__(self) -> Money:
        return _result(-self.amount, self.code)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return _result(abs(self.amount), self.code)

    def __mul__(self, other: object) -> Money:
        factor = _factor(other)
        if factor is None:
            return NotImplemented
        return _result(self.amount * factor, self.code)

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> Any:
        """``Money / number`` is Money; ``Money / Money`` (one currency) is their Decimal ratio."""
        if isinstance(other, Money):
            self._same_code(other, "divide")
            return self.amount / other.amount
        divisor = _factor(other)
        if divisor is None:
            return NotImplemented
        return _result(self.amount / divisor, self.code)

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

    def quantize(self, exp: Decimal | str = "0.01", rounding: str | None = None) -> Money:
        """This amount rounded to the places of ``exp`` (cents by default), as
        ``Decimal.quantize`` rounds (``rounding``: ``decimal.ROUND_HALF_UP`` etc.; default the
        decimal context's, half-even).

        >>> (Money("10.00", "USD") / 3).quantize()
        Money(amount=Decimal('3.33'), code='USD')
        """
        return _result(self.amount.quantize(Decimal(exp), rounding=rounding), self.code)

    def to_wire(self) -> dict[str, str]:
        amount = self.amount
        # FreshBooks writes money with at least two places ("5000.00"); keep extra precision.
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and exponent > -2:
            amount = amount.quantize(Decimal("0.01"))
        return {"amount": format(amount, "f"), "code": self.code}


# Money's slots, set directly: a Money built from values already checked skips the converters.
_set_amount = Money.__dict__["amount"].__set__
_set_code = Money.__dict__["code"].__set__


def _result(amount: Decimal, code: str) -> Money:
    """The Money an arithmetic operation gives: every digit kept (no wire limit on places or
    magnitude here; ``coerce`` checks them when the value is assigned to a field)."""
    money: Money = _new(Money)
    _set_amount(money, amount)
    _set_code(money, code)
    return money


_DATE_FROM_ISO = dt.date.fromisoformat
_DATETIME_FROM_ISO = dt.datetime.fromisoformat
_AS_EASTERN = methodcaller("replace", tzinfo=EASTERN)


def _is_zero(value: object) -> bool:
    """The plain number 0 (``sum()``'s start), which adds to Money of any currency."""
    return type(value) in (int, Decimal, float) and value == 0


def _factor(value: object) -> Decimal | None:
    """A multiplier or divisor for Money: an int, Decimal or float (not a bool), else None.

    Any finite number, with every digit it has: the wire's limits are not the factor's."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, float)):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        return Decimal(repr(value))
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"not a finite number: {_clip(value)}")
    return number


class ValueType(Generic[T]):
    """How one kind of value crosses the wire.

    ``parse`` reads what the server sent (None stays None), ``coerce`` accepts what a user
    assigns, ``to_wire`` writes what the server expects.
    """

    name = "value"
    #: Wire values of exactly this Python type that ``parse`` returns unchanged (within
    #: ``bounds`` when set): a model may keep them without calling ``parse``.
    kept: type | None = None
    bounds: tuple[int, int] | None = None

    def parse(self, raw: Any) -> T | None:
        return None if raw is None else self.coerce(raw)

    def parse_column(self, raws: list[Any]) -> tuple[list[Any], bool]:
        """``[parse(raw) for raw in raws]``, with ``UNPARSED`` where ``parse`` raises, and
        whether every value parsed.  Types override ``_parse_present`` to do a column of
        canonical values in C."""
        kept = self.kept
        if kept is not None:
            kinds = set(map(type, raws))
            kinds.discard(_NONE_TYPE)  # parse(None) is None for every type
            if kinds == {kept} or not kinds:
                bounds = self.bounds
                if bounds is None or not kinds:
                    return raws, True
                present = _without_nones(raws)
                if present is not None and bounds[0] <= min(present) and max(present) <= bounds[1]:
                    return raws, True
            return _one_by_one(self.parse, raws)
        present = _without_nones(raws)
        if present is None:
            return raws, True
        values = self._parse_present(present)
        if values is None:
            return _one_by_one(self.parse, raws)
        return _with_nones(raws, present, values), True

    def _parse_present(self, present: list[Any]) -> list[Any] | None:
        """The parsed values of a column without None, or None to parse it one by one."""
        return None

    def coerce(self, value: Any) -> T:
        return value  # type: ignore[no-any-return]

    def to_wire(self, value: T | None) -> Any:
        return value


class _Str(ValueType[str]):
    name = "str"
    kept: type | None = str

    def parse(self, raw: Any) -> str | None:
        if type(raw) is str:
            return raw
        # Liberal on read: a number where text is declared (a postal code) is kept as its text.
        if isinstance(raw, (int, Decimal)) and not isinstance(raw, bool):
            return str(raw)
        return super().parse(raw)

    def coerce(self, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"expected a str, got {type(value).__name__}")
        return value


class IntType(ValueType[int]):
    """An integer, optionally restricted to ``[low, high]`` (what the API can store)."""

    name = "int"

    kept = int

    def __init__(self, low: int = INT64[0], high: int = INT64[1]) -> None:
        self.low = low
        self.high = high
        self.bounds = (low, high)

    def parse(self, raw: Any) -> int | None:
        if type(raw) is int and self.low <= raw <= self.high:
            return raw
        return super().parse(raw)

    def coerce(self, value: Any) -> int:
        return to_int(value, self.low, self.high)


class _Bool(ValueType[bool]):
    name = "bool"
    kept = bool

    def parse(self, raw: Any) -> bool | None:
        if raw is True or raw is False:
            return raw
        return super().parse(raw)

    def coerce(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, Decimal)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        raise TypeError(f"expected a bool, got {_clip(value)}")


class _Decimal(ValueType[Decimal]):
    """A decimal the API sends as a string ("4", "13.000"); sent back as a number when whole."""

    name = "decimal"

    def parse(self, raw: Any) -> Decimal | None:
        if type(raw) is str and raw:
            return _wire_decimal(raw)
        if raw is None or raw == "":
            return None
        return to_decimal(raw)

    def _parse_present(self, present: list[Any]) -> list[Any] | None:
        return list(map(Decimal, present)) if _lines_match(_PLAIN_DECIMALS, present) else None

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
        # YYYY-MM-DD: fromisoformat checks the digits (ASCII only) and the calendar
        if (
            type(raw) is str
            and len(raw) == 10
            and raw[4] == "-"
            and raw[7] == "-"
            and raw.isascii()
            and raw != "0000-00-00"
        ):
            try:
                return dt.date.fromisoformat(raw)
            except ValueError:
                pass  # not a valid date: the general path says why
        if raw is None or raw == "" or raw == "0000-00-00":
            return None
        if not isinstance(raw, str):
            raise TypeError(f"expected a YYYY-MM-DD string, got {_clip(raw)}")
        return to_date(raw)

    def _parse_present(self, present: list[Any]) -> list[Any] | None:
        if not _lines_match(_DATES, present):
            return None
        try:
            return list(map(_DATE_FROM_ISO, present))
        except ValueError:  # not a calendar date, or 0000-00-00 (None): one by one
            return None

    def coerce(self, value: Any) -> dt.date:
        return to_date(value)

    def to_wire(self, value: dt.date | None) -> Any:
        return None if value is None else value.isoformat()


class _EasternDateTime(ValueType[dt.datetime]):
    """``YYYY-MM-DD HH:MM:SS`` naive US/Eastern wall time on the wire; aware datetime in Python.

    A value that carries ``Z`` or an offset is converted to US/Eastern, never relabelled.
    """

    name = "datetime (US/Eastern)"

    def parse(self, raw: Any) -> dt.datetime | None:
        # YYYY-MM-DD HH:MM:SS: fromisoformat checks the digits (ASCII only) and the ranges
        if (
            type(raw) is str
            and len(raw) == 19
            and raw[10] == " "
            and raw[4] == "-"
            and raw[7] == "-"
            and raw[13] == ":"
            and raw[16] == ":"
            and raw.isascii()
        ):
            try:  # a naive US/Eastern wall time, as FreshBooks sends them
                return dt.datetime.fromisoformat(raw).replace(tzinfo=EASTERN)
            except ValueError:
                pass
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str):
            raise TypeError(f"expected a YYYY-MM-DD HH:MM:SS string, got {_clip(raw)}")
        return to_datetime(raw).astimezone(EASTERN)

    def _parse_present(self, present: list[Any]) -> list[Any] | None:
        if not _lines_match(_DATETIMES, present):
            return None
        try:
            return list(map(_AS_EASTERN, map(_DATETIME_FROM_ISO, present)))
        except ValueError:
            return None

    def coerce(self, value: Any) -> dt.datetime:
        return to_datetime(value)

    def to_wire(self, value: dt.datetime | None) -> Any:
        if value is None:
            return None
        return value.astimezone(EASTERN).strftime("%Y-%m-%d %H:%M:%S")


class _Currency(_Str):
    """A three-letter currency code (``currency_code``); lower case is upper-cased."""

    name = "currency code"
    kept = None  # "usd" is read as "USD": no value is kept unchanged without ``parse``

    def parse(self, raw: Any) -> str | None:
        if type(raw) is str and raw:
            return _wire_currency(raw)
        return None if raw is None or raw == "" else to_currency(raw)

    def coerce(self, value: Any) -> str:
        return to_currency(value)


class _Money(ValueType[Money]):
    name = "Money"

    def parse(self, raw: Any) -> Money | None:
        if type(raw) is dict:
            amount = raw.get("amount")
            code = raw.get("code")
            if type(amount) is str and type(code) is str and "e" not in amount:
                # _plain_decimal(), inline: this is the hottest read of all
                try:
                    number = Decimal(amount)
                except InvalidOperation:
                    number = None
                if (
                    number is not None
                    and number.is_finite()
                    and number.adjusted() < 13
                    and "E" not in amount
                ):
                    point = amount.find(".")
                    if point < 0 or len(amount) - point <= MAX_DECIMAL_PLACES + 1:
                        money = _new(Money)
                        _set_amount(money, number)
                        _set_code(money, _CODES.get(code) or _wire_currency(code))
                        return money
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise TypeError(f"expected {{'amount': ..., 'code': ...}}, got {_clip(raw)}")
        if raw.get("amount") is None:
            return None
        return Money(raw["amount"], raw.get("code"))

    def _parse_present(self, present: list[Any]) -> list[Any] | None:
        try:  # a value that is not a dict with both keys: one by one
            amounts = list(map(_AMOUNT, present))
            codes = list(map(_CODE, present))
            kept_codes = list(map(_CODES.get, codes))
        except (KeyError, TypeError):  # TypeError: not a mapping, or an unhashable code
            return None
        if not _lines_match(_PLAIN_DECIMALS, amounts):
            return None
        if None in kept_codes:  # codes not checked yet (or a full cache): check each once
            try:
                known = {code: _wire_currency(code) for code in set(codes)}
            except (ValueError, TypeError):
                return None
            kept_codes = list(map(known.__getitem__, codes))
        # Money is built without its converters (the values are checked): three C-level passes
        out = list(map(_new, repeat(Money, len(amounts))))
        deque(map(_set_amount, out, map(Decimal, amounts)), 0)
        deque(map(_set_code, out, kept_codes), 0)
        return out

    def coerce(self, value: Any) -> Money:
        if isinstance(value, Money):
            # arithmetic keeps every digit (``Money / 3``): what goes on the wire must fit
            try:
                to_decimal(value.amount)
            except ValueError:
                raise ValueError(
                    f"{value} does not fit the wire (at most {MAX_DECIMAL_PLACES} decimal places, "
                    "less than 10**13): round it first, e.g. with .quantize()"
                ) from None
            return value
        if isinstance(value, Mapping) and "amount" in value and "code" in value:
            return Money(value["amount"], value["code"])
        raise TypeError(
            f"expected Money(amount, code) or {{'amount': ..., 'code': ...}}, got {_clip(value)}"
        )

    def to_wire(self, value: Money | None) -> Any:
        return None if value is None else value.to_wire()


class EnumType(ValueType[Any]):
    """An IntEnum on the wire as its int. Unknown numbers stay plain ints rather than crash."""

    def __init__(self, enum_cls: type[enum.IntEnum]) -> None:
        self.enum_cls = enum_cls
        self.name = enum_cls.__name__
        self._members: dict[int, Any] = {int(m): m for m in enum_cls}

    def parse(self, raw: Any) -> Any:
        if type(raw) is int:
            member = self._members.get(raw)
            if member is not None:
                return member
        if raw is None:
            return None
        number = to_int(raw)
        try:
            return self.enum_cls(number)
        except ValueError:
            return number

    def _parse_present(self, present: list[Any]) -> list[Any] | None:
        if set(map(type, present)) != {int}:
            return None
        values = list(map(self._members.get, present))
        return None if None in values else values

    def coerce(self, value: Any) -> Any:
        if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
            try:
                return self.enum_cls[value.upper().replace("-", "_").replace(" ", "_")]
            except KeyError:
                names = ", ".join(m.name.lower() for m in self.enum_cls)
                raise ValueError(f"unknown {self.name} {_clip(value)}; valid: {names}") from None
        try:
            return self.enum_cls(to_int(value))
        except (ValueError, TypeError):
            valid = ", ".join(f"{m.value} ({m.name.lower()})" for m in self.enum_cls)
            raise ValueError(f"unknown {self.name} {_clip(value)}; valid: {valid}") from None

    def to_wire(self, value: Any) -> Any:
        return None if value is None else int(value)


class ChoiceType(ValueType[str]):
    """A string restricted to a documented set of values."""

    kept = str

    def __init__(self, choices: tuple[str, ...], name: str) -> None:
        self.choices = choices
        self.name = name

    def parse(self, raw: Any) -> str | None:
        if type(raw) is str:
            return raw  # the server may know values we do not
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise TypeError(f"expected a {self.name} string, got {_clip(raw)}")
        return raw  # the server may know values we do not

    def coerce(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.choices:
            raise ValueError(
                f"{_clip(value)} is not a {self.name}; valid: {', '.join(self.choices)}"
            )
        return value


STR: ValueType[str] = _Str()
INT: ValueType[int] = IntType()
BOOL: ValueType[bool] = _Bool()
DECIMAL: ValueType[Decimal] = _Decimal()
DECIMAL_STRING: ValueType[Decimal] = _DecimalString()
DATE: ValueType[dt.date] = _Date()
EASTERN_DATETIME: ValueType[dt.datetime] = _EasternDateTime()
MONEY: ValueType[Money] = _Money()
CURRENCY: ValueType[str] = _Currency()
