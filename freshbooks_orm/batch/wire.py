"""An object's wire state read through its model's declarations: before-images, comparisons
of fresh state with what a run planned or wrote, the nested lists (lines) and the lifecycle a
batch delete uses."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from ..errors import UnsupportedOperationError
from ..orm.fields import NestedType
from ..orm.model import Model, parse_field


def _wanted_includes(
    model: type[Model], action: str, edit: Callable[[Any], object] | None
) -> tuple[str, ...]:
    """The ``include[]`` values the list requests need: those of the nested lists (``lines``)
    an edit may change (every one for ``apply``)."""
    meta = model._meta
    names = meta.nested if action == "apply" else getattr(edit, "fields", ())
    return meta.includes_for(names)


def _nested_includes(model: type[Model], keys: Iterable[str]) -> tuple[str, ...]:
    """The ``include[]`` values a GET or PUT needs to return the nested wire ``keys``."""
    meta = model._meta
    return meta.includes_for(n for n, spec in meta.nested.items() if spec.wire in keys)


def _nested_by_wire(model: type[Model], key: str) -> Any:
    spec = model._meta.field_by_wire(key)
    return spec if spec is not None and spec.is_nested else None


def _check_deletable(model: type[Model]) -> None:
    lifecycle = model._meta.lifecycle
    if lifecycle.http_delete or lifecycle.state is None or lifecycle.deleted is None:
        raise UnsupportedOperationError(
            f"{model.__name__} is deleted with {lifecycle.delete_style}, which a batch cannot "
            f"journal and undo; delete them one by one with .delete()"
        )


def _delete_values(model: type[Model]) -> tuple[str, int, int]:
    """(state key, deleted value, active value) of a resource a batch can delete."""
    _check_deletable(model)
    lifecycle = model._meta.lifecycle
    assert lifecycle.state is not None and lifecycle.deleted is not None
    return lifecycle.state, lifecycle.deleted, lifecycle.active or 0


def _check_nested(model: type[Model], wire: Mapping[str, Any], includes: Iterable[str]) -> None:
    """``FieldValueError`` unless each nested list a GET with ``includes`` returns is a list of
    objects in ``wire``: a null (or missing) one is not "no items", and a write planned from it
    would delete the items the server has."""
    wanted = set(includes)
    for spec in model._meta.nested.values():
        if spec.include in wanted:
            parse = cast(NestedType, spec.type).parse_saved
            items = parse_field(model.from_wire(dict(wire)), spec.name, parse, wire.get(spec.wire))
            for item in items:
                item.to_nested_payload()  # an item field that does not parse: FieldValueError


def _matches(model: type[Model], wire: Mapping[str, Any], expected: Mapping[str, Any]) -> bool:
    return all(_same(model, key, wire.get(key), value) for key, value in expected.items())


def _moved_fields(
    model: type[Model], wire: Mapping[str, Any], expected: Mapping[str, Any]
) -> list[str]:
    """The fields of ``expected`` whose value in ``wire`` differs."""
    return sorted(
        _field_name(model, k) for k, v in expected.items() if not _same(model, k, wire.get(k), v)
    )


def _changed_since(
    model: type[Model],
    wire: Mapping[str, Any],
    expected: Mapping[str, Any],
    expected_updated: str | None,
) -> str | None:
    """Why ``wire`` is not the state a write was planned against, or None if it is."""
    moved = _moved_fields(model, wire, expected)
    if moved:
        return f"{', '.join(moved)} changed since it was read"
    current_updated = _updated_of(model, wire)
    if expected_updated is not None and current_updated != expected_updated:
        return f"updated {expected_updated} -> {current_updated}: other fields changed"
    return None


def _same(model: type[Model], key: str, a: Any, b: Any) -> bool:
    nested = _nested_by_wire(model, key)
    if nested is not None:
        return _normal_items(nested, a) == _normal_items(nested, b)
    if a in (None, "") and b in (None, ""):
        return True
    spec = model._meta.field_by_wire(key)
    if spec is None:
        return bool(a == b)
    try:
        return bool(spec.type.parse(a) == spec.type.parse(b))
    except (TypeError, ValueError, ArithmeticError):
        return bool(a == b)


def _normal_items(nested: Any, items: Any) -> list[dict[str, Any]]:
    """Nested items (lines) as comparable dicts: writable values as ``save()`` would send them,
    no ids, and no empty values (the server fills in defaults such as ``taxAmount1: "0"``)."""
    item_model = nested.item_model
    pk_wire = item_model._meta.fields[item_model._meta.pk].wire
    out = []
    for raw in items or ():
        payload = item_model.from_wire(dict(raw)).to_nested_payload()
        out.append({k: v for k, v in payload.items() if k != pk_wire and v not in (None, "", 0)})
    return out


def _existing_ids_only(nested: Any, items: Any, current: Any) -> list[dict[str, Any]]:
    """The payload's items, with ids the object no longer has dropped (such items are created
    again): restoring a line the run removed must not fail with "Line not found"."""
    item_meta = nested.item_model._meta
    pk_wire = item_meta.fields[item_meta.pk].wire
    existing = {item.get(pk_wire) for item in current or () if isinstance(item, dict)}
    out = []
    for item in items:
        if item.get(pk_wire) is not None and item.get(pk_wire) not in existing:
            item = {k: v for k, v in item.items() if k != pk_wire}
        out.append(item)
    return out


# --- helpers -----------------------------------------------------------------------------------


def _image(model: type[Model], wire: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """The values of wire ``keys`` in ``wire``; lines as the payload that restores them."""
    out: dict[str, Any] = {}
    for key in keys:
        nested = _nested_by_wire(model, key)
        if nested is not None:
            item_model = nested.item_model
            out[key] = [
                item_model.from_wire(dict(item)).to_nested_payload()
                for item in wire.get(key) or ()
                if isinstance(item, dict)
            ]
        else:
            out[key] = copy.deepcopy(wire.get(key))
    return out


def _field_name(model: type[Model], wire: str) -> str:
    """The attribute name of the field sent under ``wire`` (the wire key if none is)."""
    spec = model._meta.field_by_wire(wire)
    return wire if spec is None else spec.name


def _wire_value(obj: Model, name: str) -> Any:
    return obj._meta.fields[name].type.to_wire(getattr(obj, name))


def _updated_of(model: type[Model], wire: Mapping[str, Any]) -> str | None:
    """The value of the resource's concurrency key (``updated``), if it has one."""
    key = model._meta.concurrency_field
    value = None if key is None else wire.get(key)
    return None if value is None else str(value).strip()


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _resource_name(model: type[Model]) -> str:
    """The name a journal stores for ``model``'s resource: its registry name (``"invoices"``)."""
    return model._meta.name or model.__name__


def _model_for(resource: str) -> type[Model]:
    """The model class of a journal's resource name (``"invoices"``; schema 1 stored the class
    name, ``"Invoice"``, which the registry accepts too)."""
    from ..orm.registry import get_model

    return get_model(resource)
