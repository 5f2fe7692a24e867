"""Declarations shared by several resources: visibility states and the filters every
accounting list has."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from ..orm.query import DateFilter, EqualsFilter, Filter, encode_enum
from ..orm.types import EnumType, ValueType

__all__ = [
    "ANY",
    "UTC_DATETIME",
    "VIS_STATE",
    "VisState",
    "updated_filters",
    "vis_state_filter",
]


class _Any(ValueType[Any]):
    """A value of no fixed type (deprecated keys the reference calls "mixed"): kept as sent."""

    name = "any"


class _UtcDateTime(ValueType[dt.datetime]):
    """``YYYY-MM-DD HH:MM:SS`` naive UTC on the wire (client ``signup_date``); aware in Python."""

    name = "datetime (UTC)"

    def parse(self, raw: Any) -> dt.datetime | None:
        if raw is None or raw == "":
            return None
        return self.coerce(raw)

    def coerce(self, value: Any) -> dt.datetime:
        if isinstance(value, str):
            from dateutil import parser as date_parser  # imported when first needed

            value = date_parser.parse(value)
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value

    def to_wire(self, value: dt.datetime | None) -> Any:
        if value is None:
            return None
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


ANY: ValueType[Any] = _Any()
UTC_DATETIME: ValueType[dt.datetime] = _UtcDateTime()


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
