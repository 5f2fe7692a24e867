"""Printing: the program name, table cells, aligned tables and JSON values."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ..orm.types import Money

__all__ = ["PROG"]

#: The command's name, in usage lines and in every message it prints.
PROG = "freshbooks-orm"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat") and hasattr(value, "year"):
        return str(value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat())
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, enum.IntEnum):
        return value.name.lower()
    return str(value)


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(c) for c in columns]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=False)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip()
        for row in rows
    )
    return "\n".join(lines)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
