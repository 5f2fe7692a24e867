"""The sandbox's state and API semantics, without any HTTP: a generic store.

A :class:`Store` holds every resource of one accounting account.  Each resource lives in a
:class:`Table` driven by its declaration (:mod:`.resources`): listing (filters, sort, paging,
includes), create (required fields, field checks, lines), update (the ``vis_state`` trap, the
line-replacement rules), soft or hard delete, and the declaration's hooks for computed fields and
effects on other resources (a payment changes its invoice).  Every failure is a
:class:`StoreError` that knows its HTTP status and FreshBooks error envelope.

Invariant: a stored object dict is never mutated in place; every write builds a new dict and
swaps it in under the store's lock, so readers may serialise references they took under the
lock after releasing it.

For compatibility the store also answers the invoice methods (``get``, ``create``, ``update``,
``delete``, ``list_result``, ``snapshot``, ``load``, ``len()``) on its invoices table.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import threading
import uuid as uuid_mod
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .errors import StoreError, invalid, not_found, required
from .model import eastern_now, format_datetime, parse_date, parse_datetime, parse_decimal
from .resources import REGISTRY, Resource
from .resources.base import Filter, Obj, as_int, coerce

__all__ = [
    "DEFAULT_PER_PAGE",
    "FILTER_NAMES",
    "MAX_PER_PAGE",
    "ListQuery",
    "Store",
    "StoreError",
    "Table",
    "dumps",
    "not_found",
    "parse_includes",
    "parse_list_query",
]

DEFAULT_PER_PAGE = 15
MAX_PER_PAGE = 100

#: Every wire filter name of every resource, plus ``<resource>.<filter>`` qualified names.
FILTER_NAMES: frozenset[str] = frozenset(
    {name for res in REGISTRY.values() for name in res.filters}
    | {f"{res.name}.{name}" for res in REGISTRY.values() for name in res.filters}
)

Predicate = Callable[[Obj], bool]


# --------------------------------------------------------------------------- list queries


@dataclass(frozen=True)
class ListQuery:
    """A validated list request."""

    filters: tuple[tuple[str, Any], ...]
    sort: tuple[str, bool] | None  # (sort key, descending)
    page: int
    per_page: int
    includes: frozenset[str]


def _parse_int(value: str) -> int | None:
    v = value.strip()
    if v.lstrip("-").isdigit() and len(v) <= 12:
        return int(v)
    return None


def _parse_bool(value: str) -> bool | None:
    v = value.strip().lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    return None


def parse_includes(
    pairs: Iterable[tuple[str, str]], resource: Resource | None = None
) -> frozenset[str]:
    """Known ``include[]`` values (unknown ones, and a bare ``include=``, are ignored)."""
    known = (resource or REGISTRY["invoices"]).includes
    return frozenset(v for k, v in pairs if k == "include[]" and v in known)


def _filter_value(name: str, flt: Filter, raw: list[str], noun: str) -> Any:
    def bad(value: str, message: str | None = None) -> StoreError:
        return invalid(name, value, 400, message, object_=noun)

    def one(value: str) -> Any:
        kind = flt.kind
        if kind == "int":
            i = _parse_int(value)
            if i is None or (flt.choices is not None and i not in flt.choices):
                raise bad(value)
            return i
        if kind == "str":
            return value
        if kind == "istr":
            return value.upper()
        if kind == "like":
            return value.lower()
        if kind == "date":
            d = parse_date(value.strip())
            if d is None:
                raise bad(value, f"Invalid date for {name}, expected YYYY-MM-DD.")
            return d.isoformat()
        if kind == "decimal":
            dec = parse_decimal(value)
            if dec is None:
                raise bad(value, f"Invalid number for {name}.")
            return dec
        # The docs give the boolean filters "no input": an empty value means true.
        b = True if value.strip() == "" else _parse_bool(value)
        if b is None:
            raise bad(value, f"Invalid boolean for {name}.")
        return b

    if flt.op == "in":
        return tuple(one(v) for v in raw)
    return one(raw[-1])


def parse_list_query(
    pairs: Sequence[tuple[str, str]],
    ignore: Container[str] = frozenset(),
    resource: Resource | None = None,
) -> ListQuery:
    """Validate a list request's query pairs (in order, repeats kept).

    Raises :class:`StoreError` (400) for malformed filter values, ``page`` or ``per_page``
    (``page=0`` is answered as page 1, as FreshBooks does).  Unknown ``search[...]`` keys,
    unknown sorts and unknown includes are ignored, and so are the filters named in ``ignore``
    (wire filter names, plain or ``<resource>.<name>``), as if the server did not know them.
    Boolean filters are also read from a bare top-level ``key=...``, as FreshBooks' SDKs send,
    and an empty value is true (the docs give them "no input").  "In" filters are read only
    from the documented ``search[name][]`` form, and includes only from ``include[]``.
    """
    res = resource or REGISTRY["invoices"]
    filters = res.filters

    def known(name: str) -> bool:
        return name in filters and name not in ignore and f"{res.name}.{name}" not in ignore

    raw: dict[str, list[str]] = {}
    top_bools: dict[str, list[str]] = {}
    page, per_page = 1, DEFAULT_PER_PAGE
    sort: tuple[str, bool] | None = None
    for key, value in pairs:
        if key.startswith("search[") and "]" in key:
            end = key.index("]")
            name, suffix = key[len("search[") : end], key[end + 1 :]
            if not known(name):
                continue
            # "In" filters repeat as search[name][]=v (the documented form); any other shape
            # of the key is one the server does not know, so it is ignored.
            if filters[name].op == "in":
                if suffix == "[]":
                    raw.setdefault(name, []).append(value)
            elif suffix == "":
                raw[name] = [value]
        elif key in filters and filters[key].kind == "bool":
            if known(key):
                top_bools[key] = [value]
        elif key == "page":
            p = _parse_int(value)
            if p is None or p < 0:
                raise StoreError(400, 1014, "page", "Invalid page number.", value, res.noun)
            page = max(p, 1)
        elif key == "per_page":
            pp = _parse_int(value)
            if pp is None or pp < 1:
                raise StoreError(400, 1013, "per_page", "Invalid per_page value.", value, res.noun)
            per_page = min(pp, MAX_PER_PAGE)
        elif key == "sort":
            base, _, direction = value.rpartition("_")
            if (base in res.sorts or base in res.store_sorts) and direction in ("asc", "desc"):
                sort = (base, direction == "desc")
    for name, values in top_bools.items():
        raw.setdefault(name, values)
    normalised = {
        name: _filter_value(name, filters[name], vals, res.noun) for name, vals in raw.items()
    }
    return ListQuery(
        filters=tuple(sorted(normalised.items(), key=lambda kv: kv[0])),
        sort=sort,
        page=page,
        per_page=per_page,
        includes=parse_includes(pairs, res),
    )


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _predicate(flt: Filter, value: Any, store: Store) -> Predicate:
    get, op = flt.get, flt.op
    if flt.with_store is not None:
        by_store = flt.with_store

        def get(obj: Obj) -> Any:
            return by_store(store, obj)

    if flt.kind == "istr":
        base = get

        def get(obj: Obj) -> Any:
            return str(base(obj) or "").upper()

    if op == "eq":
        return lambda obj: get(obj) == value
    if op == "in":
        members = frozenset(value)
        return lambda obj: get(obj) in members
    if op == "like":
        return lambda obj: any(value in s.lower() for s in _strings(get(obj)))
    # A null never satisfies a comparison (SQL semantics: NULL < 9 is not true).
    if op == "min":
        return lambda obj: (v := get(obj)) is not None and v != "" and v >= value
    if op == "max":
        return lambda obj: (v := get(obj)) is not None and v != "" and v < value
    if op == "gt":
        return lambda obj: (v := get(obj)) is not None and v != "" and v > value
    if op == "ne":
        return lambda obj: get(obj) != value
    raise AssertionError(f"unknown filter op {op!r}")  # pragma: no cover


def _vis(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 3:
        value = int(value)
    if isinstance(value, bool) or value not in (0, 1, 2):
        return None
    return int(value)


# --------------------------------------------------------------------------- a table


class Table:
    """The objects of one resource in one account."""

    def __init__(self, store: Store, resource: Resource) -> None:
        self.store = store
        self.res = resource
        self.rows: dict[int, Obj] = {}
        self.next_id = resource.first_id
        self.next_lineid: dict[int, int] = {}
        self.version = 0
        self.next_number = 1
        self._cache: dict[tuple[Any, ...], list[int]] = {}
        self.index: dict[str, dict[Any, set[int]]] = {f: {} for f in resource.indexes}

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self.rows)

    def require(self, oid: int) -> Obj:
        obj = self.rows.get(oid)
        if obj is None:
            raise not_found(self.res.noun, self.res.pk, oid)
        return obj

    def view(self, obj: Obj, includes: frozenset[str]) -> Obj:
        """The wire view of a stored object for ``includes`` (shares nested objects)."""
        lines = self.res.lines
        if lines is not None and lines.include not in includes:
            out = {k: v for k, v in obj.items() if k != lines.key}
        else:
            out = dict(obj)
        self.res.decorate(self.store, obj, out, includes)
        return out

    def render(self, oid: int, includes: frozenset[str]) -> Obj:
        """The wire view of one stored object; :class:`StoreError` 404 if unknown."""
        with self.store.lock:
            return self.view(self.require(oid), includes)

    def matching_ids(self, filters: tuple[tuple[str, Any], ...], sort: Any) -> list[int]:
        """Ids matching ``filters`` in response order; cached per (query, table version)."""
        flts = self.res.filters
        cross = any(flts[name].with_store is not None for name, _ in filters) or (
            sort is not None and sort[0] in self.res.store_sorts
        )
        key = (filters, sort, self.store.generation if cross else None)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        preds = [_predicate(flts[name], value, self.store) for name, value in filters]
        if self.res.vis_state and not any(name == "vis_state" for name, _ in filters):
            preds.insert(0, lambda obj: obj.get("vis_state") != 1)
        objs: Iterable[Obj] = self.rows.values()
        if preds:
            objs = [obj for obj in objs if all(p(obj) for p in preds)]
        if sort is None:
            ids = sorted((obj["id"] for obj in objs), reverse=True)
        else:
            by_store = self.res.store_sorts.get(sort[0])
            if by_store is not None:
                rows = [(by_store(self.store, obj), obj["id"]) for obj in objs]
            else:
                getter = self.res.sorts[sort[0]]
                rows = [(getter(obj), obj["id"]) for obj in objs]
            rows.sort(key=_sort_key)
            if sort[1]:
                rows.reverse()
            ids = [oid for _, oid in rows]
        if len(self._cache) >= 256:
            self._cache.clear()
        self._cache[key] = ids
        return ids

    def list_result(self, query: ListQuery) -> dict[str, Any]:
        """The ``result`` object of a list response."""
        with self.store.lock:
            ids = self.matching_ids(query.filters, query.sort)
            start = (query.page - 1) * query.per_page
            page_objs = [self.rows[i] for i in ids[start : start + query.per_page]]
            rows = [self.view(obj, query.includes) for obj in page_objs]
        total = len(ids)
        return {
            self.res.plural: rows,
            "page": query.page,
            "pages": -(-total // query.per_page),
            "per_page": query.per_page,
            "total": total,
        }

    # ------------------------------------------------------------------ writes

    def put(self, obj: Obj) -> None:
        """Store ``obj`` (a new dict) under its id, keeping the indexes."""
        oid = obj["id"]
        old = self.rows.get(oid)
        for name, idx in self.index.items():
            if old is not None:
                ids = idx.get(old.get(name))
                if ids is not None:
                    ids.discard(oid)
            idx.setdefault(obj.get(name), set()).add(oid)
        self.rows[oid] = obj
        self.changed()

    def compute_and_put(self, obj: Obj) -> None:
        """Recompute a changed object's derived keys and store it (for effects across
        resources; no ``after_write`` hook runs, so effects never loop)."""
        self.res.compute(self.store, obj)
        self.put(obj)

    def remove(self, oid: int) -> None:
        old = self.rows.pop(oid)
        for name, idx in self.index.items():
            idx.get(old.get(name), set()).discard(oid)
        self.changed()

    def ids_where(self, name: str, value: Any) -> set[int]:
        return set(self.index[name].get(value, ()))

    def changed(self) -> None:
        self.version += 1
        self.store.generation += 1
        self._cache.clear()

    def note_number(self, obj: Obj) -> None:
        """Keep the next automatic document number above every numeric one in use."""
        key = self.res.number_key
        if key is not None:
            num = str(obj.get(key) or "")
            if num.isdigit() and len(num) < 12:
                self.next_number = max(self.next_number, int(num) + 1)

    def touch(self, obj: Obj, previous: str | None) -> str:
        """Set the resource's stamp keys to now, strictly after ``previous``."""
        now = eastern_now()
        if previous:
            try:
                prev = parse_datetime(previous)
            except ValueError:
                prev = None
            if prev is not None and now <= prev:
                now = prev + dt.timedelta(seconds=1)
        stamp = format_datetime(now)
        for key in self.res.stamp_keys:
            obj[key] = stamp
        return stamp

    def body_of(self, body: Any) -> Obj:
        """The object inside a request body (``{"invoice": {...}}``); 422 when missing."""
        if isinstance(body, dict):
            for key in (self.res.single, *self.res.alias_keys):
                if key in body:
                    data = body[key]
                    if isinstance(data, dict):
                        return data
                    break
        raise StoreError(
            422, 1001, self.res.single, f"A {self.res.single} object is required.", None,
            self.res.noun,
        )  # fmt: skip

    def create(self, data: Obj) -> Obj:
        """Create an object from a POST body's inner object; return the stored dict."""
        res = self.res
        for name in res.required:
            if data.get(name) in (None, ""):
                raise required(name, res.noun)
        with self.store.lock:
            obj = res.template(self.store.account_id)
            oid = self.next_id
            obj["id"] = obj[res.pk] = oid
            if "uuid" in obj:
                obj["uuid"] = str(uuid_mod.uuid4())
            self._apply_fields(obj, data, creating=True)
            counter = itertools.count(1)
            if res.lines is not None and res.lines.key in data:
                obj[res.lines.key] = self._build_lines(obj, {}, data[res.lines.key], counter, False)
            if res.number_key is not None:
                if not obj.get(res.number_key):
                    obj[res.number_key] = f"{self.next_number:07d}"
                self.note_number(obj)
            res.prepare(self.store, obj, data, True)
            stamp = self.touch(obj, None)
            for key in res.created_keys:
                obj[key] = stamp
            if res.lines is not None:
                for line in obj[res.lines.key]:
                    if "updated" in line:
                        line["updated"] = stamp
            res.compute(self.store, obj)
            self.next_id += 1
            self.next_lineid[oid] = next(counter)
            self.put(obj)
            res.after_write(self.store, None, obj)
            return obj

    def update(self, oid: int, data: Obj) -> tuple[Obj, bool]:
        """Apply a PUT body's inner object; return ``(stored dict, state_only)``.

        ``state_only`` is True when the body carried ``vis_state``/``ext_vis_state``/an
        ``action_*`` key: only that phase is applied and every other key is dropped, as
        FreshBooks documents.  Validation errors leave the object unchanged.
        """
        res = self.res
        with self.store.lock:
            old = self.require(oid)
            trap = {
                k: v
                for k, v in data.items()
                if (res.vis_state and k in ("vis_state", "ext_vis_state"))
                or k.startswith("action_")
            }
            if trap:
                return self.set_state(old, trap), True
            obj = copy.deepcopy(old)
            self._apply_fields(obj, data, creating=False)
            new_lines = res.lines is not None and res.lines.key in data
            if res.lines is not None and new_lines:
                key = res.lines.key
                old_lines = {ln.get("lineid"): ln for ln in old.get(key, []) if "lineid" in ln}
                start = self.next_lineid.get(oid)
                if start is None:
                    start = max((i for i in old_lines if isinstance(i, int)), default=0) + 1
                counter = itertools.count(start)
                obj[key] = self._build_lines(obj, old_lines, data[key], counter, True)
                self.next_lineid[oid] = next(counter)
            res.prepare(self.store, obj, data, False)
            stamp = self.touch(obj, old.get(res.stamp_keys[0]) if res.stamp_keys else None)
            if res.lines is not None and new_lines:
                for line in obj[res.lines.key]:
                    if "updated" in line:
                        line["updated"] = stamp
            res.compute(self.store, obj)
            self.put(obj)
            res.after_write(self.store, old, obj)
            return obj, False

    def set_state(self, old: Obj, trap: Mapping[str, Any]) -> Obj:
        """The ``vis_state`` phase: vis_state / ext_vis_state / action_* keys alone."""
        obj = dict(old)
        for key in ("vis_state", "ext_vis_state"):
            if key in trap:
                vis = _vis(trap[key])
                if vis is None:
                    raise invalid(key, trap[key], object_=self.res.noun)
                obj["vis_state"] = vis
                if "ext_archive" in obj:
                    obj["ext_archive"] = 1 if vis == 2 else 0
        if self.res.states is not None:
            self.res.states(self.store, obj, trap)
        self.touch(obj, old.get(self.res.stamp_keys[0]) if self.res.stamp_keys else None)
        self.put(obj)
        self.res.after_write(self.store, old, obj)
        return obj

    def delete(self, oid: int) -> None:
        """HTTP DELETE: soft (vis_state 1) or hard, as the resource declares."""
        with self.store.lock:
            old = self.require(oid)
            if self.res.http_delete == "soft":
                self.set_state(old, {"vis_state": 1})
            else:
                self.remove(oid)
                self.res.after_write(self.store, old, None)

    def _apply_fields(self, obj: Obj, data: Obj, creating: bool) -> None:
        """Check and apply the writable keys of ``data``; every other key is ignored, except
        the declared ``forbidden`` ones (403 errno 1038, as the live API answers them)."""
        res = self.res
        for key in sorted(res.forbidden):
            if key in data:
                raise StoreError(403, 1038, key, "Write access denied.", data[key], res.noun)
        for key, value in data.items():
            kind = res.fields.get(key)
            if kind is None or (key in res.create_only and not creating):
                continue
            obj[key] = coerce(kind, key, value, obj, res.noun)

    def _build_lines(
        self,
        obj: Obj,
        old_lines: dict[Any, Obj],
        given: Any,
        next_lineid: Iterable[int],
        put: bool,
    ) -> list[Obj]:
        spec = self.res.lines
        assert spec is not None
        noun = self.res.noun
        if not isinstance(given, list):
            raise invalid(spec.key, given, message=f"{spec.key} must be a list.", object_=noun)
        if len(given) > 1000:
            raise invalid(spec.key, len(given), message="Too many lines.", object_=noun)
        ids = iter(next_lineid)
        out: list[Obj] = []
        seen: set[int] = set()
        code = obj.get("currency_code") or "USD"
        for i, raw in enumerate(given):
            where = f"{spec.key}[{i}]"
            if not isinstance(raw, dict):
                raise invalid(where, raw, message="Each line must be an object.", object_=noun)
            if put:
                for ro in sorted(spec.rejected):
                    if ro in raw:
                        raise invalid(
                            f"{where}.{ro}", raw[ro], message=f"{ro} is read-only.", object_=noun
                        )
            lineid = raw.get("lineid") if put and spec.lineid else None
            lid: int | None = None
            if lineid is not None:
                lid = as_int(lineid)
                if lid is None or lid not in old_lines:
                    raise StoreError(422, 1012, "lineid", "Line not found.", lineid, "line")
                if lid in seen:
                    raise invalid("lineid", lineid, message="Duplicate lineid.", object_=noun)
                seen.add(lid)
            # A line in a body is the whole line: one that names its lineid keeps that identity,
            # but every writable key it leaves out takes its default, as on a new line (the
            # conservative reading of "lines are replaced wholesale"; identity is [?]).
            line = spec.template()
            if spec.lineid:
                line["lineid"] = lid if lid is not None else next(ids)
            line[spec.backref] = obj["id"]
            line["unit_cost"] = {"amount": "0.00", "code": code}
            for key, value in raw.items():
                kind = spec.writable.get(key)
                if kind is not None:
                    stored = coerce(kind, f"{where}.{key}", value, obj, noun)
                    if kind == "str" and value is None:
                        stored = ""
                    line[key] = stored
            if "expenseid" in spec.writable and line.get("type") == 1 and not line.get("expenseid"):
                # a rebilled-expense line (type 1) names its expense: required [doc]
                raise required(f"{where}.expenseid", noun)
            out.append(line)
        return out


def _sort_key(row: tuple[Any, int]) -> tuple[Any, ...]:
    value, oid = row
    if value is None:
        return (0, "", oid)
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return (1, value, oid)
    return (2, str(value).lower(), oid)


# --------------------------------------------------------------------------- the store


class Store:
    """Every resource of one accounting account, with the API's semantics."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.lock = threading.RLock()
        self.generation = 0  #: bumped by every change to any table
        self.tables: dict[str, Table] = {name: Table(self, res) for name, res in REGISTRY.items()}

    def table(self, name: str) -> Table:
        return self.tables[name]

    def load_objects(self, name: str, objs: Iterable[Obj]) -> None:
        """Bulk-add ready-made wire objects (used by the seeder).  Ids must be set."""
        table = self.tables[name]
        objs = list(objs)
        if not objs:
            return
        with self.lock:
            rows = table.rows
            for obj in objs:
                rows[obj["id"]] = obj
            table.next_id = max(table.next_id, max(rows) + 1)
            for fname, idx in table.index.items():
                for obj in objs:
                    key = obj.get(fname)
                    ids = idx.get(key)
                    if ids is None:
                        idx[key] = {obj["id"]}
                    else:
                        ids.add(obj["id"])
            key = table.res.number_key
            if key is not None:
                numbers = [n for o in objs if (n := str(o.get(key) or "")).isdigit()]
                if numbers:
                    table.note_number({key: max(numbers, key=lambda n: (len(n), n))})
            table.changed()

    def snapshot_of(self, name: str) -> dict[int, Obj]:
        """Deep copies of every object of one resource, by id."""
        with self.lock:
            items = list(self.tables[name].rows.items())
        return {k: copy.deepcopy(v) for k, v in items}

    @property
    def customers(self) -> dict[int, Obj]:
        """The stored clients (FreshBooks' customers) by id (the live dicts: do not mutate)."""
        return self.tables["clients"].rows

    # ------------------------------------------------------------------ invoice shortcuts

    @property
    def version(self) -> int:
        return self.tables["invoices"].version

    def load(self, invoices: Iterable[Obj]) -> None:
        """Bulk-add ready-made wire invoices (used by the seeder).  Ids must be set."""
        invs = list(invoices)
        self.load_objects("invoices", invs)

    def __len__(self) -> int:
        return len(self.tables["invoices"])

    def snapshot(self) -> dict[int, Obj]:
        """Deep copies of every invoice (with lines), by id."""
        return self.snapshot_of("invoices")

    def get(self, invoice_id: int) -> Obj:
        """A deep copy of one stored invoice (with lines); :class:`StoreError` 404 if unknown."""
        with self.lock:
            inv = self.tables["invoices"].require(invoice_id)
        return copy.deepcopy(inv)

    def render(self, invoice_id: int, includes: frozenset[str]) -> Obj:
        return self.tables["invoices"].render(invoice_id, includes)

    def matching_ids(self, filters: tuple[tuple[str, Any], ...], sort: Any) -> list[int]:
        with self.lock:
            return self.tables["invoices"].matching_ids(filters, sort)

    def list_result(self, query: ListQuery) -> dict[str, Any]:
        return self.tables["invoices"].list_result(query)

    def create(self, data: Any) -> Obj:
        table = self.tables["invoices"]
        if not isinstance(data, dict):
            raise StoreError(422, 1001, "invoice", "An invoice object is required.")
        return table.create(data)

    def update(self, invoice_id: int, data: Any) -> Obj | None:
        """Apply a PUT body's ``invoice`` object; None when only the vis_state phase applied."""
        if not isinstance(data, dict):
            raise StoreError(422, 1001, "invoice", "An invoice object is required.")
        obj, state_only = self.tables["invoices"].update(invoice_id, data)
        return None if state_only else obj

    def delete(self, invoice_id: int) -> None:
        """Soft delete (vis_state 1), as HTTP DELETE does."""
        self.tables["invoices"].delete(invoice_id)


def dumps(obj: Any) -> bytes:
    """Compact JSON bytes, as the API sends."""
    return json.dumps(obj, separators=(",", ":")).encode()
