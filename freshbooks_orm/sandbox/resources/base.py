"""The declaration format of a sandbox resource, and the value checks shared by all of them.

A resource module declares one :class:`Resource`: its path, envelope keys, primary key,
writable fields (name -> :data:`kind <coerce>`), required fields, filters, includes, sorts, an
optional nested line list, its delete style and a few hooks for computed fields.  The generic
store (:mod:`..store`) does the rest.  Plain Python and the standard library only: the sandbox
is an independent stand-in built from the evidence, not from the ORM's declarations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from ..errors import StoreError, invalid
from ..model import CENT, num_str, parse_date, parse_decimal

if TYPE_CHECKING:
    from ..store import Store

__all__ = [
    "ADDRESS",
    "MAX_AMOUNT",
    "MAX_INT",
    "NAMES",
    "Filter",
    "Lines",
    "Obj",
    "Resource",
    "as_int",
    "at_least",
    "below",
    "boolean",
    "coerce",
    "day_of",
    "eq",
    "field_of",
    "like",
    "money_of",
    "one_of",
    "require_client",
    "updated_between",
    "vis_state_filter",
]

Obj = dict[str, Any]
Getter = Callable[[Obj], Any]

#: Largest absolute amount, quantity or percentage the sandbox stores (FreshBooks stores amounts
#: as fixed-point decimals; beyond this a value is refused with 422, never overflowed).
MAX_AMOUNT = Decimal("1e12")
#: Largest integer id or count (a signed 32-bit column).
MAX_INT = 2**31 - 1
#: Largest ``due_offset_days``: a due date must stay a real date.
MAX_OFFSET_DAYS = 36_500


# --------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filter:
    """One wire filter: how its value parses (``kind``) and how it matches (``op``).

    kinds: ``int``, ``str``, ``istr`` (case-insensitive), ``like`` (lower-cased substring),
    ``date`` (``YYYY-MM-DD``), ``decimal``, ``bool``.  ops: ``eq``, ``in`` (repeated
    ``search[name][]``), ``like`` (any of the getter's strings contains the value), ``min``
    (>=), ``max`` (<), ``gt`` (>), ``ne``.  ``choices`` limits the accepted values.
    """

    kind: str
    op: str
    get: Getter
    choices: frozenset[Any] | None = None
    #: For filters computed from other resources: ``(store, obj) -> value`` replaces ``get``.
    with_store: Callable[[Store, Obj], Any] | None = None


def field_of(name: str) -> Getter:
    return lambda obj: obj.get(name)


def money_of(name: str) -> Getter:
    def get(obj: Obj) -> Decimal:
        value = obj.get(name)
        raw = value.get("amount") if isinstance(value, dict) else value
        dec = parse_decimal(raw)
        return dec if dec is not None else Decimal(0)

    return get


def day_of(name: str) -> Getter:
    return lambda obj: str(obj.get(name) or "")[:10]


def _getter(target: str | Getter) -> Getter:
    return field_of(target) if isinstance(target, str) else target


def eq(target: str | Getter, kind: str = "int", choices: Iterable[Any] | None = None) -> Filter:
    return Filter(kind, "eq", _getter(target), None if choices is None else frozenset(choices))


def one_of(target: str | Getter, kind: str = "int") -> Filter:
    return Filter(kind, "in", _getter(target))


def like(*targets: str | Getter) -> Filter:
    getters = [_getter(t) for t in targets]
    return Filter("like", "like", lambda obj: [g(obj) for g in getters])


def at_least(target: str | Getter, kind: str) -> Filter:
    return Filter(kind, "min", _getter(target))


def below(target: str | Getter, kind: str) -> Filter:
    return Filter(kind, "max", _getter(target))


def boolean(target: str | Getter) -> Filter:
    return Filter("bool", "eq", _getter(target))


def between(name: str, target: str | Getter, kind: str) -> dict[str, Filter]:
    """``<name>_min`` (>=) and ``<name>_max`` (<), FreshBooks' Between filter."""
    if kind == "date" and isinstance(target, str):
        target = day_of(target)
    return {f"{name}_min": at_least(target, kind), f"{name}_max": below(target, kind)}


def updated_between() -> dict[str, Filter]:
    """``updated_min``/``updated_max``: between on the day of ``updated``."""
    return between("updated", day_of("updated"), "date")


def vis_state_filter() -> Filter:
    """``vis_state``: 0 active, 1 deleted, 2 archived."""
    return eq("vis_state", choices=(0, 1, 2))


#: The address keys of a document (a client has them prefixed ``p_`` and ``s_``).
ADDRESS = ("street", "street2", "city", "province", "code", "country")
#: The name keys a document is addressed with, besides its address.
NAMES = ("organization", "fname", "lname", "vat_name", "vat_number")


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class Lines:
    """A nested list of line objects (invoice-line shape), shown with ``include[]=lines``."""

    backref: str
    template: Callable[[], Obj]
    lineid: bool = True
    key: str = "lines"
    include: str = "lines"
    #: Line keys answered 422 on PUT: only ``taxNumber1``/``taxNumber2`` have evidence [live].
    rejected: frozenset[str] = frozenset({"taxNumber1", "taxNumber2"})
    writable: Mapping[str, str] = field(
        default_factory=lambda: {
            "type": "line_type",
            "expenseid": "id0",
            "qty": "qty",
            "unit_cost": "money",
            "description": "str",
            "name": "str",
            "taxName1": "str",
            "taxAmount1": "percent",
            "taxName2": "str",
            "taxAmount2": "percent",
        }
    )


# --------------------------------------------------------------------------- resources

Hook = Callable[["Store", Obj], None]
WriteHook = Callable[["Store", Obj, Any, bool], None]
AfterHook = Callable[["Store", "Obj | None", "Obj | None"], None]
ViewHook = Callable[["Store", Obj, Obj, frozenset[str]], None]


def _no_hook(*_: Any) -> None:
    return None


@dataclass(frozen=True)
class Resource:
    """Everything the generic store and the route table need to serve one resource."""

    name: str  #: registry name, e.g. ``"invoices"``
    path: str  #: under ``/accounting/account/<id>/``, e.g. ``"invoices/invoices"``
    single: str  #: envelope key of one object, e.g. ``"invoice"``
    plural: str  #: envelope key of a list, e.g. ``"invoices"``
    pk: str  #: the named duplicate of ``id``, e.g. ``"invoiceid"``
    noun: str  #: the ``object`` of its error entries, e.g. ``"invoice"``
    template: Callable[[str], Obj]  #: a new object with every wire key at its default
    first_id: int
    fields: Mapping[str, str] = field(default_factory=dict)  #: writable key -> kind
    create_only: frozenset[str] = frozenset()
    #: Read-only keys whose presence in a write fails it with 403 errno 1038 [live].
    forbidden: frozenset[str] = frozenset()
    required: tuple[str, ...] = ()
    filters: Mapping[str, Filter] = field(default_factory=dict)
    includes: frozenset[str] = frozenset()
    sorts: Mapping[str, Getter] = field(default_factory=dict)  #: ``sort=<key>_asc|_desc``
    #: Sort keys computed from other resources (client balances): ``(store, obj) -> value``.
    store_sorts: Mapping[str, Callable[[Store, Obj], Any]] = field(default_factory=dict)
    lines: Lines | None = None
    vis_state: bool = True  #: soft delete / archive through ``vis_state``
    http_delete: str | None = None  #: ``"soft"`` (vis_state 1), ``"hard"`` or None (405)
    read_only: bool = False
    #: Keys set to the write time on every write (``updated``...), and on create only.
    stamp_keys: tuple[str, ...] = ("updated",)
    created_keys: tuple[str, ...] = ()
    number_key: str | None = None  #: an automatically numbered key (``invoice_number``)
    indexes: tuple[str, ...] = ()  #: fields the store keeps a value -> ids index for
    #: Other wrapper keys accepted in request bodies (the Node SDK sends ``credit_notes``).
    alias_keys: tuple[str, ...] = ()
    prepare: WriteHook = _no_hook  #: after fields and lines were applied (data, creating)
    compute: Hook = _no_hook  #: recompute the derived keys of a stored object
    after_write: AfterHook = _no_hook  #: (before, after): effects on other resources
    decorate: ViewHook = _no_hook  #: (stored, out, includes): read-time keys and includes
    states: Callable[[Store, Obj, Mapping[str, Any]], None] | None = None  #: action_* keys


# --------------------------------------------------------------------------- value checks


def as_int(value: Any) -> int | None:
    """An int from a JSON int, an integral float or a digit string (bounded), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, str):
        v = value.strip()
        if not v.lstrip("-").isdigit() or len(v) > 12:
            return None
        value = int(v)
    if isinstance(value, int) and -MAX_INT <= value <= MAX_INT:
        return value
    return None


def _decimal(key: str, value: Any, obj_noun: str, low: Decimal | None = None) -> Decimal:
    dec = parse_decimal(value)
    if dec is None or abs(dec) >= MAX_AMOUNT or (low is not None and dec < low):
        raise invalid(
            key,
            value,
            errno=1015,
            message=f"The field '{key}' must be a number below {MAX_AMOUNT:f} in size.",
            object_=obj_noun,
        )
    return dec


def coerce(kind: str, key: str, value: Any, obj: Obj, noun: str) -> Any:
    """Check one written value of ``kind`` and return what is stored; 422 when it is wrong.

    Kinds: ``str`` (None -> ""), ``nstr`` (null kept), ``id`` (positive int), ``id0`` (int >= 0),
    ``nid`` (int or null), ``int``, ``offset`` (due_offset_days), ``date``, ``ndate``,
    ``currency``, ``decimal`` / ``ndecimal`` / ``percent`` / ``qty`` (decimal strings),
    ``money`` (``{"amount", "code"}`` or a bare number, code from the object's currency),
    ``nmoney``, ``bool``, ``line_type`` (0 or 1), ``docnum`` (a document number), ``json`` (any JSON
    value), ``enum:a|b``.
    """
    if kind == "json":
        return value
    if kind in ("str", "nstr"):
        if value is None:
            return None if kind == "nstr" else ""
        if isinstance(value, (dict, list, bool)):
            raise invalid(key, value, object_=noun)
        text = value if isinstance(value, str) else str(value)
        if len(text) > 100_000:
            raise invalid(key, "...", errno=1017, message=f"{key} is too long.", object_=noun)
        return text
    if kind == "docnum":  # invoice_number, estimate_number...: a non-empty string or an int
        if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
            raise invalid(key, value, object_=noun)
        if isinstance(value, int) and as_int(value) is None:
            raise invalid(key, value, object_=noun)
        if len(str(value)) > 100:
            raise invalid(key, value, errno=1017, message=f"{key} is too long.", object_=noun)
        return str(value)
    if kind.startswith("enum:"):
        choices = kind[5:].split("|")
        if value not in choices:
            raise invalid(key, value, message=f"{key} must be one of {choices}.", object_=noun)
        return value
    if kind in ("id", "id0", "nid", "int", "offset", "line_type"):
        if value is None and kind in ("nid", "id0"):
            return None if kind == "nid" else 0
        ival = as_int(value)
        ok = ival is not None and (
            (kind == "id" and ival > 0)
            or (kind in ("id0", "nid") and ival >= 0)
            or kind == "int"
            or (kind == "offset" and 0 <= ival <= MAX_OFFSET_DAYS)
            or (kind == "line_type" and ival in (0, 1))
        )
        if not ok:
            raise invalid(key, value, errno=1015 if ival is None else 1004, object_=noun)
        return ival
    if kind in ("date", "ndate"):
        if value is None and kind == "ndate":
            return None
        d = parse_date(value)
        if d is None:
            raise invalid(
                key, value, errno=1033, message=f"Invalid date for {key}, use YYYY-MM-DD.",
                object_=noun,
            )  # fmt: skip
        return d.isoformat()
    if kind == "currency":
        if not isinstance(value, str) or len(value.strip()) != 3 or not value.strip().isalpha():
            raise invalid(key, value, object_=noun)
        return value.strip().upper()
    if kind in ("decimal", "ndecimal", "percent", "qty"):
        if value is None:
            if kind == "ndecimal":
                return None
            if kind == "percent":
                return "0"
        low = Decimal(0) if kind == "qty" else None
        return num_str(_decimal(key, value, noun, low))
    if kind in ("money", "nmoney"):
        if value is None and kind == "nmoney":
            return None
        raw = value.get("amount") if isinstance(value, dict) else value
        dec = _decimal(key, raw, noun)
        code = obj.get("currency_code") or "USD"
        if isinstance(value, dict) and isinstance(value.get("code"), str) and value["code"]:
            code = value["code"].strip().upper()
        return {"amount": str(dec.quantize(CENT, ROUND_HALF_UP)), "code": code}
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if value in (0, 1) or value in ("0", "1", "true", "false"):
            return value in (1, "1", "true")
        raise invalid(key, value, errno=1031, message=f"{key} must be a boolean.", object_=noun)
    raise AssertionError(f"unknown field kind {kind!r}")  # pragma: no cover


def today_eastern() -> dt.date:
    from ..model import eastern_now

    return eastern_now().date()


def copy_client_details(doc: Obj, client: Obj, data: Any) -> None:
    """Fill a document's name and address from its client, where the write does not give
    them (FreshBooks copies them at creation [?])."""
    for key in ("organization", "fname", "lname"):
        if key not in data:
            doc[key] = client.get(key) or ""
    for key in ADDRESS:
        if key not in data:
            doc[key] = client.get(f"p_{key}") or ""


def require_client(store: Store, customerid: Any, noun: str) -> Obj:
    """The live client a document's ``customerid`` names.

    An unknown id answers 422 errno 1012 with the envelope FreshBooks' docs give for exactly
    this case (``field`` ``userid``, ``object`` ``client``, "Client not found."); a deleted
    client answers 422 errno 1011 ("deleting a client ... blocks new invoices to it" [doc]).
    """
    client = store.customers.get(customerid)
    if client is None:
        raise StoreError(422, 1012, "userid", "Client not found.", customerid, "client")
    if client.get("vis_state") == 1:
        raise StoreError(422, 1011, "customerid", "The client is deleted.", customerid, noun)
    return client
