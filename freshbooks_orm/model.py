"""The model layer: declared fields, lazy typed parsing, dirty tracking, save and delete.

A resource class is an attrs class whose fields are declared with ``computed``, ``create_only``,
``writable``, ``state`` or ``lines_of``; ``@resource(...)`` turns it into a model.  Objects
loaded from the API keep the wire dict and parse each field by its declared type on first
access (so loading a page costs almost nothing), and know which fields changed since:

* a field is dirty when its value differs from what the server sent (setting an equal value is
  not a change);
* ``lines`` is dirty when any line changed in place, or lines were added, removed, reordered or
  replaced: the current lines are compared with a snapshot taken when they were loaded.

``save()`` sends only dirty fields, and the full set of lines whenever lines are dirty, because
FreshBooks deletes any line a PUT leaves out.  ``vis_state`` never travels with field changes:
FreshBooks applies only ``vis_state`` from a PUT that carries it and silently drops the rest.
"""

from __future__ import annotations

import copy
import enum
import functools
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, cast

import attrs

from .errors import (
    FreshBooksError,
    InvalidFieldValue,
    NotFound,
    ReadOnlyFieldError,
    UnknownFieldError,
    UsageError,
    closest,
    short_repr,
)
from .errors import MultipleObjectsReturned as _MultipleObjectsReturned
from .query import ResourceSpec
from .transport import Client, default_client
from .types import ValueType

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover - Python 3.10
    from typing_extensions import dataclass_transform


if TYPE_CHECKING:
    from .queryset import QuerySet

__all__ = [
    "FieldKind",
    "FieldSpec",
    "LineList",
    "Model",
    "computed",
    "create_only",
    "lines_of",
    "resource",
    "state",
    "writable",
]

M = TypeVar("M", bound="Model")
#: Keys that switch FreshBooks into "state change" mode, dropping every other key of the PUT.
STATE_KEYS = frozenset({"vis_state", "ext_vis_state"})


class FieldKind(enum.Enum):
    COMPUTED = "computed by FreshBooks (read-only)"
    CREATE_ONLY = "writable on create only"
    WRITABLE = "writable"
    STATE = "changed only by delete(), restore() and archive()"


@attrs.frozen
class FieldSpec:
    name: str
    type: ValueType[Any]
    kind: FieldKind
    wire: str

    @property
    def sendable(self) -> bool:
        return self.kind in (FieldKind.WRITABLE, FieldKind.CREATE_ONLY)


# --- field specifiers ----------


def _coerce(type_: ValueType[Any], label: str, value: Any) -> Any:
    """``type_.coerce(value)``, or ``InvalidFieldValue`` naming the field and the value."""
    try:
        return type_.coerce(value)
    except UsageError:  # already says what is wrong (a line's own field, an unknown name)
        raise
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise InvalidFieldValue(f"bad value for {label}: {exc}") from None


def _optional(type_: ValueType[Any], label: list[str]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        return None if value is None else _coerce(type_, label[0], value)

    return convert


def _field(type_: ValueType[Any], kind: FieldKind, wire: str | None, init: bool) -> Any:
    label = ["a field"]  # "Invoice.create_date" once @resource knows the class and the name
    return attrs.field(
        default=None,
        init=init,
        converter=_optional(type_, label),
        metadata={"fb": (type_, kind, wire), "fb_label": label},
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


class LineList(list):  # type: ignore[type-arg]
    """The list of an object's lines; coerces dicts to line objects as they are added."""

    line_cls: ClassVar[type[Model]]

    def __init__(self, items: Iterable[Any] = ()) -> None:
        super().__init__(self._coerce(item) for item in items)

    def _coerce(self, item: Any) -> Any:
        if isinstance(item, self.line_cls):
            return item
        if isinstance(item, dict):
            return self.line_cls(**item)
        raise InvalidFieldValue(
            f"a line must be a {self.line_cls.__name__} or a dict, got {short_repr(item)}"
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

    def __iadd__(self, items: Iterable[Any]) -> LineList:  # type: ignore[misc]
        self.extend(items)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        # The list class is made per line class (``InvoiceLineList``), so it is found again
        # through its line class, which pickle can name.
        return (_rebuild_lines, (self.line_cls, list(self)))


_LINE_LISTS: dict[type[Model], type[LineList]] = {}


def line_list_class(line_cls: type[Model]) -> type[LineList]:
    """The list class holding ``line_cls`` lines (one per line class, e.g. ``InvoiceLineList``)."""
    list_cls = _LINE_LISTS.get(line_cls)
    if list_cls is None:
        namespace = {"line_cls": line_cls, "__module__": line_cls.__module__}
        list_cls = _LINE_LISTS.setdefault(
            line_cls, type(f"{line_cls.__name__}List", (LineList,), namespace)
        )
    return list_cls


def _rebuild_lines(line_cls: type[Model], items: list[Any]) -> LineList:
    return line_list_class(line_cls)(items)


class _LinesType(ValueType[LineList]):
    name = "lines"

    def __init__(self, list_cls: type[LineList]) -> None:
        self.list_cls = list_cls

    def parse(self, raw: Any) -> LineList:
        from_wire = self.list_cls.line_cls.from_wire
        return self.list_cls([from_wire(item) for item in raw or ()])

    def coerce(self, value: Any) -> LineList:
        if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
            raise TypeError(f"lines must be a list of lines, got {value!r}")
        return self.list_cls(value)


def lines_of(line_cls: type[Model], *, factory: Callable[[], Any] = list) -> Any:
    """The ``lines`` field: a list of ``line_cls``, loaded on first access when not included."""
    list_cls = line_list_class(line_cls)
    lines_type = _LinesType(list_cls)
    label = ["lines"]
    return attrs.field(
        factory=list_cls,
        converter=lambda value: _coerce(lines_type, label[0], value),
        metadata={"fb": (lines_type, FieldKind.WRITABLE, None), "fb_label": label},
    )


# --- lazy descriptors ----------


class _Lazy:
    """Parses a field from the wire dict on first access, then gets out of the way.

    It is a non-data descriptor: once the parsed value sits in the instance ``__dict__``,
    attribute access no longer calls it.
    """

    __slots__ = ("name", "parse", "wire")

    def __init__(self, spec: FieldSpec) -> None:
        self.name = spec.name
        self.wire = spec.wire
        self.parse = spec.type.parse

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        d = obj.__dict__
        value = self.parse(d["_raw"].get(self.wire))
        d[self.name] = value
        return value


class _LazyLines(_Lazy):
    __slots__ = ()

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        d = obj.__dict__
        raw = d["_raw"]
        if "lines" not in raw:
            raw["lines"] = obj._fetch_lines() if obj.pk is not None else []
        lines = cast(LineList, self.parse(raw["lines"]))
        d[self.name] = lines
        d["_lines_snapshot"] = [line._state() for line in lines]
        return lines


def _on_setattr(instance: Model, attribute: attrs.Attribute[Any], value: Any) -> Any:
    spec = instance._fields.get(attribute.name)
    if spec is None:
        return value
    cls_name = type(instance).__name__
    if spec.kind is FieldKind.COMPUTED:
        raise ReadOnlyFieldError(f"{cls_name}.{spec.name} is computed by FreshBooks and read-only")
    if spec.kind is FieldKind.STATE:
        raise ReadOnlyFieldError(
            f"{cls_name}.{spec.name} cannot be assigned: FreshBooks drops every other change "
            "sent with it; use .delete(), .restore() or .archive()"
        )
    if spec.kind is FieldKind.CREATE_ONLY and instance.pk is not None:
        raise ReadOnlyFieldError(
            f"{cls_name}.{spec.name} can only be set when creating; this {cls_name} is saved"
        )
    if value is not None:
        value = _coerce(spec.type, f"{cls_name}.{spec.name}", value)
    d = instance.__dict__
    d["_touched"] = d.get("_touched", frozenset()) | {spec.name}
    return value


# --- the model base ----------


class _Objects:
    """``Model.objects``: a fresh QuerySet on every access."""

    def __get__(self, obj: Any, owner: type[M]) -> QuerySet[M]:
        if obj is not None:
            raise AttributeError("objects is reachable from the class, not from instances")
        from .queryset import QuerySet

        return QuerySet(owner)


class Model:
    """Behaviour shared by every resource; resources themselves are declarations."""

    _resource: ClassVar[ResourceSpec | None] = None
    _fields: ClassVar[dict[str, FieldSpec]] = {}
    _wire_names: ClassVar[frozenset[str]] = frozenset()
    _sendable_names: ClassVar[tuple[str, ...]] = ()
    _pk_name: ClassVar[str] = "id"
    _repr_fields: ClassVar[tuple[str, ...]] = ()
    DoesNotExist: ClassVar[type[NotFound]] = NotFound
    MultipleObjectsReturned: ClassVar[type[_MultipleObjectsReturned]] = _MultipleObjectsReturned
    objects: ClassVar[_Objects] = _Objects()

    # per-instance private state lives in __dict__: _raw (the wire dict), _client, _touched,
    # _lines_snapshot
    def __attrs_post_init__(self) -> None:
        d = self.__dict__
        d["_raw"] = {}
        d["_client"] = None

    @classmethod
    def from_wire(cls: type[M], data: dict[str, Any], client: Client | None = None) -> M:
        """Build an object from an API dict without parsing anything yet (hydration is O(1))."""
        obj = object.__new__(cls)
        d = obj.__dict__
        d["_raw"] = data
        d["_client"] = client
        return obj

    # --- identity and display --------------------------------------------------------------------

    @property
    def pk(self) -> Any:
        return getattr(self, self._pk_name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Model) or type(other) is not type(self):
            return NotImplemented
        if self.pk is None or other.pk is None:
            return self is other
        return bool(self.pk == other.pk)

    def __hash__(self) -> int:
        return hash((type(self), self.pk)) if self.pk is not None else id(self)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._repr_fields)
        return f"{type(self).__name__}({shown})"

    # --- pickling and copying ----------------------------------------------------------------
    # The client stays behind (its lock and session cannot travel, and its token must not): an
    # unpickled object talks through the default client, or the one given to save(using=...).
    # Everything else travels, unsaved changes and loaded lines included.

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_client"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __copy__(self: M) -> M:
        obj = object.__new__(type(self))
        obj.__dict__.update(self.__dict__)
        return obj

    def __deepcopy__(self: M, memo: dict[int, Any]) -> M:
        """A deep copy that shares the client (copies of a client make no sense)."""
        obj = object.__new__(type(self))
        memo[id(self)] = obj
        for key, value in self.__dict__.items():
            obj.__dict__[key] = value if key == "_client" else copy.deepcopy(value, memo)
        return obj

    def _repr_html_(self) -> str:
        """A notebook table of the fields that have a value (no request: unloaded lines stay so)."""
        from .display import model_html

        return model_html(self)

    # --- wire data -------------------------------------------------------------------------------

    @property
    def extra(self) -> dict[str, Any]:
        """Keys the server sent that this model does not declare; kept, never sent back."""
        return {k: v for k, v in self.__dict__["_raw"].items() if k not in self._wire_names}

    def _original(self, name: str) -> Any:
        spec = self._fields[name]
        return spec.type.parse(self.__dict__["_raw"].get(spec.wire))

    def _state(self) -> tuple[Any, ...]:
        """The values that decide whether this object, as a line of another, changed."""
        return (self.pk, *[getattr(self, name) for name in self._sendable_names])

    # --- dirty tracking --------------------------------------------------------------------------

    @property
    def dirty_fields(self) -> frozenset[str]:
        """Names of the fields ``save()`` would send."""
        d = self.__dict__
        if self.pk is None:
            return frozenset(
                name
                for name, spec in self._fields.items()
                if spec.sendable and d.get(name) not in (None, [])
            )
        dirty = {
            name
            for name in d.get("_touched", ())
            if name != "lines" and d[name] != self._original(name)
        }
        if "lines" in d:
            snapshot = d.get("_lines_snapshot")
            if snapshot is None or [line._state() for line in d["lines"]] != snapshot:
                dirty.add("lines")
        return frozenset(dirty)

    @property
    def is_dirty(self) -> bool:
        return bool(self.dirty_fields)

    def to_payload(self, names: Iterable[str] | None = None) -> dict[str, Any]:
        """The wire dict ``save()`` would send: the dirty fields, or ``names``."""
        out: dict[str, Any] = {}
        for name in self.dirty_fields if names is None else names:
            spec = self._fields[name]
            value = getattr(self, name)
            if name == "lines":
                out["lines"] = [line._line_payload() for line in value]
            else:
                out[spec.wire] = spec.type.to_wire(value)
        leaked = STATE_KEYS.intersection(out) | {k for k in out if k.startswith("action_")}
        if leaked:  # pragma: no cover - STATE fields cannot be assigned; a defensive last line
            raise AssertionError(f"refusing to send {sorted(leaked)} together with field changes")
        return out

    def _line_payload(self) -> dict[str, Any]:
        """This object as one entry of its parent's ``lines``: its id and writable fields."""
        d = self.__dict__
        touched = d.get("_touched", frozenset())
        out: dict[str, Any] = {}
        if self.pk is not None:
            out[self._fields[self._pk_name].wire] = self.pk
        for name, spec in self._fields.items():
            if not spec.sendable:
                continue
            value = getattr(self, name)
            if value is not None or name in touched:
                out[spec.wire] = spec.type.to_wire(value)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Every declared field in wire form (lines only when loaded), for display and export."""
        d = self.__dict__
        out: dict[str, Any] = {}
        for name, spec in self._fields.items():
            if name == "lines":
                if "lines" in d or "lines" in d["_raw"]:
                    out["lines"] = [line.to_dict() for line in getattr(self, name)]
                continue
            out[spec.wire] = spec.type.to_wire(getattr(self, name))
        return out

    # --- I/O -------------------------------------------------------------------------------------

    def _client_for(self, using: Client | None) -> Client:
        return using or self.__dict__.get("_client") or default_client()

    def _spec(self) -> ResourceSpec:
        spec = self._resource
        if spec is None:
            raise TypeError(f"{type(self).__name__} is not saved on its own; save its parent")
        return spec

    def _detail(self, client: Client) -> str:
        return self._spec().detail_path(client.account_id, self.pk)

    def _get_wire(self, client: Client, *, lines: bool) -> dict[str, Any]:
        params = [("include[]", "lines")] if lines else None
        body = client.request("GET", self._detail(client), params=params)
        result = result_of(body, self._spec().single_key)
        if result is None:
            raise FreshBooksError(
                f"GET {self._detail(client)} answered without a {self._spec().single_key}",
                body=body,
            )
        return result

    def _fetch_lines(self) -> list[dict[str, Any]]:
        client = self._client_for(None)
        return list(self._get_wire(client, lines=True).get("lines") or [])

    def _absorb(self, wire: dict[str, Any], *, lines_sent: bool, keep_dirty: bool) -> None:
        """Take the server's state; keep unsaved changes when ``keep_dirty``."""
        d = self.__dict__
        old_raw = d["_raw"]
        new_raw = dict(wire)
        if "lines" not in new_raw and not lines_sent and "lines" in old_raw:
            new_raw["lines"] = old_raw["lines"]  # lines untouched by this write: still right
        keep = self.dirty_fields if keep_dirty and self.pk is not None else frozenset()
        for name in self._fields:
            if name not in keep:
                d.pop(name, None)
        if "lines" not in keep:
            d.pop("_lines_snapshot", None)
        d["_touched"] = frozenset(keep)
        d["_raw"] = new_raw

    def save(self, using: Client | None = None) -> None:
        """Create (POST) a new object, or send (PUT) the changes of a saved one.

        A clean object sends nothing.  On success the object takes the server's answer and is
        clean; on failure it keeps its changes and raises.
        """
        client = self._client_for(using)
        spec = self._spec()
        if self.pk is None:
            payload = self.to_payload()
            body = client.request(
                "POST", spec.list_path(client.account_id), json={spec.single_key: payload}
            )
            result = result_of(body, spec.single_key)
            if result is None:
                raise FreshBooksError(
                    f"POST {spec.list_path(client.account_id)} answered without the created "
                    f"{spec.single_key}; it may or may not exist",
                    body=body,
                )
        else:
            payload = self.to_payload()
            if not payload:
                return
            body = client.request("PUT", self._detail(client), json={spec.single_key: payload})
            result = result_of(body, spec.single_key)
            if result is None:  # a 2xx without the object: read it back
                result = self._get_wire(client, lines="lines" in payload)
        self._absorb(result, lines_sent="lines" in payload, keep_dirty=False)
        self.__dict__["_client"] = client

    def _set_state(self, value: int, using: Client | None) -> None:
        spec = self._spec()
        state_field = next((s for s in self._fields.values() if s.kind is FieldKind.STATE), None)
        if state_field is None:  # pragma: no cover - every resource with a path declares one
            raise TypeError(f"{type(self).__name__} has no state field")
        if self.pk is None:
            raise ValueError(f"this {type(self).__name__} is not saved yet")
        client = self._client_for(using)
        body = client.request(
            "PUT", self._detail(client), json={spec.single_key: {state_field.wire: value}}
        )
        result = result_of(body, spec.single_key)
        wire = dict(self.__dict__["_raw"]) if result is None else result
        wire[state_field.wire] = value if result is None else result.get(state_field.wire, value)
        self._absorb(wire, lines_sent=False, keep_dirty=True)
        self.__dict__["_client"] = client

    def delete(self, using: Client | None = None) -> None:
        """Soft-delete: ``PUT {"vis_state": 1}`` and nothing else. Unsaved changes stay unsaved."""
        self._set_state(1, using)

    def restore(self, using: Client | None = None) -> None:
        """Undelete or unarchive: ``PUT {"vis_state": 0}``."""
        self._set_state(0, using)

    def archive(self, using: Client | None = None) -> None:
        """Archive: ``PUT {"vis_state": 2}``."""
        self._set_state(2, using)

    def refresh(self, using: Client | None = None) -> None:
        """Reload from the server, dropping unsaved changes."""
        client = self._client_for(using)
        lines_loaded = "lines" in self.__dict__ or "lines" in self.__dict__["_raw"]
        wire = self._get_wire(client, lines=lines_loaded)
        self._absorb(wire, lines_sent=True, keep_dirty=False)
        self.__dict__["_client"] = client


def result_of(body: Any, key: str) -> dict[str, Any] | None:
    """The object of a single-resource answer (``response.result.<key>``), or None."""
    try:
        result = body["response"]["result"][key]
    except (KeyError, TypeError):
        return None
    return result if isinstance(result, dict) else None


def _unknown_field(cls: type[Model], name: str, choices: Iterable[str]) -> UnknownFieldError:
    hint = closest(name, choices)
    did_you_mean = f" Did you mean {hint!r}?" if hint else ""
    return UnknownFieldError(
        f"{cls.__name__} has no field {name!r}.{did_you_mean} "
        f"Fields: {', '.join(sorted(cls._fields))}."
    )


def _guard_attributes(cls: type[M]) -> None:
    """Make assigning a name that is not a field raise instead of being silently kept.

    Private names (``_x``) and anything the class itself declares (properties, methods) still
    work; ``inv.po_numbr = "PO-7"`` raises ``UnknownFieldError`` (an ``AttributeError``) naming
    the closest field, as ``update(po_numbr=...)`` does.
    """
    attrs_setattr = cls.__setattr__

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if not name.startswith("_") and not hasattr(type(self), name):
            raise _unknown_field(type(self), name, type(self)._fields)
        attrs_setattr(self, name, value)

    cls.__setattr__ = __setattr__  # type: ignore[method-assign]


def _guard_init(cls: type[M]) -> None:
    """Make the constructor refuse computed and state fields with ``ReadOnlyFieldError`` and
    unknown names with ``UnknownFieldError``, rather than a bare ``TypeError``."""
    attrs_init = cls.__init__

    @functools.wraps(attrs_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        fields = type(self)._fields
        for name in kwargs:
            spec = fields.get(name)
            if spec is None:
                raise _unknown_field(type(self), name, fields)
            if spec.kind in (FieldKind.COMPUTED, FieldKind.STATE):
                raise ReadOnlyFieldError(
                    f"{type(self).__name__}.{name} is {spec.kind.value}; it cannot be given "
                    "to the constructor or create()"
                )
        attrs_init(self, *args, **kwargs)

    cls.__init__ = __init__  # type: ignore[method-assign]


@dataclass_transform(
    kw_only_default=True,
    field_specifiers=(computed, create_only, writable, state, lines_of),
)
def resource(
    spec: ResourceSpec | None = None,
    *,
    pk: str = "id",
    repr_fields: tuple[str, ...] = (),
) -> Callable[[type[M]], type[M]]:
    """Turn a class of field declarations into a model (an attrs class with lazy fields)."""

    def build(cls: type[M]) -> type[M]:
        cls = attrs.define(
            cls, slots=False, kw_only=True, eq=False, repr=False, on_setattr=_on_setattr
        )
        fields: dict[str, FieldSpec] = {}
        for attribute in attrs.fields(cast(Any, cls)):
            meta = attribute.metadata.get("fb")
            if meta is None:
                continue
            type_, kind, wire = meta
            attribute.metadata["fb_label"][0] = f"{cls.__name__}.{attribute.name}"
            field_spec = FieldSpec(attribute.name, type_, kind, wire or attribute.name)
            fields[attribute.name] = field_spec
            lazy = _LazyLines if attribute.name == "lines" else _Lazy
            setattr(cls, attribute.name, lazy(field_spec))
        cls._fields = fields
        cls._wire_names = frozenset(f.wire for f in fields.values())
        cls._sendable_names = tuple(name for name, f in fields.items() if f.sendable)
        cls._resource = spec
        cls._pk_name = pk
        cls._repr_fields = repr_fields or (pk,)
        _guard_attributes(cls)
        _guard_init(cls)
        qualname = cls.__qualname__
        cls.DoesNotExist = type(
            "DoesNotExist",
            (NotFound,),
            {"__module__": cls.__module__, "__qualname__": f"{qualname}.DoesNotExist"},
        )
        cls.MultipleObjectsReturned = type(
            "MultipleObjectsReturned",
            (_MultipleObjectsReturned,),
            {"__module__": cls.__module__, "__qualname__": f"{qualname}.MultipleObjectsReturned"},
        )
        return cls

    return build
