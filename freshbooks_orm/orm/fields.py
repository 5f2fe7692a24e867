"""Field declarations: the kinds of field a resource declares, and nested lists of sub-objects.

A resource declares each field with one of the specifiers below and a value type from
``freshbooks_orm.types``::

    amount: Money | None = computed(MONEY)          # FreshBooks computes it; read-only
    customerid: int | None = create_only(INT)       # may be set on a new object only
    notes: str | None = writable(STR)               # save() sends it when it changed
    vis_state: VisState | None = state(VIS_STATE)   # changed by delete()/restore()/archive()
    lines: list[Line] = nested(Line, include="lines")

A *nested* field is a list of sub-objects under any wire name (``lines``, ``contacts``, ...).
It follows the rules FreshBooks imposes on invoice lines: it is dirty when any item changed in
place or items were added, removed, reordered or replaced; ``save()`` then sends the whole list
(FreshBooks deletes any item a PUT leaves out); and when the resource only returns the list
with an ``include[]``, it is loaded with one GET on first access.

Nothing here does I/O or knows a resource.
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import attrs

from ..errors import InvalidFieldValue, UsageError, short_repr
from .types import ValueType

if TYPE_CHECKING:
    from .model import Model

__all__ = [
    "FieldKind",
    "FieldSpec",
    "NestedList",
    "computed",
    "create_only",
    "nested",
    "state",
    "writable",
]


class FieldKind(enum.Enum):
    COMPUTED = "computed by FreshBooks (read-only)"
    CREATE_ONLY = "writable on create only"
    WRITABLE = "writable"
    STATE = "changed only by delete(), restore() and archive()"


@attrs.frozen
class FieldSpec:
    """One declared field: its attribute name, value type, kind and wire name.

    ``item_model`` is set for nested lists (the model of one item); ``include`` names the
    ``include[]`` value the API needs to return the field, if any.
    """

    name: str
    type: ValueType[Any]
    kind: FieldKind
    wire: str
    item_model: builtins.type[Model] | None = None
    include: str | None = None

    @property
    def sendable(self) -> bool:
        return self.kind in (FieldKind.WRITABLE, FieldKind.CREATE_ONLY)

    @property
    def is_nested(self) -> bool:
        return self.item_model is not None


def coerce_field(type_: ValueType[Any], label: str, value: Any) -> Any:
    """``type_.coerce(value)``, or ``InvalidFieldValue`` naming the field and the value."""
    try:
        return type_.coerce(value)
    except UsageError:  # already says what is wrong (a line's own field, an unknown name)
        raise
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise InvalidFieldValue(f"bad value for {label}: {exc}") from None


def _optional(type_: ValueType[Any], label: list[str]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        return None if value is None else coerce_field(type_, label[0], value)

    return convert


def _field(type_: ValueType[Any], kind: FieldKind, wire: str | None, init: bool) -> Any:
    label = ["a field"]  # "Invoice.create_date" once @resource knows the class and the name
    return attrs.field(
        default=None,
        init=init,
        converter=_optional(type_, label),
        metadata={"fb": (type_, kind, wire, None), "fb_label": label},
    )


def computed(
    type_: ValueType[Any],
    *,
    wire: str | None = None,
    init: Literal[False] = False,
    default: Any = None,
) -> Any:
    """A field FreshBooks computes; assigning it raises ``ReadOnlyFieldError``."""
    return _field(type_, FieldKind.COMPUTED, wire, init=False)


def create_only(type_: ValueType[Any], *, wire: str | None = None, default: Any = None) -> Any:
    """A field that may be set on a new object only."""
    return _field(type_, FieldKind.CREATE_ONLY, wire, init=True)


def writable(type_: ValueType[Any], *, wire: str | None = None, default: Any = None) -> Any:
    """A field ``save()`` sends when it changed."""
    return _field(type_, FieldKind.WRITABLE, wire, init=True)


def state(
    type_: ValueType[Any],
    *,
    wire: str | None = None,
    init: Literal[False] = False,
    default: Any = None,
) -> Any:
    """A state field (``vis_state``): readable, changed only through its own methods."""
    return _field(type_, FieldKind.STATE, wire, init=False)


class NestedList(list):  # type: ignore[type-arg]
    """A nested list of sub-objects; coerces dicts to item objects as they are added."""

    item_model: ClassVar[type[Model]]

    def __init__(self, items: Iterable[Any] = ()) -> None:
        super().__init__(self._coerce(item) for item in items)

    def _coerce(self, item: Any) -> Any:
        if isinstance(item, self.item_model):
            return item
        if isinstance(item, dict):
            return self.item_model(**item)
        raise InvalidFieldValue(
            f"an item of this list must be a {self.item_model.__name__} or a dict, "
            f"got {short_repr(item)}"
        )

    def append(self, item: Any) -> None:
        super().append(self._coerce(item))

    def insert(self, index: Any, item: Any) -> None:
        super().insert(index, self._coerce(item))

    def extend(self, items: Iterable[Any]) -> None:
        # Every item is checked before the list changes: a bad third item must not leave the
        # first two appended, or a retry would add them twice.
        super().extend([self._coerce(item) for item in items])

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            super().__setitem__(index, [self._coerce(v) for v in value])
        else:
            super().__setitem__(index, self._coerce(value))

    def __iadd__(self, items: Iterable[Any]) -> NestedList:  # type: ignore[misc]
        self.extend(items)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        # The list class is made per item model (``InvoiceLineList``), so it is found again
        # through its item model, which pickle can name.
        return (_rebuild_list, (self.item_model, list(self)))


_LISTS: dict[type[Model], type[NestedList]] = {}


def nested_list_class(item_model: type[Model]) -> type[NestedList]:
    """The list class holding ``item_model`` items (one per model, e.g. ``InvoiceLineList``)."""
    list_cls = _LISTS.get(item_model)
    if list_cls is None:
        namespace = {
            "item_model": item_model,
            "line_cls": item_model,  # the 0.1 name
            "__module__": item_model.__module__,
        }
        list_cls = _LISTS.setdefault(
            item_model, type(f"{item_model.__name__}List", (NestedList,), namespace)
        )
    return list_cls


#: The 0.1 name of ``nested_list_class``.
line_list_class = nested_list_class


def _rebuild_list(item_model: type[Model], items: list[Any]) -> NestedList:
    return nested_list_class(item_model)(items)


#: The former name of ``NestedList``.
LineList = NestedList


class NestedType(ValueType[NestedList]):
    """The value type of a nested list: wire list of dicts <-> ``NestedList`` of objects."""

    def __init__(self, list_cls: type[NestedList]) -> None:
        self.list_cls = list_cls
        self.name = f"list of {list_cls.item_model.__name__}"

    @property
    def item_model(self) -> type[Model]:
        return self.list_cls.item_model

    def parse(self, raw: Any) -> NestedList:
        # Strict: silently dropping an item the server sent would delete it on the next save.
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise TypeError(f"expected a list of objects, got {short_repr(raw)}")
        for item in raw:
            if not isinstance(item, dict):
                raise TypeError(f"expected a list of objects, got an item {short_repr(item)}")
        from_wire = self.list_cls.item_model.from_wire
        items = self.list_cls.__new__(self.list_cls)  # items made here need no coercion
        list.extend(items, [from_wire(item) for item in raw])
        return items

    def parse_saved(self, raw: Any) -> NestedList:
        """``parse`` for a saved object's list: null is not "no items" (its items are unknown,
        and saving an edit of an empty baseline would delete them)."""
        if raw is None:
            raise TypeError("null, not a list: its items are unknown")
        return self.parse(raw)

    def coerce(self, value: Any) -> NestedList:
        if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
            raise TypeError(f"expected a {self.name}, got {value!r}")
        return self.list_cls(value)

    def to_wire(self, value: NestedList | None) -> Any:
        """The items as new items (no ids): only the object holding a list knows which items
        are its own (``Model.to_payload``)."""
        return None if value is None else self.items_to_wire(value, ())

    def items_to_wire(self, items: Iterable[Model], own: Iterable[Model]) -> list[Any]:
        """``items`` as a wire list: an item of ``own`` (by identity) keeps its id, the first
        time it appears; any other item (a copy, another parent's item, the same item again)
        goes without its id, so the server creates it rather than rewriting the item of that
        id -- ids (``lineid``) are unique within one parent only."""
        meta = self.item_model._meta
        pk_wire = meta.fields[meta.pk].wire
        own_ids = {id(item) for item in own}
        out = []
        for item in items:
            payload = item.to_nested_payload()
            if id(item) in own_ids:
                own_ids.discard(id(item))
            else:
                payload.pop(pk_wire, None)
            out.append(payload)
        return out


def nested(
    item_model: type[Model],
    *,
    include: str | None = None,
    wire: str | None = None,
    factory: Callable[[], Any] = list,
) -> Any:
    """A list of ``item_model`` objects under any name (``lines``, ``contacts``, ...).

    ``include`` is the ``include[]`` value without which the API leaves the list out; such a
    list is loaded with one GET on first access.
    """
    list_cls = nested_list_class(item_model)
    nested_type = NestedType(list_cls)
    label = ["a nested list"]
    return attrs.field(
        factory=list_cls,
        converter=lambda value: coerce_field(nested_type, label[0], value),
        metadata={"fb": (nested_type, FieldKind.WRITABLE, wire, include), "fb_label": label},
    )
