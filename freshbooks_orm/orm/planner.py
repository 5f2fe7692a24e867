"""The query planner: what FreshBooks answers, what runs locally, and how the answer is checked.

Pure: ``plan(model, where, ...)`` looks only at declarations and returns a ``Plan``; the
queryset executes it.  The split:

* **Server filters.** Each condition that implies one of the resource's documented filters
  sends it: ``amount__gte=100`` -> ``search[total_min]=100``; ``amount__gt=100`` -> the same
  plus a strict ``> 100`` locally; ``create_date__year=2024`` -> ``date_min``/``date_max``; an
  OR of equalities on one field -> that field's "in" filter.  Several conditions on one filter
  are merged into the tightest value (the API takes one value per filter).
* **Residual.** Whatever the server filters do not imply exactly (negations, ORs, lookups no
  filter expresses, text case) is evaluated on each row as it streams.  The plan is *exact*
  when there is no residual: then ``count()``, ``exists()``, ``first()`` and slices trust the
  server's paging; otherwise they read every matching page.
* **Verification.** Every server filter has a meaning (``Filter.means``, the resource's
  ``lookups``, or a field of its own name); each row the server returns is checked against the
  meaning of every filter sent whose field the row carries, and a contradiction raises
  ``FilterNotAppliedError``.  A filter whose meaning needs a sub-object the list omits
  (``item_name`` reads ``lines``) gets that include added, so it is verified too.
* **Ordering.** On the server when the resource documents that sort, else locally over every
  matching row.

Where a filter's meaning comes from, per resource: ``Filter.means`` first, then
``ResourceSpec.lookups`` (``{"amount__gte": "total_min"}`` says ``total_min`` checks
``amount >= value``), then a field named like the filter (exact match, or "in" for an
``InFilter``).  A filter with none of these can still be sent by its wire name, but cannot be
verified, negated or OR-ed (``explain()`` says so).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import InvalidFilterValue, UnknownFieldError, UnknownFilterError, closest
from .lookups import (
    TEXT_LOOKUPS,
    TRANSFORMS,
    And,
    Cond,
    Node,
    Not,
    Nothing,
    Or,
    Q,
    Some,
    Wire,
    and_of,
    coerce_value,
    compare,
    conjuncts,
    field_kind,
    lookups_for,
    matches,
    unknown,
)
from .query import BoolFilter, Filter, InFilter, Query, ResourceSpec, SearchBoolFilter

if TYPE_CHECKING:
    from .model import Model

__all__ = ["Meaning", "Plan", "ServerFilter", "meanings", "plan", "resolve", "same_item"]


# --- field paths --------------------------------------------------------------------------------


def _fields(model: type[Model]) -> Mapping[str, Any]:
    return model._meta.fields


def _pk(model: type[Model]) -> str:
    return model._meta.pk


@attrs.frozen
class Path:
    field: str
    wire: str
    item_field: str | None
    type: Any
    kind: str
    transform: str | None
    lookup: str


def parse_key(model: type[Model], key: str, spec_name: str) -> Path | None:
    """Split ``field[__item][__transform][__lookup]`` against the declarations, or None."""
    parts = key.split("__")
    fields = _fields(model)
    name = _pk(model) if parts[0] == "pk" else parts[0]
    fspec = fields.get(name)
    if fspec is None:
        return None
    rest = parts[1:]
    type_, item_field = fspec.type, None
    kind = field_kind(type_)
    if kind == "list":
        item_cls = type_.list_cls.line_cls
        if not rest:
            return None
        item_spec = item_cls._meta.fields.get(rest[0])
        if item_spec is None:
            unknown(f"{spec_name}.{name} items have no field", rest[0], item_cls._meta.fields, "")
        item_field, type_, rest = rest[0], item_spec.type, rest[1:]
        kind = field_kind(type_)
    transform = None
    if rest and rest[0] in TRANSFORMS:
        transform = rest.pop(0)
        allowed = (
            ("year", "month", "day", "date") if kind == "datetime" else ("year", "month", "day")
        )
        if kind not in ("date", "datetime") or transform not in allowed:
            unknown(f"{spec_name}.{name} ({kind}) has no transform", transform, [], "")
    lookup = rest.pop(0) if rest else "exact"
    valid = lookups_for("date" if transform == "date" else ("int" if transform else kind))
    if rest or lookup not in valid:
        stem = "__".join(p for p in (name, item_field, transform) if p)
        unknown(
            f"{spec_name} field {stem!r} has no lookup",
            "__".join([lookup, *rest]),
            valid,
            f" (a {kind} field)",
        )
    return Path(name, fspec.wire, item_field, type_, kind, transform, lookup)


def _cond(path: Path, value: Any, key: str) -> Node:
    if path.lookup == "exact" and value is None:
        path = attrs.evolve(path, lookup="isnull")
        value = True
    kind = path.kind
    if path.transform in ("year", "month", "day"):
        kind = path.transform
    elif path.transform == "date":
        kind = "date"
    coerced = coerce_value(kind, path.type, path.lookup, value, key)
    if path.transform in _CALENDAR:
        coerced = _calendar(path.transform, path.lookup, coerced)
        if coerced is None:
            return Nothing()  # no date has such a year, month or day
    if path.lookup == "in" and not coerced:
        return Nothing()
    return Cond(
        key=key,
        field=path.field,
        wire=path.wire,
        kind=kind,
        lookup=path.lookup,
        value=coerced,
        transform=path.transform,
        item_field=path.item_field,
    )


#: the values ``__year``, ``__month`` and ``__day`` can have
_CALENDAR = {"year": (dt.MINYEAR, dt.MAXYEAR), "month": (1, 12), "day": (1, 31)}


def _calendar(transform: str, lookup: str, value: Any) -> Any:
    """A ``__year``/``__month``/``__day`` value with what no date can have left out; None when
    nothing can match.

    Python dates (and FreshBooks') run from year 1 to 9999: ``year__gt=9999``, ``year=0`` or
    ``month=13`` match no row, ``year__gte=0`` every dated row.
    """
    lo, hi = _CALENDAR[transform]
    if lookup == "in":
        return tuple(y for y in value if lo <= y <= hi)
    if lookup == "range":
        first, last = value
        return None if first > last or last < lo or first > hi else value
    if lookup == "exact":
        return value if lo <= value <= hi else None
    impossible = {
        "gt": value >= hi,
        "gte": value > hi,
        "lt": value <= lo,
        "lte": value < lo,
    }
    return None if impossible.get(lookup, False) else value


# --- what each server filter means --------------------------------------------------------------


@attrs.frozen
class Meaning:
    """What one API filter checks, as a lookup on the model."""

    filter: Filter
    path: Path
    fixed: Any = None  # for true/false filters: the compared value that "true" means
    has_fixed: bool = False
    others: tuple[Path, ...] = ()  # "a|b": the filter matches when any of these does
    negated: bool = False  # "~a": the filter matches when the lookup does not

    @property
    def simple(self) -> bool:
        """One plain lookup with the filter's value: usable to push user conditions down."""
        return not (self.has_fixed or self.others or self.negated)

    def cond(self, value: Any) -> Node:
        """The condition on a row that the filter sent with ``value`` promises."""
        if self.has_fixed:
            node = _cond(self.path, self.fixed, self.filter.name)
            return node if value else Not(node)
        node = _cond(self.path, value, self.filter.name)
        if self.others:
            node = Or((node, *(_cond(p, value, self.filter.name) for p in self.others)))
        return Not(node) if self.negated else node


def meanings(model: type[Model], spec: ResourceSpec) -> dict[str, Meaning | None]:
    """Every filter of ``spec`` -> its meaning (None when the declarations do not say)."""
    cache = model.__dict__.get("_filter_meanings")
    if cache is not None and cache[0] is spec:
        return dict(cache[1])
    fields = _fields(model)
    by_filter: dict[str, list[str]] = {}
    for key, target in spec.lookups.items():
        by_filter.setdefault(target, []).append(key)
    meta = getattr(model, "_meta", None)
    for pk_key, pk_target in (
        ("pk", getattr(meta, "pk_filter", None)),
        ("pk__in", getattr(meta, "pk_in_filter", None)),
    ):
        if pk_target is not None:  # the declared primary-key filters
            by_filter.setdefault(pk_target, []).append(pk_key)
    out: dict[str, Meaning | None] = {}
    for name, flt in spec.filters.items():
        out[name] = _meaning(model, spec, flt, by_filter.get(name, []), fields)
    model._filter_meanings = (spec, out)  # type: ignore[attr-defined]
    return dict(out)


def pushable(model: type[Model], spec: ResourceSpec) -> list[Meaning]:
    """Every (filter, field condition) a lookup may push down: each filter's meaning, plus the
    other fields its lookups name (``id`` and ``invoiceid`` both reach ``search[invoiceid]``)."""
    cache = model.__dict__.get("_filter_pushable")
    if cache is not None and cache[0] is spec:
        return list(cache[1])
    table = meanings(model, spec)
    out = [m for m in table.values() if m is not None and m.simple]
    seen = {(m.filter.name, m.path.field, m.path.lookup) for m in out}
    fields = _fields(model)
    meta = getattr(model, "_meta", None)
    declared = dict(spec.lookups)
    for key, target in (
        ("pk", getattr(meta, "pk_filter", None)),
        ("pk__in", getattr(meta, "pk_in_filter", None)),
    ):
        if target is not None:
            declared.setdefault(key, target)
    extra: list[tuple[str, Filter]] = [(k, spec.filters[t]) for k, t in declared.items()
                                       if t in spec.filters]  # fmt: skip
    extra += [(n, f) for n, f in spec.filters.items() if n in fields]
    for key, flt in extra:
        primary = table.get(flt.name)
        if primary is None or not primary.simple:
            continue
        try:
            path = parse_key(model, key, spec.name)
        except UnknownFilterError:
            continue
        if path is None:
            continue
        if key == flt.name:
            path = attrs.evolve(path, lookup=primary.path.lookup)
        elif isinstance(flt, InFilter) and path.lookup == "exact":
            path = attrs.evolve(path, lookup="in")
        path = _date_granular(path, flt)
        if (flt.name, path.field, path.lookup) not in seen:
            seen.add((flt.name, path.field, path.lookup))
            out.append(Meaning(flt, path, None, False))
    model._filter_pushable = (spec, out)  # type: ignore[attr-defined]
    return list(out)


def _meaning(
    model: type[Model], spec: ResourceSpec, flt: Filter, keys: list[str], fields: Mapping[str, Any]
) -> Meaning | None:
    means = getattr(flt, "means", "")
    if means:
        key, sep, fixed = means.partition("=")
        negated = key.startswith("~")
        paths = []
        for alternative in key.lstrip("~").split("|"):
            path = parse_key(model, alternative.strip(), spec.name)
            if path is None:
                raise TypeError(f"{spec.name} filter {flt.name!r} means {means!r}: no such field")
            if isinstance(flt, InFilter) and path.lookup == "exact":
                path = attrs.evolve(path, lookup="in")
            paths.append(_date_granular(path, flt))
        return Meaning(flt, paths[0], fixed if sep else None, bool(sep), tuple(paths[1:]), negated)
    # prefer a lookup on a real field over the "pk" alias
    for key in sorted(keys, key=lambda k: k.startswith("pk")):
        path = parse_key(model, key, spec.name)
        if path is not None:
            if isinstance(flt, InFilter) and path.lookup == "exact":
                path = attrs.evolve(path, lookup="in")
            return Meaning(flt, _date_granular(path, flt), None, False)
    if flt.name in fields:
        path = parse_key(model, flt.name, spec.name)
        assert path is not None
        if isinstance(flt, (BoolFilter, SearchBoolFilter)) and path.kind != "bool":
            return None
        lookup = "in" if isinstance(flt, InFilter) else "exact"
        return Meaning(flt, attrs.evolve(path, lookup=lookup), None, False)
    return None


def _date_granular(path: Path, flt: Filter) -> Path:
    """A date filter on a datetime field compares the (wall) date: ``updated_min``."""
    from .query import DateFilter

    if isinstance(flt, DateFilter) and path.kind == "datetime" and path.transform is None:
        return attrs.evolve(path, transform="date")
    return path


# --- resolving what users write ---------------------------------------------------------------


def resolve(model: type[Model], spec: ResourceSpec, q: Q) -> Node:
    """Turn a ``Q`` into a condition tree; unknown names raise ``UnknownFilterError`` now.

    As in Django, an empty ``Q`` adds no condition at any level: empty children are dropped, and
    a ``Q`` left with none is "no condition" (everything) whether negated or not, so
    ``exclude(Q())`` and ``filter(~Q())`` keep every row.
    """
    node = _resolve_q(model, spec, q)
    return And(()) if node is None else node


def _resolve_q(model: type[Model], spec: ResourceSpec, q: Q) -> Node | None:
    nodes: list[Node] = []
    for child in q.children:
        if isinstance(child, Q):
            inner = _resolve_q(model, spec, child)
            if inner is not None:
                nodes.append(inner)
        else:
            key, value = child
            nodes.append(_resolve_key(model, spec, key, value))
    if not nodes:
        return None  # an empty Q: no condition, negated or not
    if q.connector == Q.OR:
        node: Node = _or_of(nodes)
    else:
        node = and_of(nodes)
    return _negate(node) if q.negated else node


def same_item(node: Node) -> Node:
    """The conditions of one ``filter()`` call, with those on one list field bound to one item.

    Django: inside one ``filter()`` call, the conditions on a multi-valued relation must hold
    for the same related item; in separate calls, or negated (``exclude()``, ``~Q``), each may
    hold for a different one.  The top-level terms that put (not negated) conditions on a list
    field's items, two or more of them, become ``Some(field, terms)``; the other terms stay
    as they are (so what the server can filter is still sent).
    """
    terms = conjuncts(node)
    for field in sorted({f for t in terms for f in _bindable(t)}):
        group = [t for t in terms if field in _bindable(t)]
        if sum(_bindable(t).count(field) for t in group) < 2:
            continue
        rest = [t for t in terms if field not in _bindable(t)]
        terms = [Some(field, and_of(group)), *rest]
    return and_of(terms) if terms else node


def _bindable(node: Node) -> list[str]:
    """The list field of each condition on items in ``node`` that is not negated nor bound."""
    if isinstance(node, Cond):
        return [node.field] if node.item_field is not None else []
    if isinstance(node, (And, Or)):
        return [f for c in node.children for f in _bindable(c)]
    if isinstance(node, Some):
        return [f for f in _bindable(node.child) if f != node.field]
    return []  # Not: a negation speaks of every item; Wire: the API's own any-item filter


def _or_of(nodes: list[Node]) -> Node:
    # flat, as Django's where-tree is: Q(a) | Q(b) | Q(c) nests (a | b) | c, and an OR of
    # equalities on one field is only recognised (sent as its "in" filter) when flat
    live: list[Node] = []
    for n in nodes:
        if isinstance(n, Or):
            live.extend(n.children)
        elif not isinstance(n, Nothing):
            live.append(n)
    if not live:
        return Nothing()
    if any(isinstance(n, And) and not n.children for n in live):
        return And(())
    return live[0] if len(live) == 1 else Or(tuple(live))


def _negate(node: Node) -> Node:
    if isinstance(node, Nothing):
        return And(())
    if isinstance(node, And) and not node.children:
        return Nothing()
    if isinstance(node, Not):
        return node.child
    return Not(node)


def _resolve_key(model: type[Model], spec: ResourceSpec, key: str, value: Any) -> Node:
    flt = spec.filters.get(key)
    fields = _fields(model)
    if flt is not None and (key not in fields or _bool_on_other(flt, fields[key])):
        return _wire(model, spec, flt, value, key)
    path = parse_key(model, key, spec.name)
    if path is not None:
        return _cond(path, value, key)
    target = spec.lookups.get(key)
    if target is not None and target in spec.filters:
        return _wire(model, spec, spec.filters[target], value, key)
    valid = {*fields, "pk", *spec.filters, *spec.lookups}
    unknown(
        f"{spec.name} has no filter",
        key,
        valid,
        f": the API would ignore it and return every {spec.single_key}",
        label="Valid filters",
    )


def _bool_on_other(flt: Filter, fspec: Any) -> bool:
    return isinstance(flt, (BoolFilter, SearchBoolFilter)) and field_kind(fspec.type) != "bool"


def _wire(model: type[Model], spec: ResourceSpec, flt: Filter, value: Any, key: str) -> Node:
    try:
        pairs = flt.pairs(value)
    except (TypeError, ValueError) as exc:
        raise InvalidFilterValue(f"bad value for filter {key!r}: {exc}") from None
    if isinstance(flt, InFilter):
        if not pairs:
            return Nothing()
        value = tuple(value)
    meaning = meanings(model, spec)[flt.name]
    node = None
    if meaning is not None:
        try:
            node = meaning.cond(value)
        except InvalidFilterValue:
            node = None
    return Wire(flt.name, value, node)


# --- the plan -------------------------------------------------------------------------------


@attrs.frozen
class ServerFilter:
    """One API filter the plan sends, with what it promises about each row."""

    filter: Filter
    value: Any
    check: Node | None  # None: cannot be verified (meaning unknown)
    sources: tuple[str, ...]  # the conditions it came from

    @property
    def name(self) -> str:
        return self.filter.name

    def parameter(self) -> str:
        return "&".join(f"{k}={v}" for k, v in self.filter.pairs(self.value))


@attrs.frozen
class Order:
    field: str
    descending: bool
    kind: str


@attrs.frozen
class Plan:
    """How one query runs: the request it sends, the residual and the checks on each row."""

    model: Any
    spec: ResourceSpec
    query: Query  # the server part: filters, includes, sort
    server: tuple[ServerFilter, ...]
    residual: Node | None
    where: Node
    order: tuple[Order, ...]
    local_order: bool
    reverse_server: bool  # reverse() with no ordering: the server's order, reversed locally
    empty: bool
    added_includes: tuple[str, ...]
    #: why evaluating this plan is refused (before any request), or None
    refused: str | None = None

    @property
    def exact(self) -> bool:
        """True when the server's answer is the result: no residual and no local ordering."""
        return self.residual is None and not self.local_order and not self.reverse_server

    @property
    def unverifiable(self) -> tuple[ServerFilter, ...]:
        return tuple(s for s in self.server if s.check is None)

    def contradiction(self, obj: Any) -> ServerFilter | None:
        """The first server filter ``obj`` (a row the server returned) contradicts, or None.

        A filter is checked on a row only when the row carries the filter's field; text is
        compared case-insensitively (the API's case rules are not documented).
        """
        raw = obj._meta.wire_data(obj)
        for server in self.server:
            check = server.check
            if check is None or not _carried(check, raw):
                continue
            try:
                ok = matches(check, obj, lenient=True)
            except (TypeError, ValueError):
                ok = False
            if not ok:
                return server
        return None

    def unchecked(self, objs: Sequence[Any]) -> ServerFilter | None:
        """A server filter that no row of a page (``objs``, not empty) can be checked on.

        A filter is verified on the rows that carry its field; when no row of a page does
        (invoices carry no ``projectid``), nothing on the page tells whether the server applied
        it, and a server that ignored it would have answered with every row.
        """
        if not objs:
            return None
        for server in self.server:
            check = server.check
            # usually the page's first row carries the field: one look, not one per row
            if check is not None and not any(
                _carried(check, obj._meta.wire_data(obj)) for obj in objs
            ):
                return server
        return None


def _carried(node: Node, raw: Mapping[str, Any]) -> bool:
    """Whether a row carries a value ``node`` can be checked on (a null proves nothing)."""
    if isinstance(node, Cond):
        if node.wire not in raw:
            return False
        # a null is not "in" a list nor equal to a value, but is neither above nor below one
        return raw[node.wire] is not None or node.lookup not in ("gt", "gte", "lt", "lte", "range")
    if isinstance(node, Not):
        return _carried(node.child, raw)
    if isinstance(node, Or):
        return any(_carried(c, raw) for c in node.children)
    if isinstance(node, And):
        return all(_carried(c, raw) for c in node.children)
    return True


def carried_key(node: Node) -> str | None:
    """The wire key a row must carry for ``node`` (a server filter's check) to apply to it."""
    if isinstance(node, Cond):
        return node.wire
    if isinstance(node, Not):
        return carried_key(node.child)
    if isinstance(node, (Or, And)) and node.children:
        return carried_key(node.children[0])
    return None


def plan(
    model: type[Model],
    spec: ResourceSpec,
    where: Node,
    *,
    includes: Sequence[str] = (),
    ordering: Sequence[str] = (),
    reverse: bool = False,
) -> Plan:
    """Split ``where`` into server filters and a local residual; choose the ordering."""
    order = tuple(_order(model, spec, f) for f in ordering)
    if reverse:
        order = tuple(attrs.evolve(o, descending=not o.descending) for o in order)
    if isinstance(where, Nothing):
        return Plan(model, spec, Query(spec, empty=True), (), None, where, order, False, False,
                    True, ())  # fmt: skip
    terms = [] if isinstance(where, And) and not where.children else conjuncts(where)
    table = meanings(model, spec)
    candidates = pushable(model, spec)
    pushes: list[_Push] = []
    residual: list[Node] = []
    for term in terms:
        found = _pushdowns(term, table, candidates, spec)
        pushes.extend(found.pushes)
        if not found.exact:
            residual.append(term)
    merged, empty, demoted = _merge(pushes)
    refused = None
    state = _state_filter(model, spec, table, merged, where)
    if isinstance(state, str):
        refused = state
    elif state is not None:
        merged[state.filter.name] = (state.value, [state])
    state_meaning = table.get("vis_state")
    if "vis_state" in merged and state_meaning is not None and not empty:
        # the list holds exactly the rows of that state: what it implies needs no local check
        field, value = state_meaning.path.field, merged["vis_state"][0]
        residual = [t for t in residual if _truth(t, field, value) is not True]
    for push in demoted:
        if push.term not in residual:
            if isinstance(push.term, Wire) and push.term.meaning is None:
                raise InvalidFilterValue(
                    f"filter {push.filter.name!r} is given two different values; the API takes "
                    "one value per filter and this one cannot be evaluated locally"
                )
            residual.append(push.term)
    residual_node = and_of(residual) if residual else None
    if residual_node is not None:
        _check_local(residual_node)
    server = tuple(
        ServerFilter(
            filter=spec.filters[name],
            value=value,
            check=_check_of(table[name], value),
            sources=tuple(dict.fromkeys(p.term.describe() for p in group)),
        )
        for name, (value, group) in merged.items()
    )
    # includes needed to verify server filters, evaluate the residual or sort locally
    needed = list(includes)
    added: list[str] = []
    wants = {c for s in server if s.check is not None for c in _list_fields(s.check)}
    if residual_node is not None:
        wants |= set(_list_fields(residual_node))
    for name in sorted(wants):
        wire = _fields(model)[name].wire
        if wire in spec.includes and wire not in needed:
            needed.append(wire)
            added.append(wire)
    sort = None
    local_order = False
    if len(order) == 1:
        key = ("-" if order[0].descending else "") + order[0].field
        sort = spec.sorts.get(key)
        local_order = sort is None
    elif order:
        local_order = True
    pairs = []
    for s in server:
        try:
            pairs.append((s.name, s.filter.pairs(s.value)))
        except (TypeError, ValueError) as exc:
            raise InvalidFilterValue(f"bad value for filter {s.name!r}: {exc}") from None
        if isinstance(s.filter, InFilter) and not pairs[-1][1]:
            empty = True
    query = Query(spec, filters=tuple(pairs))
    if needed:
        query = query.with_includes(*needed)
    if sort is not None:
        query = attrs.evolve(query, sort=sort)
    reverse_server = reverse and not order
    return Plan(model, spec, query, server, residual_node, where, order, local_order,
                reverse_server, empty, tuple(added), refused)  # fmt: skip


# --- deleted rows ---------------------------------------------------------------------------------
# FreshBooks lists leave deleted rows (vis_state 1) out unless ``search[vis_state]=1`` is sent,
# and then lists only those [doc].  A condition on the state that a deleted row can satisfy is
# therefore answered from the default list only when it also holds for no other row: the plan
# sends ``search[vis_state]=1``.  One that matches deleted and other rows cannot be read from one
# list; evaluating it is refused, naming the two queries that read each part.

_DELETED, _NOT_DELETED = 1, (0, 2, None)


def _state_filter(
    model: type[Model],
    spec: ResourceSpec,
    table: Mapping[str, Meaning | None],
    merged: Mapping[str, Any],
    where: Node,
) -> _Push | str | None:
    """The state filter a condition on deleted rows needs, a refusal, or None (nothing to do)."""
    meaning = table.get("vis_state")
    if meaning is None or not meaning.simple or meaning.path.lookup != "exact":
        return None
    if "vis_state" in merged or meaning.path.transform is not None:
        return None  # the filter is sent: the list holds exactly the rows of that state
    field = meaning.path.field
    if not _mentions(where, field):
        return None  # no condition on the state: the default list is the answer's universe
    coerce = _fields(model)[field].type.coerce
    deleted = coerce(_DELETED)
    if _truth(where, field, deleted) is False:
        return None  # no deleted row can match: the default list holds every match
    others = [None if v is None else coerce(v) for v in _NOT_DELETED]
    if all(_truth(where, field, v) is False for v in others):
        term = Cond(key=f"{field}={int(deleted)}", field=field, wire=meaning.path.wire,
                    kind=meaning.path.kind, lookup="exact", value=deleted)  # fmt: skip
        return _Push(spec.filters["vis_state"], "equal", deleted, term)
    return (
        f"{where.describe()} can match deleted {spec.list_key} ({field}={int(deleted)}) as well as "
        f"others, but FreshBooks lists deleted {spec.list_key} only when asked for "
        f"search[vis_state]={int(deleted)} alone, so no single list holds both. Read the two "
        f"parts separately: add .filter({field}={int(deleted)}) for the deleted ones and "
        f".exclude({field}={int(deleted)}) for the others"
    )


def _mentions(node: Node, field: str) -> bool:
    if isinstance(node, Cond):
        return node.field == field and node.item_field is None
    if isinstance(node, (And, Or)):
        return any(_mentions(c, field) for c in node.children)
    if isinstance(node, (Not, Some)):
        return _mentions(node.child, field)
    if isinstance(node, Wire) and node.meaning is not None:
        return _mentions(node.meaning, field)
    return False


def _truth(node: Node, field: str, value: Any) -> bool | None:
    """Whether ``node`` holds for a row whose ``field`` is ``value``: None when it depends on
    other fields (three-valued logic)."""
    if isinstance(node, Cond):
        if node.field != field or node.item_field is not None:
            return None
        try:
            return compare(node, value)
        except (TypeError, ValueError):  # pragma: no cover - coerced values compare
            return None
    if isinstance(node, Nothing):
        return False
    if isinstance(node, Not):
        inner = _truth(node.child, field, value)
        return None if inner is None else not inner
    if isinstance(node, (And, Or)):
        results = [_truth(c, field, value) for c in node.children]
        decisive = isinstance(node, Or)  # True decides an OR, False an AND
        if decisive in results:
            return decisive
        return None if None in results else not decisive
    if isinstance(node, Wire) and node.meaning is not None:
        return _truth(node.meaning, field, value)
    if isinstance(node, Some):  # false when its conditions are, whatever the items
        return False if _truth(node.child, field, value) is False else None
    return None


def _check_of(meaning: Meaning | None, value: Any) -> Node | None:
    if meaning is None:
        return None
    try:
        return meaning.cond(value)
    except InvalidFilterValue:
        return None


def _list_fields(node: Node) -> list[str]:
    if isinstance(node, Cond):
        return [node.field] if node.item_field is not None else []
    if isinstance(node, (And, Or)):
        return [f for c in node.children for f in _list_fields(c)]
    if isinstance(node, Not):
        return _list_fields(node.child)
    if isinstance(node, Some):
        return [node.field, *_list_fields(node.child)]
    if isinstance(node, Wire) and node.meaning is not None:
        return _list_fields(node.meaning)
    return []


def _check_local(node: Node) -> None:
    if isinstance(node, Wire) and node.meaning is None:
        raise InvalidFilterValue(
            f"filter {node.name!r} can only be sent to the server as a plain filter() argument: "
            "the declarations do not say what it checks, so it cannot be negated, OR-ed or "
            "evaluated locally"
        )
    if isinstance(node, (And, Or)):
        for c in node.children:
            _check_local(c)
    if isinstance(node, (Not, Some)):
        _check_local(node.child)


def _order(model: type[Model], spec: ResourceSpec, text: str) -> Order:
    if not isinstance(text, str) or not text.strip("-"):
        raise TypeError(f"order_by() takes field names, got {text!r}")
    descending = text.startswith("-")
    name = text.lstrip("-")
    if name == "pk":
        name = _pk(model)
    fspec = _fields(model).get(name)
    if fspec is None or field_kind(fspec.type) == "list":
        valid = sorted(n for n, f in _fields(model).items() if field_kind(f.type) != "list")
        hint = closest(name, valid)
        did_you_mean = f" Did you mean {hint!r}?" if hint else ""
        raise UnknownFieldError(
            f"{spec.name} cannot be ordered by {name!r}.{did_you_mean} Fields: {', '.join(valid)}."
        )
    return Order(name, descending, field_kind(fspec.type))


# --- pushdown rules ------------------------------------------------------------------------------


@attrs.frozen
class _Push:
    filter: Filter
    lookup: str  # the meaning's lookup: how values merge
    value: Any
    term: Node


@attrs.frozen
class _Found:
    pushes: tuple[_Push, ...]
    exact: bool


def _pushdowns(
    term: Node, table: Mapping[str, Meaning | None], pool: list[Meaning], spec: ResourceSpec
) -> _Found:
    if isinstance(term, Wire):
        meaning = table.get(term.name)
        lookup = "opaque" if meaning is None else _merge_kind(meaning)
        value = term.value
        if meaning is not None and not meaning.has_fixed:
            try:
                if isinstance(spec.filters[term.name], InFilter):  # as given, repeats and all
                    value = tuple(_server_value(meaning, (v,))[0] for v in term.value)
                else:
                    value = _server_value(meaning, term.value)
            except (InvalidFilterValue, TypeError, ValueError):
                lookup, value = "opaque", term.value
        return _Found((_Push(spec.filters[term.name], lookup, value, term),), True)
    if isinstance(term, Or):
        merged = _or_as_in(term)
        if merged is None:
            return _Found((), False)
        found = _cond_pushdowns(merged, pool)
        return _Found(tuple(attrs.evolve(p, term=term) for p in found.pushes), found.exact)
    if isinstance(term, Cond):
        return _cond_pushdowns(term, pool)
    if isinstance(term, Some):
        # each condition of the one item also holds for some item: their filters are a superset
        pushes = [
            attrs.evolve(p, term=term)
            for part in conjuncts(term.child)
            for p in _pushdowns(part, table, pool, spec).pushes
        ]
        return _Found(tuple(pushes), False)
    return _Found((), False)


def _merge_kind(meaning: Meaning) -> str:
    if meaning.has_fixed:
        return "equal"
    lookup = meaning.path.lookup
    if lookup in ("gte", "gt"):
        return "max"
    if lookup in ("lt", "lte"):
        return "min"
    if lookup == "in":
        return "in"
    return "equal"


def _server_value(meaning: Meaning, value: Any) -> Any:
    node = meaning.cond(value)
    if isinstance(node, Cond):
        return node.value
    return value


def _or_as_in(term: Or) -> Cond | None:
    """An OR of equalities on one field, as one "in" condition."""
    values: list[Any] = []
    first: Cond | None = None
    for child in term.children:
        if not isinstance(child, Cond) or child.lookup not in ("exact", "in"):
            return None
        if child.transform is not None:
            return None
        if first is None:
            first = child
        elif (child.field, child.item_field) != (first.field, first.item_field):
            return None
        values.extend(child.value if child.lookup == "in" else (child.value,))
    if first is None:
        return None
    return attrs.evolve(first, lookup="in", value=tuple(dict.fromkeys(values)), key=term.describe())


def _cond_pushdowns(cond: Cond, pool: list[Meaning]) -> _Found:
    candidates = [
        m for m in pool if (m.path.field, m.path.item_field) == (cond.field, cond.item_field)
    ]
    candidates.sort(key=lambda m: m.filter.name != cond.field)  # the field's own filter first
    if not candidates or cond.lookup == "isnull":
        return _Found((), False)
    if cond.item_field is not None:
        # "some item contains x": the server's any-item filter is a superset of any text lookup
        likes = [m for m in candidates if m.path.lookup in ("contains", "icontains")]
        if likes and cond.lookup in TEXT_LOOKUPS | {"exact"} and cond.value:
            m = likes[0]
            return _Found((_Push(m.filter, "equal", cond.value, cond),), cond.lookup == "icontains")
        return _Found((), False)
    kind = cond.kind
    # equality families
    if cond.lookup in ("exact", "in") and cond.transform is None:
        values = cond.value if cond.lookup == "in" else (cond.value,)
        plain = kind not in ("str", "money") and not _has_money(values)
        eq = [m for m in candidates if m.path.lookup == "exact" and m.path.transform is None]
        ins = [m for m in candidates if m.path.lookup == "in" and m.path.transform is None]
        if len(values) == 1 and eq and (cond.lookup == "exact" or not ins):
            return _Found((_Push(eq[0].filter, "equal", values[0], cond),), plain)
        if ins:
            return _Found((_Push(ins[0].filter, "in", tuple(values), cond),), plain)
        if len(values) == 1 and eq == [] and kind == "str":
            pass  # fall through to the text rules
        elif cond.lookup == "in":
            return _Found((), False)
    if kind == "str" or (kind == "choice" and cond.lookup in TEXT_LOOKUPS):
        likes = [m for m in candidates if m.path.lookup in ("contains", "icontains")]
        if likes and (cond.lookup in TEXT_LOOKUPS or cond.lookup == "exact") and cond.value:
            return _Found(
                (_Push(likes[0].filter, "equal", cond.value, cond),), cond.lookup == "icontains"
            )
        return _Found((), False)
    return _interval_pushdowns(cond, candidates)


def _has_money(values: Iterable[Any]) -> bool:
    from .types import Money

    return any(isinstance(v, Money) for v in values)


def _interval_pushdowns(cond: Cond, candidates: list[Meaning]) -> _Found:
    bounds = _bounds(cond)
    if bounds is None:
        return _Found((), False)
    lo, lo_closed, hi, hi_closed, step, domain_exact, domain = bounds
    pushes: list[_Push] = []
    lo_done = lo is None
    hi_done = hi is None
    for m in candidates:
        m_domain = _meaning_domain(m)
        if m_domain != domain:
            continue
        lookup = m.path.lookup
        if lookup in ("gte", "gt") and lo is not None:
            value, exact = _lower(lo, lo_closed, step, lookup)
            if value is not None:
                pushes.append(_Push(m.filter, "max", value, cond))
                lo_done = lo_done or exact
        elif lookup in ("lt", "lte") and hi is not None:
            value, exact = _upper(hi, hi_closed, step, lookup)
            if value is not None:
                pushes.append(_Push(m.filter, "min", value, cond))
                hi_done = hi_done or exact
        elif lookup == "exact" and lo is not None and lo == hi and lo_closed and hi_closed:
            pushes.append(_Push(m.filter, "equal", lo, cond))
            lo_done = hi_done = True
    # keep one push per filter
    unique: dict[str, _Push] = {}
    for p in pushes:
        unique.setdefault(p.filter.name, p)
    return _Found(tuple(unique.values()), bool(unique) and lo_done and hi_done and domain_exact)


def _meaning_domain(m: Meaning) -> str:
    if m.path.transform == "date" or m.path.kind == "date":
        return "date"
    return m.path.kind


def _lower(lo: Any, closed: bool, step: Any, lookup: str) -> tuple[Any, bool]:
    """The value for a ``>=`` (or ``>``) server filter implied by a lower bound, and exactness."""
    if lookup == "gte":
        if closed:
            return lo, True
        if step is not None:
            return lo + step, True
        return lo, False
    # server ">"
    if not closed:
        return lo, True
    if step is not None:
        return lo - step, True
    return None, False


def _upper(hi: Any, closed: bool, step: Any, lookup: str) -> tuple[Any, bool]:
    """The value for a ``<`` (or ``<=``) server filter implied by an upper bound, and exactness."""
    if lookup == "lt":
        if not closed:
            return hi, True
        if step is not None:
            return hi + step, True
        return None, False
    if closed:
        return hi, True
    if step is not None:
        return hi - step, True
    return hi, False


def _bounds(cond: Cond) -> tuple[Any, bool, Any, bool, Any, bool, str] | None:
    """(lo, lo_closed, hi, hi_closed, step, exact, domain) of an ordered condition."""
    from .types import Money

    lookup, value, kind = cond.lookup, cond.value, cond.kind
    exact = True
    domain = kind
    step: Any = None
    if cond.transform == "year":
        if lookup == "in":
            return None
        # the years of the condition, as [low, high] (None: unbounded); a bound beyond the
        # years dates have is no bound (_calendar already turned an impossible one into Nothing)
        low: int | None
        high: int | None
        if lookup in ("exact", "range"):
            low, high = value if lookup == "range" else (value, value)
        elif lookup in ("gt", "gte"):
            low, high = value + (lookup == "gt"), None
        else:
            low, high = None, value - (lookup == "lt")
        if low is not None and low <= dt.MINYEAR:
            low = None
        if high is not None and high >= dt.MAXYEAR:
            high = None
        if low is None and high is None:
            return None  # every dated row: nothing to send (the residual keeps the condition)
        lo = None if low is None else dt.date(low, 1, 1)
        hi = None if high is None else dt.date(high, 12, 31)
        return lo, lo is not None, hi, hi is not None, dt.timedelta(days=1), True, "date"
    if cond.transform in ("month", "day"):
        return None
    if cond.transform == "date":
        kind = domain = "date"
    if kind == "datetime":
        # server datetime filters compare the wall date: a bound at midnight is a date bound;
        # any other is widened to whole days and the residual keeps the exact comparison
        if lookup in ("gte", "lt") and _midnight(value):
            value = value.date()
        else:
            value = _wall_dates(cond, value)
            exact = False
            if lookup == "gt":
                lookup = "gte"
            if lookup == "lt":
                lookup = "lte"
        kind = domain = "date"
    if kind == "date":
        step = dt.timedelta(days=1)
    elif kind == "int":
        step = 1
    elif kind == "money":
        domain = "money"
        if isinstance(value, tuple):
            if any(isinstance(v, Money) for v in value):
                exact = False
            value = tuple(v.amount if isinstance(v, Money) else v for v in value)
        elif isinstance(value, Money):
            exact = False
            value = value.amount
    elif kind not in ("decimal",):
        return None
    if lookup == "exact":
        return value, True, value, True, step, exact, domain
    if lookup == "range":
        return value[0], True, value[1], True, step, exact, domain
    if lookup == "gt":
        return value, False, None, False, step, exact, domain
    if lookup == "gte":
        return value, True, None, False, step, exact, domain
    if lookup == "lt":
        return None, False, value, False, step, exact, domain
    if lookup == "lte":
        return None, False, value, True, step, exact, domain
    return None


def _midnight(value: Any) -> bool:
    return isinstance(value, dt.datetime) and value.time() == dt.time()


def _wall_dates(cond: Cond, value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_wall_date(v) for v in value)
    return _wall_date(value)


def _wall_date(value: Any) -> dt.date:
    # datetimes were coerced by the field's own type, so their tzinfo is the field's zone
    return value.date() if isinstance(value, dt.datetime) else value


def _merge(pushes: list[_Push]) -> tuple[dict[str, tuple[Any, list[_Push]]], bool, list[_Push]]:
    """Merge pushes per filter: tightest bound, intersected lists, equal values.

    Returns ({filter: (value, pushes)}, matches_nothing, pushes that could not be merged).
    """
    groups: dict[str, list[_Push]] = {}
    for p in pushes:
        groups.setdefault(p.filter.name, []).append(p)
    out: dict[str, tuple[Any, list[_Push]]] = {}
    empty = False
    demoted: list[_Push] = []
    for name, group in groups.items():
        how = group[0].lookup
        value = group[0].value
        kept = [group[0]]
        for p in group[1:]:
            try:
                if how == "max":
                    value = max(value, p.value)
                elif how == "min":
                    value = min(value, p.value)
                elif how == "in":
                    other = set(p.value)
                    value = tuple(v for v in value if v in other)
                    if not value:
                        empty = True
                elif _same(value, p.value):
                    pass
                elif how == "equal" and _comparable_equal(p):
                    empty = True  # two different exact values: nothing matches
                else:
                    demoted.append(p)
                    continue
            except TypeError:
                demoted.append(p)
                continue
            kept.append(p)
        out[name] = (value, kept)
    return out, empty, demoted


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except TypeError:  # pragma: no cover
        return False


def _comparable_equal(p: _Push) -> bool:
    """Two different values for an exact-match filter on a non-text field match nothing."""
    if isinstance(p.term, Cond):
        return p.term.kind not in ("str", "choice") and p.term.lookup == "exact"
    return False


# --- display -----------------------------------------------------------------------------------


def describe_value(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, tuple):
        return "[" + ", ".join(describe_value(v) for v in value) + "]"
    return str(value)
