"""Clients (the ORM's customers): ``users/clients``, keys ``client`` / ``clients``, pk ``userid``.

Delete: PUT ``{"client": {"vis_state": 1}}`` (soft); HTTP DELETE is not documented (405).
Balance includes (``outstanding_balance``, ``draft_balance``, ``overdue_balance``,
``grand_total_balance``, ``credit_balance``) are computed from the client's invoices and credit
notes at read time, one ``{"amount": {"amount", "code"}}`` per currency ([?] shape, from the SDK
fixtures).  ``signup_date`` is UTC, ``updated`` US/Eastern.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..model import format_datetime, money, utc_now
from .base import (
    ADDRESS,
    Filter,
    Obj,
    Resource,
    eq,
    field_of,
    like,
    money_of,
    one_of,
    updated_between,
    vis_state_filter,
)

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["CLIENTS", "new_client"]

FIELDS: dict[str, str] = {
    **{k: "nstr" for k in ("fname", "lname", "organization", "email")},
    **{k: "nstr" for k in ("bus_phone", "home_phone", "mob_phone", "fax", "note")},
    **{f"p_{k}": "str" for k in ADDRESS},
    **{f"s_{k}": "str" for k in ADDRESS},
    "currency_code": "currency",
    "language": "nstr",
    "vat_name": "nstr",
    "vat_number": "nstr",
    "company_industry": "nstr",
    "company_size": "nstr",
    "pref_email": "bool",
    "pref_gmail": "bool",
    "allow_late_fees": "bool",
    "allow_late_notifications": "bool",
    "contacts": "json",
}

BALANCES = (
    "outstanding_balance",
    "credit_balance",
    "draft_balance",
    "overdue_balance",
    "grand_total_balance",
)
INCLUDES = frozenset({*BALANCES, "last_activity", "late_reminders", "late_fee"})


def _has(balance: str) -> Filter:
    """``has_credit`` etc.: computed from the client's documents, so the store is needed."""

    def get(store: Store, client: Obj) -> bool:
        return bool(balances(store, client["id"])[balance])

    return Filter("bool", "eq", lambda client: False, with_store=get)


FILTERS = {
    "address_like": like(*(f"p_{k}" for k in ADDRESS), *(f"s_{k}" for k in ADDRESS)),
    "email": eq("email", "str"),
    "fname_like": like("fname"),
    "lname_like": like("lname"),
    "note_like": like("note"),
    "organization_like": like("organization"),
    "phone_like": like("mob_phone", "home_phone", "bus_phone", "fax"),
    **updated_between(),
    "user_like": like("fname", "lname", "organization"),
    "userid": eq("id"),
    "userids": one_of("id"),
    "username": eq("username", "str"),
    "vis_state": vis_state_filter(),
    # "no input" per the docs; the sandbox reads search[has_x]=true|false (or a bare has_x).
    "has_credit": _has("credit_balance"),
    "has_draft": _has("draft_balance"),
    "has_outstanding": _has("outstanding_balance"),
    "has_overdue": _has("overdue_balance"),
}

SORTS = {
    "client_id": field_of("id"),
    "organization_name": field_of("organization"),
    "email": field_of("email"),
    "bus_phone": field_of("bus_phone"),
    "updated": field_of("updated"),
    "fullname": lambda c: f"{c.get('fname') or ''} {c.get('lname') or ''}".strip(),
    "primarycontact": field_of("email"),
}


def _balance_sort(balance: str) -> Callable[[Store, Obj], Decimal]:
    """Documented sort keys on a balance: the sum of its per-currency amounts ([?] how the
    server orders clients owing in several currencies)."""

    def get(store: Store, client: Obj) -> Decimal:
        return sum(balances(store, client["id"])[balance].values(), Decimal(0))

    return get


#: ``outstanding``, ``overdue`` and ``credit`` are documented sort keys [doc].
STORE_SORTS = {
    "outstanding": _balance_sort("outstanding_balance"),
    "overdue": _balance_sort("overdue_balance"),
    "credit": _balance_sort("credit_balance"),
}


def new_client(account_id: str) -> Obj:
    """A fresh client with every wire key at its default."""
    out: Obj = {
        "id": 0,
        "userid": 0,
        "accounting_systemid": account_id,
        "uuid": "",
        "fname": "",
        "lname": "",
        "organization": "",
        "email": "",
        "bus_phone": "",
        "home_phone": "",
        "mob_phone": "",
        "fax": "",
        "note": None,
    }
    for prefix in ("p_", "s_"):
        out.update({f"{prefix}{k}": "" for k in ADDRESS})
    out.update(
        {
            "currency_code": "USD",
            "language": "en",
            "vat_name": None,
            "vat_number": "",
            "company_industry": None,
            "company_size": None,
            "pref_email": True,
            "pref_gmail": False,
            "allow_late_fees": True,
            "allow_late_notifications": True,
            "allow_email_include_pdf": False,
            "signup_date": None,
            "updated": None,
            "last_login": None,
            "last_activity": None,
            "num_logins": 0,
            "level": 0,
            "notified": False,
            "direct_link_token": None,
            "statement_token": None,
            "subdomain": None,
            "username": "",
            "has_retainer": False,
            "retainer_id": None,
            "role": "client",
            "exceeds_client_limit": 0,
            "vis_state": 0,
        }
    )
    return out


def _prepare(store: Store, client: Obj, data: Any, creating: bool) -> None:
    if creating:
        client["signup_date"] = format_datetime(utc_now())  # UTC, unlike ``updated``
        client["username"] = f"client{client['id']}"
        if not (client.get("organization") or client.get("fname") or client.get("lname")):
            client["organization"] = client.get("email") or ""


def balances(store: Store, client_id: int) -> dict[str, dict[str, Decimal]]:
    """Per-balance, per-currency sums over the client's invoices and credit notes."""
    from .base import today_eastern

    out: dict[str, dict[str, Decimal]] = {b: {} for b in BALANCES}
    today = today_eastern().isoformat()
    invoices = store.tables["invoices"]
    for iid in invoices.ids_where("customerid", client_id):
        inv = invoices.rows[iid]
        if inv["vis_state"] == 1:
            continue
        code = inv["currency_code"]
        if inv["v3_status"] in ("draft", "created"):
            bucket = out["draft_balance"]
            bucket[code] = bucket.get(code, Decimal(0)) + money_of("amount")(inv)
            continue
        owed = money_of("outstanding")(inv)
        grand = out["grand_total_balance"]
        grand[code] = grand.get(code, Decimal(0)) + owed
        if owed > 0:
            bucket = out["outstanding_balance"]
            bucket[code] = bucket.get(code, Decimal(0)) + owed
            if inv["due_date"] and inv["due_date"] < today:
                bucket = out["overdue_balance"]
                bucket[code] = bucket.get(code, Decimal(0)) + owed
    credits = store.tables.get("credit_notes")
    if credits is not None and "clientid" in credits.index:
        for cid in credits.ids_where("clientid", client_id):
            note = credits.rows[cid]
            if note.get("vis_state") == 1:
                continue
            left = money_of("amount")(note) - money_of("paid")(note)
            if left > 0:
                code = note["currency_code"]
                bucket = out["credit_balance"]
                bucket[code] = bucket.get(code, Decimal(0)) + left
    return out


def _decorate(store: Store, client: Obj, out: Obj, includes: frozenset[str]) -> None:
    wanted = [b for b in BALANCES if b in includes]
    if wanted:
        sums = balances(store, client["id"])
        for name in wanted:
            out[name] = [
                {"amount": money(amount, code)} for code, amount in sorted(sums[name].items())
            ]
    if "last_activity" in includes:
        out["last_activity"] = client.get("updated")
    if "late_reminders" in includes:
        out["late_reminders"] = []
    if "late_fee" in includes:
        out["late_fee"] = None


CLIENTS = Resource(
    name="clients",
    path="users/clients",
    single="client",
    plural="clients",
    pk="userid",
    noun="client",
    template=new_client,
    first_id=200_001,
    fields=FIELDS,
    filters=FILTERS,
    includes=INCLUDES,
    sorts=SORTS,
    store_sorts=STORE_SORTS,
    prepare=_prepare,
    decorate=_decorate,
)
