"""Django's filter language over declared fields: ``Q`` objects, lookups, and local evaluation.

Pure: nothing here does I/O.  A ``Q`` is what a user writes; ``resolve()`` turns it into a
tree of conditions against one model's declared fields (``Cond``), documented API filters used
by their wire name (``Wire``), and the ``And``/``Or``/``Not`` that combine them.  Every
condition can be evaluated on an object (``matches``), which is how the planner's local
residual and the verification of the server's answers work.

Lookups: ``exact``, ``iexact``, ``gt``, ``gte``, ``lt``, ``lte``, ``in``, ``range``, ``isnull``,
``contains``, ``icontains``, ``startswith``, ``istartswith``, ``endswith``, ``iendswith``; the
transforms ``year``, ``month`` and ``day`` on dates and datetimes (``create_date__year__gte``).
Comparisons are typed: dates as dates, enums by value or name, money by amount (a bare number
compares the amount in the row's own currency; a ``Money`` value refuses rows of another
currency with ``MixedCurrencyError``).  A list field (``lines``) matches when any of its items
matches: ``lines__name__icontains="design"``.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, NoReturn

import attrs

from ..errors import InvalidFilterValue, MixedCurrencyError, UnknownFilterError, closest
from .types import ChoiceType, EnumType, Money, ValueType, to_date, to_decimal, to_int

__all__ = [
    "LOOKUPS",
    "TRANSFORMS",
    "And",
    "Cond",
    "Node",
    "Not",
    "Nothing",
    "Or",
    "Q",
    "Some",
    "Wire",
    "field_kind",
    "matches",
]

#: Every lookup a field takes, in Django's names.
LOOKUPS = (
    "exact", "iexact", "gt", "gte", "lt", "lte", "in", "range", "isnull", "contains",
    "icontains", "startswith", "istartswith", "endswith", "iendswith",
)  # fmt: skip
TRANSFORMS = ("year", "month", "day", "date")
TEXT_LOOKUPS = frozenset(
    {"iexact", "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"}
)
#: The case-insensitive lookups (``in`` and ``isnull`` start with an "i" too, but are not).
FOLDING_LOOKUPS = frozenset({"iexact", "icontains", "istartswith", "iendswith"})
ORDER_LOOKUPS = frozenset({"gt", "gte", "lt", "lte", "range"})


# --- what users write ------------------------------------------------------------------------


class Q:
    """A filter condition that combines with ``&``, ``|`` and ``~``, as in Django.

    >>> q = Q(v3_status="sent") | Q(amount__gt=1000)
    >>> ~q
    <Q: NOT (OR: ('v3_status', 'sent'), ('amount__gt', 1000))>
    """

    AND = "AND"
    OR = "OR"

    def __init__(self, *args: Q, _connector: str = "AND", _negated: bool = False, **kwargs: Any):
        for arg in args:
            if not isinstance(arg, Q):
                raise TypeError(f"Q() takes Q objects and keyword lookups, got {arg!r}")
        self.children: tuple[Q | tuple[str, Any], ...] = (*args, *kwargs.items())
        self.connector = _connector
        self.negated = _negated

    def _combine(self, other: object, connector: str) -> Q:
        if not isinstance(other, Q):
            raise TypeError(f"a Q combines with another Q, not {other!r}")
        if not other.children:
            return self._copy()
        if not self.children:
            return other._copy()
        return Q(self, other, _connector=connector)

    def _copy(self) -> Q:
        q = Q(_connector=self.connector, _negated=self.negated)
        q.children = self.children
        return q

    def __and__(self, other: object) -> Q:
        return self._combine(other, self.AND)

    def __or__(self, other: object) -> Q:
        return self._combine(other, self.OR)

    def __invert__(self) -> Q:
        q = self._copy()
        q.negated = not self.negated
        return q

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Q) and (self.children, self.connector, self.negated) == (
            other.children,
            other.connector,
            other.negated,
        )

    def __hash__(self) -> int:
        return hash((self.connector, self.negated, repr(self.children)))

    def __repr__(self) -> str:
        inner = ", ".join(repr(c) for c in self.children)
        text = f"({self.connector}: {inner})" if len(self.children) != 1 else inner
        return f"<Q: {'NOT ' if self.negated else ''}{text}>"

    def __getstate__(self) -> dict[str, Any]:
        return {"children": self.children, "connector": self.connector, "negated": self.negated}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


# --- resolved conditions -----------------------------------------------------------------------


class Node:
    """A resolved condition tree node."""

    def describe(self) -> str:
        raise NotImplementedError


@attrs.frozen
class Cond(Node):
    """``<field>[__<transform>]__<lookup>=<value>`` on one declared field (or on a list's items).

    ``field`` is the model attribute; ``item_field`` the attribute of each item when ``field``
    is a list (``lines``); ``kind`` the comparison kind of the compared field (see
    ``field_kind``); ``value`` is already coerced to that kind.
    """

    key: str
    field: str
    wire: str
    kind: str
    lookup: str
    value: Any
    transform: str | None = None
    item_field: str | None = None

    def describe(self) -> str:
        path = "__".join(p for p in (self.field, self.item_field, self.transform) if p)
        return f"{path}__{self.lookup}={_show(self.value)}"


@attrs.frozen
class Wire(Node):
    """A documented API filter used by its wire name (``date_min="2024-01-01"``).

    ``meaning`` is what the filter checks, as a condition on the row (None when the
    declarations do not say); it verifies the server's rows and evaluates the filter locally.
    """

    name: str
    value: Any
    meaning: Node | None

    def describe(self) -> str:
        return f"{self.name}={_show(self.value)}"


@attrs.frozen
class And(Node):
    children: tuple[Node, ...]

    def describe(self) -> str:
        return " AND ".join(_paren(c) for c in self.children) or "everything"


@attrs.frozen
class Or(Node):
    children: tuple[Node, ...]

    def describe(self) -> str:
        return " OR ".join(_paren(c) for c in self.children) or "nothing"


@attrs.frozen
class Not(Node):
    child: Node

    def describe(self) -> str:
        return f"NOT {_paren(self.child)}"


@attrs.frozen
class Some(Node):
    """One item of the list ``field`` satisfies every condition of ``child`` on its items.

    Django's rule for a multi-valued relation: the conditions on it inside one ``filter()``
    call must hold for the *same* item (``filter(lines__name="Travel", lines__qty=5)``: a line
    named Travel whose qty is 5), while separate ``filter()`` calls, and negations (which
    Django evaluates as subqueries), may each match a different item.  A row with no items is
    checked against one empty item (as Django's outer join): only ``__isnull=True`` holds.
    """

    field: str
    child: Node

    def describe(self) -> str:
        return f"one {self.field} item: {_paren(self.child)}"


@attrs.frozen
class Nothing(Node):
    """Matches no row (``none()``, ``id__in=[]``): no request is sent."""

    def describe(self) -> str:
        return "nothing"


def _paren(node: Node) -> str:
    text = node.describe()
    return f"({text})" if isinstance(node, (And, Or)) and len(node.children) > 1 else text


def _show(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, (dt.date, Decimal)):
        return str(value)
    if isinstance(value, Money):
        return f"Money({value.amount} {value.code})"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value)


def conjuncts(node: Node) -> list[Node]:
    """The top-level AND terms of ``node`` (flattened)."""
    if isinstance(node, And):
        out: list[Node] = []
        for child in node.children:
            out.extend(conjuncts(child))
        return out
    return [node]


def and_of(nodes: Iterable[Node]) -> Node:
    items = [n for n in nodes]
    if any(isinstance(n, Nothing) for n in items):
        return Nothing()
    flat: list[Node] = []
    for n in items:
        flat.extend(conjuncts(n))
    return flat[0] if len(flat) == 1 else And(tuple(flat))


# --- field kinds and value coercion --------------------------------------------------------------


def field_kind(type_: ValueType[Any]) -> str:
    """The comparison kind of a declared value type.

    One of ``str``, ``choice``, ``int``, ``decimal``, ``bool``, ``date``, ``datetime``,
    ``money``, ``enum``, ``list`` or ``value`` (anything else: exact/in/isnull only).
    """
    if isinstance(type_, EnumType):
        return "enum"
    if isinstance(type_, ChoiceType):
        return "choice"
    if getattr(type_, "list_cls", None) is not None:
        return "list"
    name = str(getattr(type_, "name", "")).lower()
    if name.startswith("datetime"):
        return "datetime"
    return {
        "str": "str",
        "int": "int",
        "decimal": "decimal",
        "bool": "bool",
        "date": "date",
        "money": "money",
    }.get(name, "value")


def lookups_for(kind: str) -> tuple[str, ...]:
    """The lookups a field of ``kind`` takes."""
    if kind in ("str", "choice"):
        return LOOKUPS
    if kind in ("bool", "value"):
        return ("exact", "in", "isnull")
    return tuple(x for x in LOOKUPS if x not in TEXT_LOOKUPS)


def coerce_value(kind: str, type_: ValueType[Any], lookup: str, value: Any, key: str) -> Any:
    """Coerce a user value for ``lookup`` on a field of ``kind``; raise InvalidFilterValue."""
    try:
        if lookup == "isnull":
            if not isinstance(value, bool):
                raise ValueError(f"isnull takes True or False, got {value!r}")
            return value
        if lookup == "in":
            if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
                raise ValueError(f"expected a list of values, got {value!r}")
            return tuple(dict.fromkeys(coerce_one(kind, type_, "exact", v) for v in value))
        if lookup == "range":
            if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
                raise ValueError(f"expected (low, high), got {value!r}")
            pair = tuple(value)
            if len(pair) != 2:
                raise ValueError(f"expected (low, high), got {value!r}")
            return tuple(coerce_one(kind, type_, "gte", v) for v in pair)
        return coerce_one(kind, type_, lookup, value)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InvalidFilterValue):
            raise
        raise InvalidFilterValue(f"bad value for {key!r}: {exc}") from None


def coerce_one(kind: str, type_: ValueType[Any], lookup: str, value: Any) -> Any:
    if value is None:
        raise ValueError("None is not a value to compare with; use __isnull=True")
    if lookup in TEXT_LOOKUPS:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {value!r}")
        return value
    if kind == "int" and isinstance(value, str) and not value.strip().lstrip("-").isdigit():
        raise ValueError(f"expected an integer, got {value!r}")
    if kind == "year" or kind == "month" or kind == "day":
        return to_int(value)  # 2024 or "2024"; never a float truncated (2024.5)
    if kind == "decimal":
        return to_decimal(value)
    if kind == "money":
        if isinstance(value, Money):
            return value
        if isinstance(value, Mapping):
            return type_.coerce(value)
        return to_decimal(value)
    if kind == "date":
        return to_date(value)
    if kind == "datetime":
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            value = dt.datetime.combine(value, dt.time())
        value = type_.coerce(value)
        # in the field's own zone (its wall time is what the API compares by day)
        return type_.parse(type_.to_wire(value))
    if kind == "str":
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {value!r}")
        return value
    return type_.coerce(value)


# --- evaluation ----------------------------------------------------------------------------------


def matches(node: Node, obj: Any, *, lenient: bool = False) -> bool:
    """Whether ``obj`` satisfies ``node``.

    ``lenient`` compares text case-insensitively: it is how a server filter is verified, since
    whether FreshBooks' equals and "like" filters ignore case is not documented.
    """
    return _match(node, obj, lenient, _UNBOUND)


_UNBOUND: Mapping[str, Any] = {}
_EMPTY_ITEM = object()  # the item a row with no items is checked against (see ``Some``)


def _match(node: Node, obj: Any, lenient: bool, bound: Mapping[str, Any]) -> bool:
    """``matches``, with ``bound``: list field -> the one item its conditions are checked on."""
    if isinstance(node, Cond):
        return _match_cond(node, obj, lenient, bound)
    if isinstance(node, And):
        return all(_match(c, obj, lenient, bound) for c in node.children)
    if isinstance(node, Or):
        return any(_match(c, obj, lenient, bound) for c in node.children)
    if isinstance(node, Not):  # a negation speaks of every item (Django: a subquery)
        return not _match(node.child, obj, lenient, _UNBOUND)
    if isinstance(node, Some):
        items = list(getattr(obj, node.field) or ()) or [_EMPTY_ITEM]
        return any(_match(node.child, obj, lenient, {**bound, node.field: item}) for item in items)
    if isinstance(node, Wire):
        if node.meaning is None:
            raise InvalidFilterValue(
                f"filter {node.name!r} cannot be evaluated locally: the declarations do not say "
                "what it checks; use it only as a plain filter() argument"
            )
        return _match(node.meaning, obj, True, _UNBOUND)  # the API's filter: any item
    if isinstance(node, Nothing):
        return False
    raise TypeError(f"not a condition: {node!r}")  # pragma: no cover


def _match_cond(cond: Cond, obj: Any, lenient: bool, bound: Mapping[str, Any]) -> bool:
    if cond.item_field is not None and cond.field in bound:
        item = bound[cond.field]
        if item is _EMPTY_ITEM:
            return cond.lookup == "isnull" and bool(cond.value)
        return _compare(cond, getattr(item, cond.item_field), lenient)
    value = getattr(obj, cond.field)
    if cond.item_field is not None:
        items = value or ()
        if cond.lookup == "isnull" and not items:
            return bool(cond.value)
        return any(_compare(cond, getattr(item, cond.item_field), lenient) for item in items)
    return _compare(cond, value, lenient)


def compare(cond: Cond, value: Any, *, lenient: bool = False) -> bool:
    """Whether a field value (not a row) satisfies ``cond``: ``matches`` on one value."""
    return _compare(cond, value, lenient)


def _compare(cond: Cond, value: Any, lenient: bool) -> bool:
    lookup, target = cond.lookup, cond.value
    if cond.transform is not None and value is not None:
        value = value.date() if cond.transform == "date" else getattr(value, cond.transform)
    if lookup == "isnull":
        return (value is None) is target
    if value is None:
        return False
    if cond.kind == "money" and cond.transform is None:
        value = _amount(value, target, cond)
        if isinstance(target, Money):
            target = target.amount
        elif isinstance(target, tuple):
            target = tuple(t.amount if isinstance(t, Money) else t for t in target)
    if isinstance(value, str) and lookup in TEXT_LOOKUPS | {"exact", "in"}:
        return _text(lookup, value, target, lenient)
    return _ORDER[lookup](value, target)


def _amount(value: Any, target: Any, cond: Cond) -> Any:
    if not isinstance(value, Money):
        return value
    targets = target if isinstance(target, tuple) else (target,)
    for t in targets:
        if isinstance(t, Money) and t.code.upper() != value.code.upper():
            raise MixedCurrencyError(
                f"{cond.describe()} compares {t.code} with a {value.code} amount; money is "
                f"compared within one currency (filter by currency_code too, or give a bare "
                f"number to compare amounts in each row's own currency)"
            )
    return value.amount


def _text(lookup: str, value: str, target: Any, lenient: bool) -> bool:
    fold = lenient or lookup in FOLDING_LOOKUPS
    if fold:
        value = value.casefold()
        target = (
            tuple(str(t).casefold() for t in target)
            if isinstance(target, tuple)
            else str(target).casefold()
        )
    base = lookup[1:] if lookup in FOLDING_LOOKUPS else lookup
    if lenient and base in ("startswith", "endswith"):
        base = "contains"
    if base == "exact":
        return bool(value == target)
    if base == "in":
        return value in target
    if base == "contains":
        return target in value
    if base == "startswith":
        return value.startswith(target)
    if base == "endswith":
        return value.endswith(target)
    return _ORDER[lookup](value, target)


def _range(value: Any, bounds: tuple[Any, Any]) -> bool:
    return bool(bounds[0] <= value <= bounds[1])


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "exact": lambda v, t: bool(v == t),
    "in": lambda v, t: v in t,
    "gt": lambda v, t: bool(v > t),
    "gte": lambda v, t: bool(v >= t),
    "lt": lambda v, t: bool(v < t),
    "lte": lambda v, t: bool(v <= t),
    "range": _range,
}


def unknown(
    what: str, key: str, valid: Iterable[str], why: str = "", label: str = "Valid"
) -> NoReturn:
    """Raise ``UnknownFilterError`` for ``key``, naming the closest valid name and all of them."""
    choices = sorted(set(valid))
    hint = closest(key, choices)
    did_you_mean = f" Did you mean {hint!r}?" if hint else ""
    raise UnknownFilterError(f"{what} {key!r}{why}.{did_you_mean} {label}: {', '.join(choices)}.")
