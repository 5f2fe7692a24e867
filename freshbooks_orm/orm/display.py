"""Data out: querysets as pandas DataFrames, models and querysets as HTML tables for notebooks.

Nothing here sends a request of its own: ``to_dataframe`` reads the rows the queryset yields
(page by page, as iteration does), and the HTML of a queryset reads at most one page of
``REPR_HTML_ROWS`` rows.  Lines that were not loaded are not fetched for display.
"""

from __future__ import annotations

import datetime as dt
import enum
import html
import importlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import UnknownFieldError, closest

if TYPE_CHECKING:
    from .model import Model
    from .queryset import QuerySet

__all__ = ["REPR_HTML_ROWS", "dataframe", "model_html", "queryset_html"]

#: Rows a queryset shows in a notebook (one request of this many rows).
REPR_HTML_ROWS = 20
PANDAS_HINT = "pip install 'freshbooks-orm[pandas]'"


# --- pandas ------------------------------------------------------------------------------------


def _pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError:
        raise ImportError(f"to_dataframe() needs pandas: {PANDAS_HINT}") from None


def frame_fields(model: type[Model], fields: Sequence[str]) -> list[str]:
    """The fields a frame holds: ``fields``, or every declared field except nested lists."""
    declared = model._meta.fields
    nested = list(model._meta.nested)
    if not fields:
        return [name for name in declared if name not in nested]
    for name in fields:
        if name in nested:
            raise ValueError(
                f"{model.__name__}.{name} is a list of objects, not a column; make a frame of "
                "them instead, e.g. from [line.to_dict() for line in obj.lines]"
            )
        if name not in declared:
            hint = closest(name, declared)
            did_you_mean = f" Did you mean {hint!r}?" if hint else ""
            valid = ", ".join(n for n in declared if n not in nested)
            raise UnknownFieldError(
                f"{model.__name__} has no field {name!r}.{did_you_mean} Valid fields: {valid}."
            )
    return list(dict.fromkeys(fields))


def dataframe(model: type[Model], objects: Iterable[Model], fields: Sequence[str]) -> Any:
    """A pandas DataFrame of ``objects``, one column per field (two per money field)."""
    pd = _pandas()
    names = frame_fields(model, fields)
    money = {name for name in names if model._meta.fields[name].type.name == "Money"}
    columns: list[str] = []
    for name in names:
        columns.extend((name, f"{name}_currency") if name in money else (name,))
    rows = []
    for obj in objects:
        row: list[Any] = []
        for name in names:
            value = getattr(obj, name)
            if name in money:
                row.extend((None, None) if value is None else (value.amount, value.code))
            else:
                row.append(_plain(value))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    # Decimal, date and str columns stay Python objects (no float rounding, dates stay dates);
    # ints, bools and datetimes get pandas' own types, with missing values kept as missing.
    for name in names:
        kind = model._meta.fields[name].type.name
        if kind in NULLABLE_DTYPES:
            frame[name] = frame[name].astype(NULLABLE_DTYPES[kind])
        elif kind.startswith("datetime"):
            try:
                frame[name] = pd.to_datetime(frame[name])
            except (TypeError, ValueError):  # mixed time zones: keep the datetimes as they are
                pass
    return frame


#: Pandas' nullable dtypes for the value types that have one.
NULLABLE_DTYPES = {"int": "Int64", "bool": "boolean"}


def _plain(value: Any) -> Any:
    """Enum members become their lower-case names (``InvoiceStatus.SENT`` -> ``"sent"``)."""
    if isinstance(value, enum.Enum):
        return value.name.lower()
    return value


# --- HTML ---------------------------------------------------------------------------------------


def cell(value: Any) -> str:
    """A value as escaped HTML text."""
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        text = value.name.lower()
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    else:
        text = str(value)  # Money as "800.00 USD", dates in ISO form
    return html.escape(text)


def _table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _nested_loaded(obj: Model, name: str) -> bool:
    return name in obj.__dict__ or obj._meta.nested[name].wire in obj._meta.wire_data(obj)


def model_html(obj: Model) -> str:
    """One object as a field/value table; its lines as a nested table when loaded."""
    cls = type(obj)
    rows = []
    for name, spec in cls._meta.fields.items():
        if spec.is_nested:
            continue
        value = getattr(obj, name)
        if value is not None and value != "":
            rows.append((name, value))
    title = html.escape(f"{cls.__name__} {obj.pk}" if obj.pk is not None else f"new {cls.__name__}")
    if obj.pk is not None and obj.is_dirty:
        title += " (unsaved changes: " + html.escape(", ".join(sorted(obj.dirty_fields))) + ")"
    parts = [f"<div><strong>{title}</strong>", _table(("field", "value"), rows)]
    for name, spec in cls._meta.nested.items():
        if _nested_loaded(obj, name):
            items = getattr(obj, name)
            assert spec.item_model is not None
            item_fields = spec.item_model._meta.repr_fields
            parts.append(f"<p>{html.escape(name)} ({len(items)}):</p>")
            parts.append(
                _table(item_fields, ([getattr(it, f) for f in item_fields] for it in items))
            )
        elif spec.include is not None:
            parts.append(
                f"<p>{html.escape(name)}: not loaded (include({spec.include!r}) loads them with "
                "the query)</p>"
            )
    parts.append("</div>")
    return "".join(parts)


def queryset_html(qs: QuerySet[Any], limit: int = REPR_HTML_ROWS) -> str:
    """The first ``limit`` rows as a table, saying how many there are; at most one request."""
    model = qs.model
    rows, total, more = qs._preview(limit)
    columns = model._meta.repr_fields
    table = _table(columns, ([getattr(obj, c) for c in columns] for obj in rows))
    noun = model.__name__
    if total is not None:
        summary = f"{len(rows)} of {total} {noun} rows" if more else f"{total} {noun} rows"
    else:
        summary = (
            f"the first {len(rows)} {noun} rows; there are more"
            if more
            else (f"{len(rows)} {noun} rows")
        )
    if more:
        summary += " (to_dataframe() reads them all)"
    return f"<div>{table}<p>{html.escape(summary)}</p></div>"
