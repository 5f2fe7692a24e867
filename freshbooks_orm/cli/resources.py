"""The commands every registered resource gets: ``list``, ``show``, and for writable resources
``update`` and ``delete`` (as journalled batch runs); ``NAME=VALUE`` options parsed by what NAME
is."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from .. import batch
from ..orm import registry
from ..orm.model import Model
from ..orm.query import BoolFilter, InFilter, SearchBoolFilter
from ..orm.types import Money
from .context import Context, UsageError
from .output import _cell, _json_default, _table
from .runs import _confirmed, _report, _writing

__all__ = ["cmd_delete", "cmd_list", "cmd_show", "cmd_update"]


def _pair(text: str, what: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise UsageError(f"{what} must look like NAME=VALUE, got {text!r}")
    return name.strip(), value


def _model(ctx: Context) -> type[Model]:
    return registry.get_model(ctx.args.resource)


def _filters(model: type[Model], texts: Sequence[str], option: str = "--filter") -> dict[str, Any]:
    """``NAME=VALUE`` texts as ``.filter()`` keyword arguments, typed by what NAME is."""
    out: dict[str, Any] = {}
    for text in texts:
        name, value = _pair(text, option)
        out[name] = _lookup_value(model, name, value, option)
    model.objects.filter(**out)  # unknown names and bad values raise before any request
    return out


def _lookup_value(model: type[Model], name: str, value: str, option: str) -> Any:
    from ..orm.planner import parse_key

    spec = model._meta.resource
    assert spec is not None
    flt = spec.filters.get(name)
    path = parse_key(model, name, spec.name)  # UnknownFilterError names the valid ones
    is_wire = flt is not None and (
        path is None
        or name not in model._meta.fields
        or (isinstance(flt, (BoolFilter, SearchBoolFilter)) and path.kind != "bool")
    )
    if is_wire or path is None:
        if flt is None:
            if name not in spec.lookups:
                model.objects.filter(**{name: value})  # raises, naming the valid names
            flt = spec.resolve(name)
        if isinstance(flt, InFilter):
            return _items(value)
        if isinstance(flt, (BoolFilter, SearchBoolFilter)):
            return _truth(name, value, option)
        return value
    if path.lookup in ("in", "range"):
        items = _items(value)
        if path.lookup == "range" and len(items) != 2:
            raise UsageError(f"{option} {name}: a range is LOW,HIGH, got {value!r}")
        return [_typed(path.kind, name, v, option) for v in items]
    if path.lookup == "isnull" or (path.kind == "bool" and path.lookup == "exact"):
        return _truth(name, value, option)
    kind = path.transform if path.transform in ("year", "month", "day") else path.kind
    return _typed(kind, name, value, option)


def _items(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _truth(name: str, value: str, option: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false", "1", "0", "yes", "no"):
        raise UsageError(f"{option} {name} takes true or false, got {value!r}")
    return lowered in ("true", "1", "yes")


def _typed(kind: str, name: str, value: str, option: str) -> Any:
    text = value.strip()
    if kind == "money" and " " in text:
        amount, _, code = text.partition(" ")
        return Money(amount, code.strip())
    if kind in ("year", "month", "day"):
        if not text.isdigit():
            raise UsageError(f"{option} {name} takes a number, got {value!r}")
        return int(text)
    return value


def _field_value(model: type[Model], name: str, text: str) -> Any:
    spec = model._meta.fields.get(name)
    stripped = text.strip()
    if stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped, parse_float=Decimal)
        except ValueError as exc:
            raise UsageError(f"--set {name}: not valid JSON: {exc}") from None
    if spec is not None and spec.type.name == "Money":
        amount, _, code = stripped.partition(" ")
        if not code:
            raise UsageError(f"--set {name}: give money as 'AMOUNT CODE', e.g. '25.00 USD'")
        return Money(amount, code.strip())
    return text


def _queryset(ctx: Context, filters: dict[str, Any], excludes: dict[str, Any] | None = None) -> Any:
    qs = _model(ctx).objects.filter(**filters)  # validated before any connection is set up
    if excludes:
        qs = qs.exclude(**excludes)
    return qs.using(ctx.client())


def cmd_list(ctx: Context) -> int:
    a = ctx.args
    model = _model(ctx)
    columns = model._meta.list_columns
    qs = model.objects.filter(**_filters(model, a.filter))
    excludes = _filters(model, a.exclude, "--exclude")
    if excludes:
        qs = qs.exclude(**excludes)
    if a.include:
        qs = qs.include(*[n.strip() for part in a.include for n in part.split(",") if n.strip()])
    if a.order_by:
        qs = qs.order_by(*_items(a.order_by))
    if a.explain:
        if a.limit:
            qs = qs[: a.limit]  # type: ignore[assignment]  # a slice without a step
        if (
            ctx.opt("sandbox")
            or ctx.opt("access_token")
            or os.environ.get("FRESHBOOKS_ACCESS_TOKEN")
        ):
            qs = qs.using(ctx.client())
        ctx.print(str(qs.explain()))
        return 0
    qs = qs.using(ctx.client())
    rows = qs[: a.limit] if a.limit else qs
    if a.fmt in ("json", "jsonl"):
        dicts = [inv.to_dict() for inv in rows]
        if a.fmt == "json":
            ctx.print(json.dumps(dicts, indent=2, default=_json_default))
        else:
            for d in dicts:
                ctx.print(json.dumps(d, default=_json_default))
        return 0
    table = [[_cell(getattr(obj, c)) for c in columns] for obj in rows]
    if a.fmt == "csv":
        writer = csv.writer(ctx.out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(table)
        return 0
    ctx.print(_table(columns, table))
    noun = (model._meta.name or "").replace("_", " ") if len(table) != 1 else model._meta.label
    ctx.note(f"{len(table)} {noun}")
    return 0


def cmd_show(ctx: Context) -> int:
    model = _model(ctx)
    meta = model._meta
    qs = model.objects.using(ctx.client())
    includes = meta.includes_for(meta.nested)
    obj = (qs.include(*includes) if includes else qs).get(ctx.args.id)
    if ctx.args.fmt == "json":
        ctx.print(json.dumps(obj.to_dict(), indent=2, default=_json_default))
        return 0
    width = max(len(n) for n in meta.fields)
    for name, spec in meta.fields.items():
        value = getattr(obj, name)
        if not spec.is_nested and value not in (None, ""):
            ctx.print(f"{name:<{width}}  {_cell(value)}")
    for name, spec in meta.nested.items():
        assert spec.item_model is not None
        columns = spec.item_model._meta.list_columns
        rows = [[_cell(getattr(item, c)) for c in columns] for item in getattr(obj, name)]
        ctx.print(f"\n{name} ({len(rows)}):")
        ctx.print(_table(columns, rows))
    return 0


def _check_scope(ctx: Context, filters: dict[str, Any], verb: str) -> None:
    if not filters and not ctx.args.exclude and not ctx.args.all:
        noun = ctx.args.resource.replace("_", " ")
        raise UsageError(
            f"{verb} without --filter or --exclude would touch all {noun}; add --all to mean it"
        )


def _execute(ctx: Context, the_plan: batch.Plan, verb: str) -> int:
    preview = the_plan.result(preview=not ctx.args.dry_run)
    ctx.print(str(preview))
    if ctx.args.dry_run:
        return 0 if not preview.failed else 1
    if not the_plan.planned:
        ctx.note("nothing to write")
        return 0 if not preview.failed else 1
    noun = the_plan.model._meta.name or "object"
    if not _confirmed(ctx, f"{verb} {the_plan.planned} {noun.replace('_', ' ')}?"):
        return 1
    result = the_plan.execute(journal=ctx.journal(), note=ctx.args.note, **_writing(ctx))
    return _report(ctx, result)


def cmd_update(ctx: Context) -> int:
    a = ctx.args
    model = _model(ctx)
    filters = _filters(model, a.filter)
    excludes = _filters(model, a.exclude, "--exclude")
    fields: dict[str, Any] = {}
    for text in a.sets:
        name, value = _pair(text, "--set")
        fields[name] = _field_value(model, name, value)
    for name in a.unset:
        fields[name] = None
    if not fields:
        raise UsageError("update needs at least one --set NAME=VALUE (or --unset NAME)")
    edit = batch.set_fields(model, fields)  # validates names and values before any request
    _check_scope(ctx, filters, "update")
    qs = _queryset(ctx, filters, excludes)
    return _execute(ctx, batch.plan(qs, edit, "update"), "Update")


def cmd_delete(ctx: Context) -> int:
    model = _model(ctx)
    filters = _filters(model, ctx.args.filter)
    excludes = _filters(model, ctx.args.exclude, "--exclude")
    _check_scope(ctx, filters, "delete")
    qs = _queryset(ctx, filters, excludes)
    return _execute(ctx, batch.plan(qs, None, "delete"), "Delete")
