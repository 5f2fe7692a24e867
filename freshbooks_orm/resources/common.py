"""Declarations shared by several resources: visibility states, the filters every accounting
list has, and the filter shapes the documents (invoices, estimates, ...) share."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from typing import Any

from ..orm.query import DateFilter, EqualsFilter, Filter, InFilter, encode_enum
from ..orm.query import encode_decimal as dec
from ..orm.query import encode_int as int_
from ..orm.types import EnumType, IntType, ValueType, to_datetime

__all__ = [
    "ANY",
    "ID_OR_ZERO",
    "UTC_DATETIME",
    "VIS_STATE",
    "VisState",
    "date_range",
    "decimal_range",
    "id_filters",
    "notes_filter",
    "number_filters",
    "range_lookups",
    "status_filters",
    "updated_filters",
    "vis_state_filter",
]


class _Any(ValueType[Any]):
    """A value of no fixed type (deprecated keys the reference calls "mixed"): kept as sent."""

    name = "any"


class _UtcDateTime(ValueType[dt.datetime]):
    """``YYYY-MM-DD HH:MM:SS`` naive UTC on the wire (client ``signup_date``); aware in Python.

    Read and coerced as strictly as the US/Eastern datetimes (a full ISO 8601 date or datetime,
    nothing reduced or free-form); only a naive value's zone differs.
    """

    name = "datetime (UTC)"

    def parse(self, raw: Any) -> dt.datetime | None:
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str):
            raise TypeError(f"expected a YYYY-MM-DD HH:MM:SS string, got {type(raw).__name__}")
        return self.coerce(raw)

    def coerce(self, value: Any) -> dt.datetime:
        return to_datetime(value, naive=dt.timezone.utc)

    def to_wire(self, value: dt.datetime | None) -> Any:
        if value is None:
            return None
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


class _IdOrNone(IntType):
    """The id of a related object, where FreshBooks writes 0 for "none" (not null): read as
    sent; None is sent as 0.  Its ``name`` stays "int": it filters and orders as one."""

    def to_wire(self, value: int | None) -> Any:
        return 0 if value is None else value


ANY: ValueType[Any] = _Any()
UTC_DATETIME: ValueType[dt.datetime] = _UtcDateTime()
#: An id where FreshBooks writes 0, not null, for "none" (expense ``clientid``, item ``tax1``).
ID_OR_ZERO: ValueType[int] = _IdOrNone()


class VisState(enum.IntEnum):
    """``vis_state``: 0 active, 1 deleted, 2 archived."""

    ACTIVE = 0
    DELETED = 1
    ARCHIVED = 2


#: The value type of every ``vis_state`` field.
VIS_STATE = EnumType(VisState)


def vis_state_filter() -> Filter:
    """``search[vis_state]=0|1|2``: lists return active and archived rows unless told."""
    return EqualsFilter("vis_state", encode_enum(VIS_STATE))


def updated_filters() -> tuple[Filter, Filter]:
    """``updated_min``/``updated_max``: between on ``updated``, day granularity."""
    return (
        DateFilter("updated_min", doc="updated >= value (day granularity)"),
        DateFilter("updated_max", doc="updated < value (day granularity)"),
    )


def id_filters(name: str, doc: str = "") -> tuple[Filter, Filter]:
    """``<name>`` (equals) and ``<name>s`` (in) on an integer id: ``invoiceid``/``invoiceids``."""
    return EqualsFilter(name, int_, doc=doc), InFilter(f"{name}s", int_, doc=doc)


def date_range(name: str, what: str) -> tuple[Filter, Filter]:
    """``<name>_min``/``<name>_max``: ``what`` >= value and ``what`` < value, on dates."""
    return (
        DateFilter(f"{name}_min", doc=f"{what} >= value"),
        DateFilter(f"{name}_max", doc=f"{what} < value"),
    )


def decimal_range(name: str, what: str) -> tuple[Filter, Filter]:
    """``<name>_min``/``<name>_max``: ``what`` >= value and ``what`` < value, on decimals."""
    return (
        EqualsFilter(f"{name}_min", dec, doc=f"{what} >= value"),
        EqualsFilter(f"{name}_max", dec, doc=f"{what} < value"),
    )


def range_lookups(field: str, name: str) -> dict[str, str]:
    """``<field>__gte`` -> ``<name>_min`` and ``<field>__lt`` -> ``<name>_max``."""
    return {f"{field}__gte": f"{name}_min", f"{field}__lt": f"{name}_max"}


def number_filters(document: str) -> tuple[Filter, Filter]:
    """``<document>_number`` (equals) and ``<document>_number_like`` (contains)."""
    return (
        EqualsFilter(f"{document}_number"),
        EqualsFilter(f"{document}_number_like", doc=f"{document} number contains"),
    )


def notes_filter() -> Filter:
    """``notes``: the document's notes contain the value."""
    return EqualsFilter("notes", doc="notes contain")


def status_filters(encode: Callable[[Any], str]) -> tuple[Filter, Filter]:
    """``statusid`` (equals) and ``statusids`` (in) on a document's ``status`` code."""
    return EqualsFilter("statusid", encode), InFilter("statusids", encode)
