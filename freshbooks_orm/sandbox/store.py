"""The sandbox's state and API semantics, without any HTTP.

A :class:`Store` holds the invoices of one accounting account in wire format and implements
listing (filters, sort, paging, includes), create, update (with the vis_state trap and the
line-replacement rules) and soft delete.  Every failure is a :class:`StoreError` that knows its
HTTP status and FreshBooks error envelope.

Invariant: a stored invoice dict is never mutated in place; every write builds a new dict and
swaps it in under the lock, so readers may serialise references they took under the lock
after releasing it.
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
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .model import (
    ACTION_SENT_KEYS,
    CENT,
    INVOICE_WRITABLE_KEYS,
    LINE_READ_ONLY_KEYS,
    LINE_WRITABLE_KEYS,
    STATUS_BY_V3,
    eastern_now,
    format_datetime,
    new_invoice,
    new_line,
    num_str,
    parse_date,
    parse_datetime,
    parse_decimal,
    recompute_invoice,
)

__all__ = [
    "DEFAULT_PER_PAGE",
    "FILTER_NAMES",
    "KNOWN_INCLUDES",
    "MAX_PER_PAGE",
    "ListQuery",
    "Store",
    "StoreError",
    "parse_includes",
    "parse_list_query",
]

DEFAULT_PER_PAGE = 15
MAX_PER_PAGE = 100

#: Includes of the seed doc's includes table.
KNOWN_INCLUDES: frozenset[str] = frozenset(
    {
        "audit_logs",
        "client_audits",
        "comments",
        "contacts",
        "direct_links",
        "lines",
        "owner",
        "latest_journal_entry",
        "allowed_gateways",
        "late_fee",
        "presentation",
        "late_reminders",
        "system",
    }
)

SORTS: frozenset[str] = frozenset({"invoice_date_asc", "invoice_date_desc"})

Predicate = Callable[[dict[str, Any]], bool]
FilterValue = int | str | bool | Decimal | dt.date | tuple[Any, ...]


class StoreError(Exception):
    """An API error: HTTP status plus one FreshBooks error entry."""

    def __init__(
        self,
        status: int,
        errno: int,
        field: str | None,
        message: str,
        value: Any = None,
        object_: str | None = "invoice",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errno = errno
        self.field = field
        self.message = message
        self.value = None if value is None else str(value)
        self.object = object_

    def envelope(self) -> dict[str, Any]:
        return {
            "response": {
                "errors": [
                    {
                        "errno": self.errno,
                        "field": self.field,
                        "message": self.message,
                        "object": self.object,
                        "value": self.value,
                    }
                ]
            }
        }


def not_found(what: str, field: str, value: Any) -> StoreError:
    return StoreError(404, 1012, field, f"{what.capitalize()} not found.", value, what)


def _invalid(field: str, value: Any, status: int = 422, message: str | None = None) -> StoreError:
    return StoreError(status, 1004, field, message or f"Invalid value for field {field}.", value)


# --------------------------------------------------------------------------- list queries


def _parse_int(value: str) -> int | None:
    v = value.strip()
    if v.lstrip("-").isdigit():
        return int(v)
    return None


def _parse_bool(value: str) -> bool | None:
    v = value.strip().lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    return None


# name -> (kind, normalised name).  Kinds: int, ints (in-list), str, like, date, decimal, bool.
_FILTER_KINDS: dict[str, tuple[str, str]] = {
    "invoiceid": ("int", "invoiceid"),
    "invoiceids": ("ints", "invoiceids"),
    "invoice_number": ("str", "invoice_number"),
    "invoice_number_like": ("like", "invoice_number_like"),
    "notes": ("like", "notes"),
    "statusid": ("int", "statusid"),
    "statusids": ("ints", "statusids"),
    "v3_status": ("str", "v3_status"),
    "currency_code": ("str", "currency_code"),
    "currency": ("str", "currency_code"),
    "date_min": ("date", "date_min"),
    "date_max": ("date", "date_max"),
    "total_min": ("decimal", "total_min"),
    "total_max": ("decimal", "total_max"),
    "po_number": ("like", "po_number"),
    "customerid": ("int", "customerid"),
    "customerids": ("ints", "customerids"),
    "parentid": ("int", "parentid"),
    "paid": ("bool", "paid"),
    "outstanding": ("bool", "outstanding"),
    "updated_min": ("date", "updated_min"),
    "updated_max": ("date", "updated_max"),
    "item_name": ("like", "item_name"),
    "item_description": ("like", "item_description"),
    "projectid": ("int", "projectid"),
    "outstanding_min": ("decimal", "outstanding_min"),
    "vis_state": ("int", "vis_state"),
}

#: Every wire filter name the store understands (for ``Sandbox(ignore_filters=...)``).
FILTER_NAMES: frozenset[str] = frozenset(_FILTER_KINDS)

#: Top-level (non ``search[...]``) boolean filters, as FreshBooks' own SDK sends them.
_TOP_LEVEL_BOOLS: frozenset[str] = frozenset({"paid", "outstanding"})


@dataclass(frozen=True)
class ListQuery:
    """A validated list request."""

    filters: tuple[tuple[str, FilterValue], ...]
    sort: str | None
    page: int
    per_page: int
    includes: frozenset[str]


def parse_includes(pairs: Iterable[tuple[str, str]]) -> frozenset[str]:
    """Known ``include[]`` values (unknown ones are ignored, as the server does)."""
    return frozenset(v for k, v in pairs if k in ("include[]", "include") and v in KNOWN_INCLUDES)


def _normalise_filter(name: str, raw: list[str]) -> tuple[str, FilterValue]:
    kind, norm = _FILTER_KINDS[name]
    field = name
    if kind == "ints":
        ints: list[int] = []
        for v in raw:
            i = _parse_int(v)
            if i is None:
                raise _invalid(field, v, 400)
            ints.append(i)
        return norm, tuple(ints)
    value = raw[-1]
    if kind == "int":
        i = _parse_int(value)
        if i is None or (name == "vis_state" and i not in (0, 1, 2)):
            raise _invalid(field, value, 400)
        return norm, i
    if kind == "str":
        return norm, value
    if kind == "like":
        return norm, value.lower()
    if kind == "date":
        d = parse_date(value.strip())
        if d is None:
            raise _invalid(field, value, 400, f"Invalid date for {field}, expected YYYY-MM-DD.")
        return norm, d
    if kind == "decimal":
        dec = parse_decimal(value)
        if dec is None:
            raise _invalid(field, value, 400, f"Invalid number for {field}.")
        return norm, dec
    b = _parse_bool(value)
    if b is None:
        raise _invalid(field, value, 400, f"Invalid boolean for {field}.")
    return norm, b


def parse_list_query(
    pairs: Sequence[tuple[str, str]], ignore: Container[str] = frozenset()
) -> ListQuery:
    """Validate a list request's query pairs (in order, repeats kept).

    Raises :class:`StoreError` (400) for malformed filter values, ``page`` or ``per_page``.
    Unknown ``search[...]`` keys, unknown sorts and unknown includes are ignored, and so are
    the filters named in ``ignore`` (wire filter names), as if the server did not know them.
    """
    raw: dict[str, list[str]] = {}
    top_bools: dict[str, list[str]] = {}
    page, per_page, sort = 1, DEFAULT_PER_PAGE, None
    for key, value in pairs:
        if key.startswith("search[") and "]" in key:
            name = key[len("search[") : key.index("]")]
            if name not in _FILTER_KINDS or name in ignore:
                continue
            is_list = key.endswith("[]")
            if _FILTER_KINDS[name][0] == "ints":
                raw.setdefault(name, []).append(value)
            elif is_list:
                raw[name] = [value]
            else:
                raw[name] = [value]
        elif key in _TOP_LEVEL_BOOLS:
            if key in ignore:
                continue
            top_bools[key] = [value]
        elif key == "page":
            p = _parse_int(value)
            if p is None or p < 1:
                raise StoreError(400, 1014, "page", "Invalid page number.", value)
            page = p
        elif key == "per_page":
            pp = _parse_int(value)
            if pp is None or pp < 1:
                raise StoreError(400, 1013, "per_page", "Invalid per_page value.", value)
            per_page = min(pp, MAX_PER_PAGE)
        elif key == "sort" and value in SORTS:
            sort = value
    for name, values in top_bools.items():
        raw.setdefault(name, values)
    normalised: dict[str, FilterValue] = {}
    for name, values in raw.items():
        norm, val = _normalise_filter(name, values)
        normalised[norm] = val
    return ListQuery(
        filters=tuple(sorted(normalised.items(), key=lambda kv: kv[0])),
        sort=sort,
        page=page,
        per_page=per_page,
        includes=parse_includes(pairs),
    )


def _amount(inv: dict[str, Any], key: str) -> Decimal:
    return Decimal(inv[key]["amount"])


def _contains(value: Any, needle: str) -> bool:
    return isinstance(value, str) and needle in value.lower()


def _predicate(name: str, value: Any) -> Predicate:
    if name == "invoiceid":
        return lambda inv: inv["id"] == value
    if name in ("invoiceids", "statusids", "customerids"):
        key = {"invoiceids": "id", "statusids": "status", "customerids": "customerid"}[name]
        members = frozenset(value)
        return lambda inv: inv[key] in members
    if name == "invoice_number":
        return lambda inv: inv["invoice_number"] == value
    if name in ("invoice_number_like", "notes", "po_number"):
        key = "invoice_number" if name == "invoice_number_like" else name
        return lambda inv: _contains(inv[key], value)
    if name == "statusid":
        return lambda inv: inv["status"] == value
    if name == "v3_status":
        return lambda inv: inv["v3_status"] == value
    if name == "currency_code":
        upper = str(value).upper()
        return lambda inv: str(inv["currency_code"]).upper() == upper
    if name in ("date_min", "date_max"):
        iso = value.isoformat()
        if name == "date_min":
            return lambda inv: inv["create_date"] >= iso
        return lambda inv: inv["create_date"] < iso
    if name == "total_min":
        return lambda inv: _amount(inv, "amount") >= value
    if name == "total_max":
        return lambda inv: _amount(inv, "amount") < value
    if name == "outstanding_min":
        return lambda inv: _amount(inv, "outstanding") > value
    if name in ("customerid", "projectid", "vis_state"):
        return lambda inv: inv[name] == value
    if name == "parentid":
        return lambda inv: inv["parent"] == value
    if name == "paid":
        return lambda inv: (inv["payment_status"] in ("paid", "auto-paid")) == value
    if name == "outstanding":
        return lambda inv: (_amount(inv, "outstanding") > 0) == value
    if name in ("updated_min", "updated_max"):
        iso = value.isoformat()
        if name == "updated_min":
            return lambda inv: inv["updated"][:10] >= iso
        return lambda inv: inv["updated"][:10] < iso
    if name in ("item_name", "item_description"):
        key = "name" if name == "item_name" else "description"
        return lambda inv: any(_contains(line[key], value) for line in inv["lines"])
    raise AssertionError(f"unhandled filter {name}")  # pragma: no cover


# --------------------------------------------------------------------------- the store


class Store:
    """The invoices of one accounting account, with the API's semantics."""

    def __init__(self, account_id: str, customers: Mapping[int, dict[str, Any]] | None = None):
        self.account_id = account_id
        self.customers: dict[int, dict[str, Any]] = dict(customers or {})
        self.lock = threading.RLock()
        self._invoices: dict[int, dict[str, Any]] = {}
        self._next_lineid: dict[int, int] = {}
        self._next_id = 1_000_001
        self._next_number = 1
        self._list_cache: dict[tuple[Any, ...], list[int]] = {}
        self.version = 0

    # ------------------------------------------------------------------ loading / reading

    def load(self, invoices: Iterable[dict[str, Any]]) -> None:
        """Bulk-add ready-made wire invoices (used by the seeder). Ids must be set."""
        with self.lock:
            for inv in invoices:
                self._invoices[inv["id"]] = inv
                self._next_id = max(self._next_id, inv["id"] + 1)
                num = inv["invoice_number"]
                if num.isdigit():
                    self._next_number = max(self._next_number, int(num) + 1)
            self._changed()

    def __len__(self) -> int:
        return len(self._invoices)

    def snapshot(self) -> dict[int, dict[str, Any]]:
        """Deep copies of every invoice (with lines), by id."""
        with self.lock:
            items = list(self._invoices.items())
        return {k: copy.deepcopy(v) for k, v in items}

    def get(self, invoice_id: int) -> dict[str, Any]:
        """A deep copy of one stored invoice (with lines); :class:`StoreError` 404 if unknown."""
        with self.lock:
            inv = self._require(invoice_id)
        return copy.deepcopy(inv)

    def render(self, invoice_id: int, includes: frozenset[str]) -> dict[str, Any]:
        """The wire view of one invoice for the given includes (shares nested objects)."""
        with self.lock:
            inv = self._require(invoice_id)
        return self._view(inv, includes)

    def _require(self, invoice_id: int) -> dict[str, Any]:
        inv = self._invoices.get(invoice_id)
        if inv is None:
            raise not_found("invoice", "invoiceid", invoice_id)
        return inv

    def _view(self, inv: dict[str, Any], includes: frozenset[str]) -> dict[str, Any]:
        out = dict(inv) if "lines" in includes else {k: v for k, v in inv.items() if k != "lines"}
        if len(includes) > ("lines" in includes):
            out.update(self._extras(inv, includes))
        return out

    def _extras(self, inv: dict[str, Any], includes: frozenset[str]) -> dict[str, Any]:
        """Plausible small values for the non-line includes."""
        extra: dict[str, Any] = {}
        iid = inv["id"]
        if "owner" in includes:
            extra["owner"] = {
                "userid": 1,
                "first_name": "Sandy",
                "last_name": "Box",
                "email": "owner@sandbox.invalid",
            }
        if "presentation" in includes:
            extra["presentation"] = {
                "id": iid,
                "theme_font_name": "modern",
                "theme_layout": "simple",
                "theme_primary_color": "#345beb",
                "date_format": "mm/dd/yyyy",
                "image_logo_src": None,
                "image_banner_src": None,
                "image_banner_position_y": 0,
            }
        if "direct_links" in includes:
            base = f"https://my.freshbooks.com/#/invoice/{self.account_id}-{iid}"
            extra["links"] = {"client_view": base, "edit": f"{base}/edit", "view": base}
        if "allowed_gateways" in includes:
            extra["allowed_gateways"] = []
            extra["allowed_gatewayids"] = []
        if "contacts" in includes:
            extra["contacts"] = []
        if "late_fee" in includes:
            extra["late_fee"] = None
        if "late_reminders" in includes:
            extra["late_reminders"] = []
        for key in ("audit_logs", "client_audits", "comments"):
            if key in includes:
                extra[key] = []
        if "latest_journal_entry" in includes:
            extra["latest_journal_entry"] = None
        if "system" in includes:
            extra["system"] = {"id": 1, "name": "Sandbox Co.", "accountid": self.account_id}
        return extra

    # ------------------------------------------------------------------ listing

    def matching_ids(self, filters: tuple[tuple[str, Any], ...], sort: str | None) -> list[int]:
        """Ids matching ``filters`` in response order; cached per (query, store version)."""
        key = (filters, sort)
        with self.lock:
            cached = self._list_cache.get(key)
            if cached is not None:
                return cached
            preds = [_predicate(name, value) for name, value in filters]
            if not any(name == "vis_state" for name, _ in filters):
                preds.insert(0, lambda inv: inv["vis_state"] != 1)
            invs: Iterable[dict[str, Any]] = self._invoices.values()
            if preds:
                invs = [inv for inv in invs if all(p(inv) for p in preds)]
            if sort is None:
                ids = sorted((inv["id"] for inv in invs), reverse=True)
            else:
                rows = sorted((inv["create_date"], inv["id"]) for inv in invs)
                if sort == "invoice_date_desc":
                    rows.reverse()
                ids = [iid for _, iid in rows]
            if len(self._list_cache) >= 256:
                self._list_cache.clear()
            self._list_cache[key] = ids
            return ids

    def list_result(self, query: ListQuery) -> dict[str, Any]:
        """The ``result`` object of a list response."""
        ids = self.matching_ids(query.filters, query.sort)
        total = len(ids)
        start = (query.page - 1) * query.per_page
        with self.lock:
            page_invs = [self._invoices[i] for i in ids[start : start + query.per_page]]
        pages = -(-total // query.per_page)
        return {
            "invoices": [self._view(inv, query.includes) for inv in page_invs],
            "page": query.page,
            "pages": pages,
            "per_page": query.per_page,
            "total": total,
        }

    # ------------------------------------------------------------------ writes

    def _changed(self) -> None:
        self.version += 1
        self._list_cache.clear()

    def _touch(self, inv: dict[str, Any], previous: str | None) -> str:
        """Set ``updated``/``version`` to now, strictly after ``previous``."""
        now = eastern_now()
        if previous:
            prev = parse_datetime(previous)
            if now <= prev:
                now = prev + dt.timedelta(seconds=1)
        stamp = format_datetime(now)
        inv["updated"] = stamp
        inv["version"] = stamp
        return stamp

    def create(self, data: Any) -> dict[str, Any]:
        """Create an invoice from a POST body's ``invoice`` object; return the stored dict."""
        if not isinstance(data, dict):
            raise StoreError(422, 1001, "invoice", "An invoice object is required.")
        for required in ("customerid", "create_date"):
            if data.get(required) in (None, ""):
                raise StoreError(422, 1001, required, f"Field {required} is required.")
        with self.lock:
            inv = new_invoice(self.account_id)
            iid = self._next_id
            inv["id"] = inv["invoiceid"] = iid
            inv["uuid"] = str(uuid_mod.uuid4())
            self._apply_fields(inv, data, creating=True)
            next_lineid = itertools.count(1)
            if "lines" in data:
                inv["lines"] = self._build_lines(inv, {}, data["lines"], next_lineid, put=False)
            if not inv["invoice_number"]:
                inv["invoice_number"] = f"{self._next_number:07d}"
                self._next_number += 1
            elif str(inv["invoice_number"]).isdigit():
                self._next_number = max(self._next_number, int(inv["invoice_number"]) + 1)
            STATUS_BY_V3["draft"].apply(inv, "draft")
            stamp = self._touch(inv, None)
            inv["created_at"] = stamp
            for line in inv["lines"]:
                line["updated"] = stamp
            recompute_invoice(inv)
            self._next_id += 1
            self._next_lineid[iid] = next(next_lineid)
            self._invoices[iid] = inv
            self._changed()
            return inv

    def update(self, invoice_id: int, data: Any) -> dict[str, Any] | None:
        """Apply a PUT body's ``invoice`` object.

        Returns the updated stored dict, or None when the vis_state trap fired (the caller
        then answers ``{"response": {}}``).  Validation errors leave the invoice unchanged.
        """
        if not isinstance(data, dict):
            raise StoreError(422, 1001, "invoice", "An invoice object is required.")
        with self.lock:
            old = self._require(invoice_id)
            trap = [
                k for k in data if k in ("vis_state", "ext_vis_state") or k.startswith("action_")
            ]
            if trap:
                self._apply_trap(old, {k: data[k] for k in trap})
                return None
            inv = copy.deepcopy(old)
            self._apply_fields(inv, data, creating=False)
            stamp_lines = False
            if "lines" in data:
                old_lines = {line["lineid"]: line for line in old["lines"]}
                start = self._next_lineid.get(invoice_id)
                if start is None:
                    start = max(old_lines, default=0) + 1
                counter = itertools.count(start)
                inv["lines"] = self._build_lines(inv, old_lines, data["lines"], counter, put=True)
                next_lineid = next(counter)
                stamp_lines = True
            stamp = self._touch(inv, old["updated"])
            if stamp_lines:
                for line in inv["lines"]:
                    line["updated"] = stamp
                self._next_lineid[invoice_id] = next_lineid
            recompute_invoice(inv)
            self._invoices[invoice_id] = inv
            self._changed()
            return inv

    def delete(self, invoice_id: int) -> None:
        """Soft delete (vis_state 1), as HTTP DELETE does."""
        with self.lock:
            old = self._require(invoice_id)
            self._apply_trap(old, {"vis_state": 1})

    def _apply_trap(self, old: dict[str, Any], trap: dict[str, Any]) -> None:
        """vis_state / ext_vis_state / action_* — everything else in the body is dropped."""
        inv = dict(old)
        for key in ("vis_state", "ext_vis_state"):
            if key in trap:
                vis = trap[key]
                if isinstance(vis, str) and vis.strip().isdigit():
                    vis = int(vis)
                if isinstance(vis, bool) or vis not in (0, 1, 2):
                    raise _invalid(key, trap[key])
                inv["vis_state"] = vis
                inv["ext_archive"] = 1 if vis == 2 else 0
        if any(trap.get(k) for k in ACTION_SENT_KEYS) and inv["status"] == 1:
            STATUS_BY_V3["sent"].apply(inv, "sent")
        self._touch(inv, old["updated"])
        self._invoices[inv["id"]] = inv
        self._changed()

    def _apply_fields(self, inv: dict[str, Any], data: dict[str, Any], creating: bool) -> None:
        """Validate and apply the writable keys of ``data``; ignore every other key."""
        for key, value in data.items():
            if key not in INVOICE_WRITABLE_KEYS and key != "projectid":
                continue
            if key in (
                "customerid",
                "ownerid",
                "estimateid",
                "basecampid",
                "sentid",
                "parent",
                "projectid",
                "due_offset_days",
                "ext_archive",
            ):
                ival = _as_int(value)
                if ival is None or ival < 0 or (key == "customerid" and ival == 0):
                    raise _invalid(key, value)
                inv[key] = ival
            elif key in ("create_date", "generation_date"):
                if value is None and key == "generation_date":
                    inv[key] = None
                    continue
                d = parse_date(value)
                if d is None:
                    raise _invalid(key, value, message=f"Invalid date for {key}, use YYYY-MM-DD.")
                inv[key] = d.isoformat()
            elif key == "currency_code":
                if not isinstance(value, str) or len(value.strip()) != 3:
                    raise _invalid(key, value)
                inv[key] = value.strip().upper()
            elif key == "invoice_number":
                if not isinstance(value, (str, int)) or isinstance(value, bool) or value == "":
                    raise _invalid(key, value)
                inv[key] = str(value)
            elif key == "discount_value":
                dec = parse_decimal(value)
                if dec is None:
                    raise _invalid(key, value)
                inv[key] = num_str(dec)
            else:
                inv[key] = value
        if "customerid" in data:
            customer = self.customers.get(inv["customerid"])
            if customer is not None:
                for ckey in (
                    "organization",
                    "fname",
                    "lname",
                    "street",
                    "street2",
                    "city",
                    "province",
                    "code",
                    "country",
                ):
                    if ckey not in data and ckey in customer:
                        inv[ckey] = customer[ckey]

    def _build_lines(
        self,
        inv: dict[str, Any],
        old_lines: dict[int, dict[str, Any]],
        given: Any,
        next_lineid: Iterable[int],
        put: bool,
    ) -> list[dict[str, Any]]:
        if not isinstance(given, list):
            raise _invalid("lines", given, message="lines must be a list.")
        ids = iter(next_lineid)
        out: list[dict[str, Any]] = []
        seen: set[int] = set()
        code = inv["currency_code"]
        for i, raw in enumerate(given):
            where = f"lines[{i}]"
            if not isinstance(raw, dict):
                raise _invalid(where, raw, message="Each line must be an object.")
            if put:
                for ro in LINE_READ_ONLY_KEYS:
                    if ro in raw:
                        raise _invalid(f"{where}.{ro}", raw[ro], message=f"{ro} is read-only.")
            lineid = raw.get("lineid") if put else None
            if lineid is not None:
                lid = _as_int(lineid)
                if lid is None or lid not in old_lines:
                    raise StoreError(422, 1012, "lineid", "Line not found.", lineid, "line")
                if lid in seen:
                    raise _invalid("lineid", lineid, message="Duplicate lineid.")
                seen.add(lid)
                line = copy.deepcopy(old_lines[lid])
            else:
                line = new_line(next(ids), inv["id"], code)
            for key, value in raw.items():
                if key in LINE_WRITABLE_KEYS:
                    _apply_line_key(line, key, value, where, code)
            out.append(line)
        return out


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return _parse_int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _apply_line_key(line: dict[str, Any], key: str, value: Any, where: str, code: str) -> None:
    if key in ("qty", "taxAmount1", "taxAmount2"):
        if value is None and key != "qty":
            line[key] = "0"
            return
        dec = parse_decimal(value)
        if dec is None or (key == "qty" and dec < 0):
            raise _invalid(f"{where}.{key}", value)
        line[key] = num_str(dec)
    elif key == "unit_cost":
        raw = value.get("amount") if isinstance(value, dict) else value
        dec = parse_decimal(raw)
        if dec is None:
            raise _invalid(f"{where}.unit_cost", value)
        line["unit_cost"] = {"amount": str(dec.quantize(CENT, ROUND_HALF_UP)), "code": code}
    elif key in ("type", "expenseid"):
        ival = _as_int(value) if value is not None else 0
        if ival is None or (key == "type" and ival not in (0, 1)):
            raise _invalid(f"{where}.{key}", value)
        line[key] = ival
    else:
        line[key] = "" if value is None else str(value)


def dumps(obj: Any) -> bytes:
    """Compact JSON bytes, as the API sends."""
    return json.dumps(obj, separators=(",", ":")).encode()
