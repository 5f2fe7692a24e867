"""The model layer: lazy typed parsing, dirty tracking, save, delete; ``@resource`` builds models.

A resource class is an attrs class whose fields are declared with the specifiers of
``freshbooks_orm.fields`` (``computed``, ``create_only``, ``writable``, ``state``, ``nested``);
``@resource(...)`` turns it into a model, gives it its ``_meta`` (``freshbooks_orm.options``)
and registers it by name.  Objects loaded from the API keep the wire dict and parse each field
by its declared type on first access (so loading a page costs almost nothing), and know which
fields changed since:

* a field is dirty when its value differs from what the server sent (setting an equal value is
  not a change);
* a nested list (``lines``, ``contacts``, ...) is dirty when any item changed in place, or items
  were added, removed, reordered or replaced: the current items are compared with a snapshot
  taken when they were loaded.

``save()`` sends only dirty fields, and the whole of a nested list whenever it is dirty, because
FreshBooks deletes any item a PUT leaves out.  State keys (``vis_state``) never travel with
field changes: FreshBooks applies only the state key of a PUT that carries one and silently
drops the rest.  What ``delete()``, ``restore()`` and ``archive()`` send is the resource's
``Lifecycle`` (``_meta.lifecycle``).
"""

from __future__ import annotations

import copy
import functools
import sys
from collections import deque
from collections.abc import Callable, Iterable
from decimal import Decimal
from itertools import compress, repeat
from operator import itemgetter
from typing import Any, ClassVar, TypeVar, cast

import attrs

from ..errors import (
    FieldValueError,
    FreshBooksError,
    NotFound,
    ReadOnlyFieldError,
    UnknownFieldError,
    UnsupportedOperationError,
    closest,
    short_repr,
)
from ..errors import MultipleObjectsReturned as _MultipleObjectsReturned
from ..http.transport import Client, default_client
from . import registry
from .fields import (
    FieldKind,
    FieldSpec,
    LineList,
    NestedList,
    NestedType,
    coerce_field,
    computed,
    create_only,
    nested,
    state,
    writable,
)
from .options import HTTP_DELETE, READ_ONLY, VIS_STATE, Lifecycle, Options
from .query import ResourceSpec, result_of
from .queryset import QuerySet
from .relations import Relation
from .types import UNPARSED

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover - Python 3.10
    from typing_extensions import dataclass_transform


__all__ = [
    "FieldKind",
    "FieldSpec",
    "LineList",
    "Model",
    "NestedList",
    "computed",
    "create_only",
    "nested",
    "resource",
    "result_of",
    "state",
    "writable",
]

M = TypeVar("M", bound="Model")
#: Keys that switch FreshBooks into "state change" mode, dropping every other key of the PUT.
STATE_KEYS = VIS_STATE.alone


# --- lazy descriptors ----------


class _Page:
    """The objects hydrated from one list page, so that a field is parsed for all at once.

    Reading a field of one object of a page parses that field for every object of the page in
    one pass (``ValueType.parse_column``: a column of canonical values is checked and converted
    in C) and stores each value in its own object (a field already set or assigned is left
    alone; a value that does not parse is left for its object's own read to report).  The next
    objects' reads then find their value in their ``__dict__``, with no call at all.  A nested
    list (``lines``) is built for every object of the page at once too, and its items share
    one page of their own (``children``), so that reading a line field parses it for every
    line of the page.  ``release()`` lets the objects fall back to parsing alone and drops the
    page's hold on them: ``QuerySet.iterator()`` calls it once a page is consumed (a streamed
    page is freed as soon as nothing holds it), and a loop over a queryset once the loop is
    over (an object kept from the loop does not keep its page mates alive).
    """

    __slots__ = ("children", "dicts", "done", "rows")

    def __init__(self) -> None:
        self.dicts: list[dict[str, Any]] = []  # the objects' __dict__s
        self.rows: list[dict[str, Any]] = []  # their wire dicts (each object's _raw)
        self.done: set[str] = set()
        self.children: list[_Page] = []

    def _start(self, name: str) -> bool:
        if name in self.done or not self.dicts:
            return False
        self.done.add(name)
        return True

    def _column(self, lazy: _Lazy) -> list[Any]:
        rows = self.rows
        try:
            return list(map(lazy.item, rows))
        except KeyError:  # some row lacks the key: None, as parse sees it
            wire = lazy.wire
            return [row.get(wire) for row in rows]

    def fill(self, lazy: _Lazy) -> bool:
        """Parse ``lazy``'s field for the whole page; False when already done (or released)."""
        name = lazy.name
        if not self._start(name):
            return False
        dicts = self.dicts
        values, complete = lazy.column(self._column(lazy))
        if len(values) != len(dicts):
            raise ValueError(f"{lazy.name}: a column must have one value per object")
        if not complete:  # a value that does not parse is left for its object's read to report
            kept = [value is not UNPARSED for value in values]
            dicts, values = list(compress(dicts, kept)), list(compress(values, kept))
        # setdefault: a value assigned, or read alone before, is left as it is (in C, one pass)
        deque(map(dict.setdefault, dicts, repeat(name), values), 0)
        return True

    def fill_nested(self, lazy: _LazyNested) -> bool:
        """Build ``lazy``'s nested list for every object of the page whose row carries it (the
        others load or report on their own read); their items share one page."""
        name = lazy.name
        if not self._start(name):
            return False
        list_cls = lazy.list_cls
        from_page = list_cls.item_model._from_page
        items_page = _Page()
        self.children.append(items_page)
        wire = lazy.wire
        for d, row in zip(self.dicts, self.rows, strict=True):
            raw_items = row.get(wire)
            if name in d or type(raw_items) is not list or set(map(type, raw_items)) - {dict}:
                continue
            items = list_cls.__new__(list_cls)  # items made here need no coercion
            list.extend(items, from_page(raw_items, None, items_page))
            d[name] = items
            _snapshot(d, name, items, raw_items)
        return True

    def replace_row(self, d: dict[str, Any], row: dict[str, Any]) -> None:
        """The object of ``d`` took a new wire dict (saved, refreshed)."""
        for index, mine in enumerate(self.dicts):
            if mine is d:
                self.rows[index] = row
                return

    def release(self) -> None:
        self.dicts = []
        self.rows = []
        for child in self.children:
            child.release()

    def __reduce__(self) -> Any:  # never travels with a pickled object (see __getstate__)
        return (_Page, ())


def _snapshot(d: dict[str, Any], name: str, items: NestedList, raws: list[Any]) -> None:
    """Take a nested list's dirty-tracking snapshot: the items as loaded and their wire dicts
    ``raws`` (which nothing mutates).  Nothing is parsed now; a comparison parses only what it
    needs."""
    d.setdefault("_snapshots", {})[name] = (*items, *raws)


class _Lazy:
    """Parses a field from the wire dict on first access, then gets out of the way.

    It is a non-data descriptor: once the parsed value sits in the instance ``__dict__``,
    attribute access no longer calls it.  An object hydrated with a page (``_Page``) has the
    field parsed for its whole page at once.
    """

    __slots__ = ("column", "item", "name", "parse", "wire")

    def __init__(self, spec: FieldSpec) -> None:
        self.name = spec.name
        self.wire = spec.wire
        self.parse = spec.type.parse
        self.column = spec.type.parse_column
        self.item = itemgetter(spec.wire)

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        d = obj.__dict__
        page = d.get("_page")
        if page is not None and page.fill(self):
            value = d.get(self.name, _MISSING)
            if value is not _MISSING:
                return value
        raw = d["_raw"].get(self.wire)
        try:
            value = self.parse(raw)
        except Exception:
            value = parse_field(obj, self.name, self.parse, raw)  # raises the typed error
        d[self.name] = value
        return value


_MISSING = object()


def parse_field(obj: Model, name: str, parse: Callable[[Any], Any], raw: Any) -> Any:
    """``parse(raw)``, or ``FieldValueError`` naming the resource, its id, the field and the raw
    value when the server sent something the declared type cannot read."""
    problem: Exception | None = None
    try:
        return parse(raw)
    except FreshBooksError:  # a request made on the way (a nested list's GET) failed
        raise
    except (TypeError, ValueError, ArithmeticError, AttributeError, LookupError) as exc:
        problem = exc
    except RecursionError:
        problem = ValueError("nested too deeply")
    meta = obj._meta
    pk_spec = meta.fields.get(meta.pk)
    object_id = obj.__dict__["_raw"].get(pk_spec.wire) if pk_spec is not None else None
    spec = meta.fields.get(name)
    kind = spec.type.name if spec is not None else "value"
    shown_id = short_repr(object_id) if object_id is not None else "(unsaved)"
    raise FieldValueError(
        f"{type(obj).__name__} {shown_id}: FreshBooks sent {name} = {short_repr(raw)}, "
        f"which is not a {kind} ({problem})",
        resource=type(obj).__name__,
        object_id=object_id if isinstance(object_id, (int, str)) else short_repr(object_id),
        field=name,
        value=raw if isinstance(raw, (str, int, bool, Decimal)) or raw is None else short_repr(raw),
    )


class _LazyNested(_Lazy):
    """A nested list: fetched with its ``include[]`` on first access when the row lacks it."""

    __slots__ = ("include", "list_cls", "parse_saved")

    def __init__(self, spec: FieldSpec) -> None:
        super().__init__(spec)
        self.include = spec.include
        self.list_cls = cast(NestedType, spec.type).list_cls
        self.parse_saved = cast(NestedType, spec.type).parse_saved

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        d = obj.__dict__
        page = d.get("_page")
        if page is not None and page.fill_nested(self):
            value = d.get(self.name, _MISSING)
            if value is not _MISSING:
                return value
        raw = d["_raw"]
        saved = obj.pk is not None and obj._meta.resource is not None
        parse = self.parse
        missing = self.wire not in raw
        if missing or (raw[self.wire] is None and saved and self.include is not None):
            # A saved object's list is never assumed empty (missing, or a list that needs an
            # include[] sent as null): saving an edit of a wrong baseline would delete the
            # items the server has.  One GET (with the include, if needed); a null again is a
            # FieldValueError, never "no items".  (A list sent with every object, such as a
            # customer's contacts, is complete as sent: null there means none.)
            if saved:
                raw[self.wire] = obj._fetch_nested(self.include, self.wire)
                if self.include is not None:
                    parse = self.parse_saved
            else:
                raw[self.wire] = []
        items = cast(NestedList, parse_field(obj, self.name, parse, raw[self.wire]))
        d[self.name] = items
        _snapshot(d, self.name, items, [item.__dict__["_raw"] for item in items])
        return items


def _snapshot_parts(snapshot: Any) -> tuple[Any, Any]:
    """A snapshot's (items as loaded, their wire dicts)."""
    if len(snapshot) == 2 and type(snapshot[0]) is tuple:  # (items, wire dicts): 0.2 previews
        return snapshot[0], snapshot[1]
    # (item 1, ..., item n, wire dict 1, ..., wire dict n): one tuple, as loaded
    count = len(snapshot) // 2
    return snapshot[:count], snapshot[count:]


def _nested_changed(items: list[Model], snapshot: Any) -> bool:
    """Whether a nested list differs from its snapshot: an item added, removed, reordered,
    replaced (even by a copy with the same values: a copy is sent as a new item, see
    ``Model.to_payload``), or changed in place."""
    if isinstance(snapshot, list):  # the item states themselves (a pickle of version 0.1)
        return [item._state() for item in items] != snapshot
    loaded, raws = _snapshot_parts(snapshot)
    if len(items) != len(loaded):
        return True
    for item, was, raw in zip(items, loaded, raws, strict=True):
        if item is not was:
            return True
        d = item.__dict__
        if d["_raw"] is raw and not d.get("_touched") and not item._meta.nested:
            continue  # never assigned since loaded: its values are the loaded ones
        if item._state() != type(was).from_wire(raw)._state():
            return True
    return False


def _on_setattr(instance: Model, attribute: attrs.Attribute[Any], value: Any) -> Any:
    spec = instance._meta.fields.get(attribute.name)
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
    if value is not None or spec.is_nested:  # a nested list is never None (null deletes all)
        value = coerce_field(spec.type, f"{cls_name}.{spec.name}", value)
    d = instance.__dict__
    d["_touched"] = d.get("_touched", frozenset()) | {spec.name}
    return value


# --- the model base ----------


class _Objects:
    """``Model.objects``: a fresh QuerySet on every access.

    On a class with no list endpoint (the ``Model`` base itself, sub-objects such as
    ``InvoiceLine``) it is an ``_Unlisted`` placeholder instead of an error, so that ``help()``,
    ``pydoc`` and Sphinx can inspect every class; using the placeholder says why it can't query.
    """

    def __get__(self, obj: Any, owner: type[M]) -> QuerySet[M]:
        if obj is not None:
            raise AttributeError("objects is reachable from the class, not from instances")
        meta = owner.__dict__.get("_meta") or getattr(owner, "_meta", None)
        if meta is None or meta.resource is None:
            return _Unlisted(owner)  # type: ignore[return-value]
        return QuerySet(owner)


class _Unlisted:
    """``objects`` of a class that has no list endpoint: any use raises, naming the class."""

    def __init__(self, owner: type) -> None:
        self._owner = owner

    def __repr__(self) -> str:
        return f"<{self._owner.__name__}.objects: {self._owner.__name__} has no list endpoint>"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # introspection (pydoc, inspect, copy) probes these
            raise AttributeError(name)
        raise TypeError(
            f"{self._owner.__name__} has no list endpoint, so {self._owner.__name__}.objects "
            f"cannot {name}(); query a resource's objects (freshbooks_orm.registry.names())"
        )


class Model:
    """Behaviour shared by every resource; resources themselves are declarations.

    Everything about a model class is in ``Model._meta`` (see ``freshbooks_orm.options``).
    Each resource class also has ``objects`` (a fresh ``QuerySet`` on every access),
    ``DoesNotExist`` (a ``NotFound``, raised by ``get()`` and by a 404 on the object) and
    ``MultipleObjectsReturned`` (raised by ``get()`` when several objects match).
    """

    _meta: ClassVar[Options]
    DoesNotExist: ClassVar[type[NotFound]] = NotFound
    MultipleObjectsReturned: ClassVar[type[_MultipleObjectsReturned]] = _MultipleObjectsReturned
    objects: ClassVar[_Objects] = _Objects()

    # per-instance private state lives in __dict__: _raw (the wire dict), _client, _touched,
    # _snapshots (nested lists as loaded), _related (cached related objects)
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

    @classmethod
    def _from_page(
        cls: type[M], rows: Iterable[dict[str, Any]], client: Client | None, page: Any = None
    ) -> list[M]:
        """``from_wire`` for each row of one page; a field read on one is parsed for all.

        ``page`` joins the objects to an existing ``_Page`` (the items of a page's nested lists
        share one)."""
        if page is None:
            page = _Page()
        rows = rows if type(rows) is list else list(rows)
        page.rows.extend(rows)
        dicts = page.dicts
        new = object.__new__
        objs = []
        for row in rows:
            obj = new(cls)
            d = obj.__dict__
            d["_raw"] = row
            d["_client"] = client
            d["_page"] = page
            dicts.append(d)
            objs.append(obj)
        return objs

    # --- identity and display --------------------------------------------------------------------

    @property
    def pk(self) -> Any:
        """The primary key (``id`` for most resources; ``_meta.pk`` names the attribute)."""
        return getattr(self, self._meta.pk)

    # A resource's objects are equal when they are the same object on the server (same class
    # and id).  A sub-object (an invoice line) is equal only to itself: its id (``lineid``) is
    # unique within its parent only, so lines of two invoices may share one.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Model) or type(other) is not type(self):
            return NotImplemented
        if self._meta.resource is None or self.pk is None or other.pk is None:
            return self is other
        return bool(self.pk == other.pk)

    def __hash__(self) -> int:
        if self._meta.resource is None or self.pk is None:
            return id(self)
        return hash((type(self), self.pk))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={self._shown(name)}" for name in self._meta.repr_fields)
        return f"{type(self).__name__}({shown})"

    def _shown(self, name: str) -> str:
        try:
            return repr(getattr(self, name))
        except FieldValueError as exc:  # a repr never raises: show the raw value instead
            return f"<unreadable {short_repr(exc.value)}>"

    # --- pickling and copying ----------------------------------------------------------------
    # The client stays behind (its lock and session cannot travel, and its token must not): an
    # unpickled object talks through the default client, or the one given to save(using=...).
    # Everything else travels, unsaved changes and loaded lines included.

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_client"] = None
        state.pop("_page", None)  # its page mates stay behind
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __copy__(self: M) -> M:
        obj = object.__new__(type(self))
        obj.__dict__.update(self.__dict__)
        obj.__dict__.pop("_page", None)
        return obj

    def __deepcopy__(self: M, memo: dict[int, Any]) -> M:
        """A deep copy that shares the client (copies of a client make no sense)."""
        obj = object.__new__(type(self))
        memo[id(self)] = obj
        for key, value in self.__dict__.items():
            if key != "_page":
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
        wire_names = self._meta.wire_names
        return {k: v for k, v in self.__dict__["_raw"].items() if k not in wire_names}

    def _original(self, name: str) -> Any:
        spec = self._meta.fields[name]
        return parse_field(self, name, spec.type.parse, self.__dict__["_raw"].get(spec.wire))

    def _state(self) -> tuple[Any, ...]:
        """The values that decide whether this object, as an item of a nested list, changed
        (its own nested lists as their items' states: items compare by identity)."""
        nested = self._meta.nested
        values = [getattr(self, name) for name in self._meta.sendable_names]
        if nested:
            values = [
                tuple(item._state() for item in value)
                if name in nested and value is not None
                else value
                for name, value in zip(self._meta.sendable_names, values, strict=True)
            ]
        return (self.pk, *values)

    def _original_differs(self, name: str, value: Any) -> bool:
        """Whether ``value`` differs from what the server sent for ``name``; a value the server
        sent that cannot be read differs from any (so assigning a good value replaces it)."""
        try:
            return bool(value != self._original(name))
        except FieldValueError:
            return True

    def _own_items(self, name: str) -> list[Model]:
        """The items of the nested list ``name`` that are this object's own on the server:
        those loaded with it (by identity), each once.  A new object has none."""
        d = self.__dict__
        snapshot = d.get("_snapshots", {}).get(name)
        if self.pk is None or snapshot is None:
            return []
        if not isinstance(snapshot, list):
            return list(_snapshot_parts(snapshot)[0])
        # a pickle of version 0.1 kept the items' states only (the id first): by id, once each
        ids = {state[0] for state in snapshot if state and state[0] is not None}
        own = []
        for item in d.get(name, ()):
            if item.pk in ids:
                ids.discard(item.pk)
                own.append(item)
        return own

    # --- dirty tracking --------------------------------------------------------------------------

    @property
    def dirty_fields(self) -> frozenset[str]:
        """Names of the fields ``save()`` would send."""
        d = self.__dict__
        meta = self._meta
        if self.pk is None:
            return frozenset(
                name
                for name, spec in meta.fields.items()
                if spec.sendable and d.get(name) not in (None, [])
            )
        nested = meta.nested
        dirty = {
            name
            for name in d.get("_touched", ())
            if name not in nested and self._original_differs(name, d[name])
        }
        snapshots = d.get("_snapshots", {})
        for name in nested:
            if name in d:
                snapshot = snapshots.get(name)
                if snapshot is None or _nested_changed(d[name], snapshot):
                    dirty.add(name)
        return frozenset(dirty)

    @property
    def is_dirty(self) -> bool:
        """Whether ``save()`` would send anything (some field or nested list changed)."""
        return bool(self.dirty_fields)

    def to_payload(self, names: Iterable[str] | None = None) -> dict[str, Any]:
        """The wire dict ``save()`` would send: the dirty fields, or ``names``.

        A nested list goes whole.  Its items loaded with this object keep their ids (each
        once); any other item -- a copy, another object's item, the same item a second time,
        every item of a new object -- is sent without its id, as a new item.
        """
        out: dict[str, Any] = {}
        fields = self._meta.fields
        for name in self.dirty_fields if names is None else names:
            spec = fields[name]
            value = getattr(self, name)
            if spec.is_nested and value is not None:
                nested_type = cast(NestedType, spec.type)
                out[spec.wire] = nested_type.items_to_wire(value, self._own_items(name))
            else:
                out[spec.wire] = spec.type.to_wire(value)
        travels_alone = self._meta.lifecycle.travels_alone
        leaked = sorted(k for k in out if travels_alone(k))
        if leaked:  # pragma: no cover - STATE fields cannot be assigned; a defensive last line
            raise AssertionError(f"refusing to send {leaked} together with field changes")
        return out

    def to_nested_payload(self) -> dict[str, Any]:
        """This object as one item of its parent's nested list: its id and writable fields.

        Sub-object models override it to drop keys the API refuses in some cases.
        """
        d = self.__dict__
        meta = self._meta
        touched = d.get("_touched", frozenset())
        out: dict[str, Any] = {}
        if self.pk is not None:
            out[meta.fields[meta.pk].wire] = self.pk
        for name, spec in meta.fields.items():
            if not spec.sendable:
                continue
            value = getattr(self, name)
            if value is not None or name in touched:
                out[spec.wire] = spec.type.to_wire(value)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Every declared field in wire form (nested lists only when loaded), for display."""
        d = self.__dict__
        out: dict[str, Any] = {}
        for name, spec in self._meta.fields.items():
            if spec.is_nested:
                if name in d or spec.wire in d["_raw"]:
                    out[spec.wire] = [item.to_dict() for item in getattr(self, name)]
                continue
            out[spec.wire] = spec.type.to_wire(getattr(self, name))
        return out

    # --- I/O -------------------------------------------------------------------------------------

    def _client_for(self, using: Client | None) -> Client:
        return using or self.__dict__.get("_client") or default_client()

    def _spec(self) -> ResourceSpec:
        spec = self._meta.resource
        if spec is None:
            raise TypeError(f"{type(self).__name__} is not saved on its own; save its parent")
        return spec

    def _writable(self, action: str) -> ResourceSpec:
        spec = self._spec()
        if self._meta.read_only:
            raise UnsupportedOperationError(
                f"{type(self).__name__} is read-only: the FreshBooks API cannot {action} it"
            )
        return spec

    def _detail(self, client: Client) -> str:
        return self._spec().detail_path(client.account_id, self.pk)

    def _get_wire(self, client: Client, *, includes: Iterable[str] = ()) -> dict[str, Any]:
        params = [("include[]", name) for name in includes] or None
        return client.request(
            "GET", self._detail(client), params=params, expect=self._spec().required_result
        )

    def _fetch_nested(self, include: str | None, wire: str) -> Any:
        client = self._client_for(None)
        includes = () if include is None else (include,)
        value = self._get_wire(client, includes=includes).get(wire)
        return list(value) if isinstance(value, list) else value

    def _loaded_nested(self) -> tuple[str, ...]:
        d = self.__dict__
        return tuple(
            name for name, spec in self._meta.nested.items() if name in d or spec.wire in d["_raw"]
        )

    def _absorb(self, wire: dict[str, Any], *, sent: Iterable[str], keep_dirty: bool) -> None:
        """Take the server's state; keep unsaved changes when ``keep_dirty``.

        ``sent`` names the nested lists the request asked for or wrote: the others, untouched
        by it, keep the items already loaded.
        """
        d = self.__dict__
        meta = self._meta
        old_raw = d["_raw"]
        new_raw = dict(wire)
        sent = set(sent)
        for name, spec in meta.nested.items():
            if spec.wire not in new_raw and name not in sent and spec.wire in old_raw:
                new_raw[spec.wire] = old_raw[spec.wire]
        keep = self.dirty_fields if keep_dirty and self.pk is not None else frozenset()
        for name in meta.fields:
            if name not in keep:
                d.pop(name, None)
        snapshots = d.get("_snapshots", {})
        d["_snapshots"] = {k: v for k, v in snapshots.items() if k in keep}
        d["_touched"] = frozenset(keep)
        d["_raw"] = new_raw
        page = d.get("_page")
        if page is not None:
            page.replace_row(d, new_raw)

    def save(self, using: Client | None = None) -> None:
        """Create (POST) a new object, or send (PUT) the changes of a saved one.

        A clean object sends nothing.  On success the object takes the server's answer and is
        clean; on failure it keeps its changes and raises.
        """
        client = self._client_for(using)
        spec = self._writable("create or update")
        payload = self.to_payload()
        sent_nested = [
            name for name in self._meta.nested if self._meta.fields[name].wire in payload
        ]
        if self.pk is None:
            # An answer without the created object raises UncertainWriteError.
            result = client.request(
                "POST",
                spec.list_path(client.account_id),
                json={spec.single_key: payload},
                expect=spec.required_result,
            )
        else:
            if not payload:
                return
            answered = client.request(
                "PUT",
                self._detail(client),
                json={spec.single_key: payload},
                expect=spec.result,
            )
            # a 2xx without the object: read it back
            result = answered or self._get_wire(
                client, includes=self._meta.includes_for(sent_nested)
            )
        self._absorb(result, sent=sent_nested, keep_dirty=False)
        self.__dict__["_client"] = client

    def _set_state(self, value: int | None, action: str, using: Client | None) -> None:
        spec = self._writable(action)
        lifecycle = self._meta.lifecycle
        if lifecycle.state is None or value is None:
            raise UnsupportedOperationError(
                f"{type(self).__name__} cannot be {action}d through the API "
                f"(delete: {lifecycle.delete_style})"
            )
        if self.pk is None:
            raise ValueError(f"this {type(self).__name__} is not saved yet")
        client = self._client_for(using)
        result = client.request(
            "PUT",
            self._detail(client),
            json={spec.single_key: {lifecycle.state: value}},
            expect=spec.result,
        )
        wire = dict(self.__dict__["_raw"]) if result is None else result
        wire[lifecycle.state] = value if result is None else result.get(lifecycle.state, value)
        self._absorb(wire, sent=(), keep_dirty=True)
        self.__dict__["_client"] = client

    def delete(self, using: Client | None = None) -> None:
        """Delete, as the resource's lifecycle says (``_meta.lifecycle.delete_style``).

        Most resources are soft-deleted with ``PUT {"vis_state": 1}`` and nothing else; some
        (taxes, estimates) with an HTTP DELETE.  Unsaved changes stay unsaved.
        """
        lifecycle = self._meta.lifecycle
        if not lifecycle.http_delete:
            self._set_state(lifecycle.deleted, "delete", using)
            return
        self._writable("delete")
        if self.pk is None:
            raise ValueError(f"this {type(self).__name__} is not saved yet")
        client = self._client_for(using)
        client.request("DELETE", self._detail(client))
        if lifecycle.state is not None and lifecycle.deleted is not None:
            wire = dict(self.__dict__["_raw"])
            wire[lifecycle.state] = lifecycle.deleted
            self._absorb(wire, sent=(), keep_dirty=True)
        self.__dict__["_client"] = client

    def restore(self, using: Client | None = None) -> None:
        """Undelete or unarchive: ``PUT {"vis_state": 0}``."""
        self._set_state(self._meta.lifecycle.active, "restore", using)

    def archive(self, using: Client | None = None) -> None:
        """Archive: ``PUT {"vis_state": 2}``."""
        self._set_state(self._meta.lifecycle.archived, "archive", using)

    def refresh(self, using: Client | None = None) -> None:
        """Reload from the server, dropping unsaved changes."""
        client = self._client_for(using)
        loaded = self._loaded_nested()
        wire = self._get_wire(client, includes=self._meta.includes_for(loaded))
        self._absorb(wire, sent=loaded, keep_dirty=False)
        self.__dict__.pop("_related", None)
        self.__dict__["_client"] = client


def _unknown_field(cls: type[Model], name: str, choices: Iterable[str]) -> UnknownFieldError:
    hint = closest(name, choices)
    did_you_mean = f" Did you mean {hint!r}?" if hint else ""
    return UnknownFieldError(
        f"{cls.__name__} has no field {name!r}.{did_you_mean} "
        f"Fields: {', '.join(sorted(cls._meta.fields))}."
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
            raise _unknown_field(type(self), name, type(self)._meta.fields)
        attrs_setattr(self, name, value)

    cls.__setattr__ = __setattr__  # type: ignore[method-assign]


def _guard_init(cls: type[M]) -> None:
    """Make the constructor refuse computed and state fields with ``ReadOnlyFieldError`` and
    unknown names with ``UnknownFieldError``, rather than a bare ``TypeError``."""
    attrs_init = cls.__init__

    @functools.wraps(attrs_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        fields = type(self)._meta.fields
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
    field_specifiers=(computed, create_only, writable, state, nested),
)
def resource(
    spec: ResourceSpec | None = None,
    *,
    name: str | None = None,
    pk: str = "id",
    pk_filter: str | None = None,
    pk_in_filter: str | None = None,
    concurrency: str | None = None,
    lifecycle: Lifecycle | None = None,
    read_only: bool = False,
    repr_fields: tuple[str, ...] = (),
    columns: tuple[str, ...] = (),
    register: bool = True,
) -> Callable[[type[M]], type[M]]:
    """Turn a class of field declarations into a model (an attrs class with lazy fields).

    ``spec`` (a ``ResourceSpec``: path, envelope keys, filters, lookups, includes, sorts) makes
    it a resource of its own, registered as ``name``; without it the class is a sub-object
    (an invoice line).  ``pk_filter``/``pk_in_filter`` name the Equals and In filters on the
    primary key; ``concurrency`` the wire key that moves on every change (``"updated"``);
    ``lifecycle`` what delete/restore/archive send (default: ``vis_state`` when a state field
    is declared, else an HTTP DELETE; ``read_only=True``: no writes at all).
    ``columns`` are what a table of these objects shows (the CLI's ``list``); default
    ``repr_fields``.  ``register=False`` keeps the class out of the registry (for tests).
    """

    def build(cls: type[M]) -> type[M]:
        cls = attrs.define(
            cls, slots=False, kw_only=True, eq=False, repr=False, on_setattr=_on_setattr
        )
        fields: dict[str, FieldSpec] = {}
        for attribute in attrs.fields(cast(Any, cls)):
            meta = attribute.metadata.get("fb")
            if meta is None:
                continue
            type_, kind, wire, include = meta
            item_model = getattr(type_, "item_model", None)
            field_spec = FieldSpec(
                attribute.name, type_, kind, wire or attribute.name, item_model, include
            )
            attribute.metadata["fb_label"][0] = f"{cls.__name__}.{attribute.name}"
            fields[attribute.name] = field_spec
            lazy = _LazyNested if field_spec.is_nested else _Lazy
            setattr(cls, attribute.name, lazy(field_spec))
        relations = {
            attr: value
            for klass in reversed(cls.__mro__)
            for attr, value in vars(klass).items()
            if isinstance(value, Relation)
        }
        has_state = any(f.kind is FieldKind.STATE for f in fields.values())
        chosen = lifecycle
        if chosen is None:
            chosen = READ_ONLY if read_only else (VIS_STATE if has_state else HTTP_DELETE)
        if spec is not None and name is None:
            raise TypeError(f"{cls.__name__}: a resource with a path needs a registry name")
        cls._meta = Options(
            cls,
            name=name,
            resource=spec,
            fields=fields,
            pk=pk,
            pk_filter=pk_filter,
            pk_in_filter=pk_in_filter,
            concurrency_field=concurrency,
            lifecycle=chosen,
            relations=relations,
            repr_fields=repr_fields,
            list_columns=columns,
        )
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
        if spec is not None and register:
            registry.register(cls)
        return cls

    return build
