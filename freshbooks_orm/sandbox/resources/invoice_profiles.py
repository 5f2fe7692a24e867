"""Recurring profiles: ``invoice_profiles/invoice_profiles``, keys ``invoice_profile`` /
``invoice_profiles``, pk ``profileid``.

Delete: PUT ``vis_state`` 1 (soft).  The client field is ``customerid`` but the filters are
``clientid``/``clientids``.  Lines have ``lineid`` and ``profileid``.  ``occurrences_to_date``
counts the invoices generated from the profile (invoices whose ``parent`` is its id [?]).
``frequency`` is free text ([?]: ``m``, ``2w``, ``1y`` are seen).  Note the hyphen in the
``late-reminders`` include.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..model import money, recompute_lines
from .base import (
    NAMES,
    Lines,
    Obj,
    Resource,
    boolean,
    eq,
    field_of,
    money_of,
    one_of,
    require_client,
    vis_state_filter,
)
from .invoices import CLIENT_COPY, new_line

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["INVOICE_PROFILES", "new_profile", "new_profile_line", "recompute_profile"]

_ADDRESS = ("street", "street2", "city", "province", "country")

FIELDS: dict[str, str] = {
    "customerid": "id",
    "create_date": "date",
    "frequency": "str",
    "numberRecurring": "id0",
    "disable": "bool",
    "send_email": "bool",
    "send_gmail": "bool",
    "auto_bill": "bool",
    "require_auto_bill": "bool",
    "bill_gateway": "nstr",
    "include_unbilled_time": "bool",
    "payment_details": "nstr",
    "terms": "nstr",
    "notes": "nstr",
    "po_number": "nstr",
    "address": "nstr",
    "discount_value": "decimal",
    "due_offset_days": "offset",
    "currency_code": "currency",
    "language": "str",
    "code": "nstr",
    **{k: "nstr" for k in _ADDRESS},
    **{k: "nstr" for k in NAMES},
}

FILTERS = {
    "profileid": eq("id"),
    "profileids": one_of("id"),
    "currency_code": eq("currency_code", "istr"),
    "clientid": eq("customerid"),
    "clientids": one_of("customerid"),
    "include_unbilled_time": boolean("include_unbilled_time"),
    "vis_state": vis_state_filter(),
}

INCLUDES = frozenset(
    {"allowed_gateways", "audit_logs", "contacts", "late_fee", "late-reminders", "lines",
     "presentation", "system", "tracking", "next_issue_date", "project_format"}
)  # fmt: skip


def new_profile_line() -> Obj:
    line = new_line()
    del line["invoiceid"]
    line["profileid"] = 0
    return line


def new_profile(account_id: str) -> Obj:
    zero = {"amount": "0.00", "code": "USD"}
    out: Obj = {
        "id": 0,
        "profileid": 0,
        "accounting_systemid": account_id,
        "ownerid": 1,
        "customerid": 0,
        "create_date": None,
        "frequency": "m",
        "numberRecurring": 0,
        "occurrences_to_date": 0,
        "disable": False,
        "send_email": True,
        "send_gmail": False,
        "auto_bill": False,
        "require_auto_bill": False,
        "bill_gateway": None,
        "include_unbilled_time": False,
        "payment_details": "",
        "terms": "",
        "notes": "",
        "po_number": None,
        "address": "",
        "discount_value": "0",
        "discount_total": dict(zero),
        "amount": dict(zero),
        "due_offset_days": 30,
        "currency_code": "USD",
        "language": "en",
        "code": "",
    }
    out.update({k: "" for k in _ADDRESS})
    out.update({"organization": "", "fname": "", "lname": "", "vat_name": None, "vat_number": ""})
    out.update(
        {
            "description": "",
            "retainer_id": None,
            "total_accrued_revenue": None,
            "ext_archive": None,
            "updated": None,
            "vis_state": 0,
            "lines": [],
        }
    )
    return out


def recompute_profile(profile: Obj) -> None:
    code = profile["currency_code"]
    for i, line in enumerate(profile["lines"], 1):
        line["taskno"] = i
    profile["amount"] = money(recompute_lines(profile["lines"], code), code)
    profile["discount_total"] = money(money_of("discount_total")(profile), code)
    profile["description"] = profile["lines"][0]["description"] if profile["lines"] else ""


def _prepare(store: Store, profile: Obj, data: Any, creating: bool) -> None:
    if "customerid" in data:
        client = require_client(store, profile["customerid"], "invoice_profile")
        for ckey, pkey in CLIENT_COPY:
            if pkey not in data and ckey in client:
                profile[pkey] = client[ckey]


def _compute(store: Store, profile: Obj) -> None:
    recompute_profile(profile)


def _decorate(store: Store, profile: Obj, out: Obj, includes: frozenset[str]) -> None:
    invoices = store.tables["invoices"]
    out["occurrences_to_date"] = len(invoices.ids_where("parent", profile["id"]))
    for key in ("allowed_gateways", "audit_logs", "contacts", "late-reminders"):
        if key in includes:
            out[key] = []
    for key in ("late_fee", "presentation", "system", "tracking", "project_format"):
        if key in includes:
            out[key] = None
    if "next_issue_date" in includes:
        out["next_issue_date"] = None


INVOICE_PROFILES = Resource(
    name="invoice_profiles",
    path="invoice_profiles/invoice_profiles",
    single="invoice_profile",
    plural="invoice_profiles",
    pk="profileid",
    noun="invoice_profile",
    template=new_profile,
    first_id=41_001,
    fields=FIELDS,
    required=("customerid", "create_date"),
    filters=FILTERS,
    includes=INCLUDES,
    sorts={"create_date": field_of("create_date")},
    lines=Lines(backref="profileid", template=new_profile_line),
    prepare=_prepare,
    compute=_compute,
    decorate=_decorate,
)
