"""Invoices: ``invoices/invoices`` (the seed doc's invoices reference, plus the corrections).

Delete: HTTP DELETE (as FreshBooks' Python, PHP and Java SDKs send it) and PUT ``vis_state`` 1
(as the Node SDK does); both are soft.  Payments recompute ``paid``, ``outstanding``,
``payment_status``, ``v3_status``, ``status`` and ``date_paid`` (see :func:`refresh_paid`), and
so does every write that changes the amount (see :func:`derive_paid_status`).  ``customerid``
must name a live client (422 errno 1012 / 1011).  ``discount_value`` is stored but does not
change ``amount`` or ``discount_total``: the evidence gives no formula (the seed doc calls it a
"decimal-string amount", the resources notes a percent, the sign of ``discount_total`` is [?]).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from ..errors import StoreError, invalid
from ..model import money, parse_date, recompute_lines
from .base import (
    ADDRESS,
    NAMES,
    Filter,
    Lines,
    Obj,
    Resource,
    between,
    boolean,
    eq,
    field_of,
    like,
    money_of,
    one_of,
    require_client,
    updated_between,
    vis_state_filter,
)

if TYPE_CHECKING:
    from ..store import Store

__all__ = [
    "ACTION_SENT_KEYS",
    "INVOICES",
    "STATUS_BY_V3",
    "V3_STATUSES",
    "StatusInfo",
    "derive_paid_status",
    "new_invoice",
    "new_line",
    "recompute_invoice",
    "refresh_paid",
]

#: Every v3 status of the seed doc's v3 table.
V3_STATUSES: tuple[str, ...] = (
    "created", "draft", "sent", "viewed", "failed", "retry", "success", "autopaid", "paid",
    "partial", "disputed", "resolved", "overdue", "deposit-partial", "deposit-paid", "declined",
    "pending",
)  # fmt: skip


class StatusInfo:
    """How one v3 status maps onto the other status-like invoice keys."""

    __slots__ = (
        "auto_bill",
        "autobill_status",
        "deposit_status",
        "display_status",
        "dispute_status",
        "last_order_status",
        "payment",
        "status",
    )

    def __init__(
        self,
        status: int,
        display_status: str,
        payment: str,
        *,
        autobill_status: str | None = None,
        dispute_status: str | None = None,
        deposit_status: str = "none",
        last_order_status: str | None = None,
    ) -> None:
        self.status = status
        self.display_status = display_status
        #: "unpaid" | "partial" | "paid" | "auto-paid": drives paid/outstanding amounts.
        self.payment = payment
        self.autobill_status = autobill_status
        self.dispute_status = dispute_status
        self.deposit_status = deposit_status
        self.last_order_status = last_order_status
        self.auto_bill = autobill_status is not None

    def apply(self, inv: dict[str, Any], v3_status: str) -> None:
        inv["status"] = self.status
        inv["v3_status"] = v3_status
        inv["display_status"] = self.display_status
        inv["payment_status"] = self.payment
        inv["autobill_status"] = self.autobill_status
        inv["dispute_status"] = self.dispute_status
        inv["deposit_status"] = self.deposit_status
        inv["last_order_status"] = self.last_order_status
        inv["auto_bill"] = self.auto_bill


STATUS_BY_V3: dict[str, StatusInfo] = {
    "created": StatusInfo(1, "created", "unpaid"),
    "draft": StatusInfo(1, "draft", "unpaid"),
    "sent": StatusInfo(2, "sent", "unpaid"),
    "viewed": StatusInfo(3, "viewed", "unpaid"),
    "failed": StatusInfo(7, "outstanding", "unpaid", autobill_status="failed"),
    "retry": StatusInfo(6, "outstanding", "unpaid", autobill_status="retry"),
    "success": StatusInfo(5, "paid", "auto-paid", autobill_status="success"),
    "autopaid": StatusInfo(5, "paid", "auto-paid", autobill_status="success"),
    "paid": StatusInfo(4, "paid", "paid"),
    "partial": StatusInfo(8, "outstanding", "partial"),
    "disputed": StatusInfo(0, "outstanding", "unpaid", dispute_status="disputed"),
    "resolved": StatusInfo(2, "sent", "unpaid", dispute_status="resolved"),
    "overdue": StatusInfo(2, "outstanding", "unpaid"),
    "deposit-partial": StatusInfo(8, "outstanding", "partial", deposit_status="partial"),
    "deposit-paid": StatusInfo(8, "outstanding", "partial", deposit_status="paid"),
    "declined": StatusInfo(2, "sent", "unpaid", last_order_status="declined"),
    "pending": StatusInfo(2, "sent", "unpaid", last_order_status="pending"),
}

#: ``action_*`` keys that move a draft invoice to "sent".
ACTION_SENT_KEYS: frozenset[str] = frozenset({"action_mark_as_sent", "action_email"})

#: Invoice keys copied from the client when ``customerid`` is set (client key -> invoice key).
CLIENT_COPY: tuple[tuple[str, str], ...] = (
    ("organization", "organization"),
    ("fname", "fname"),
    ("lname", "lname"),
    *((f"p_{k}", k) for k in ADDRESS),
)

FIELDS: dict[str, str] = {
    "invoice_number": "docnum",
    "customerid": "id",
    "create_date": "date",
    "generation_date": "ndate",
    "discount_value": "decimal",
    "discount_description": "nstr",
    "po_number": "nstr",
    "template": "str",
    "currency_code": "currency",
    "language": "str",
    "terms": "nstr",
    "notes": "nstr",
    "address": "nstr",
    "return_uri": "nstr",
    "deposit_amount": "json",
    "deposit_percentage": "ndecimal",
    "gmail": "bool",
    "show_attachments": "bool",
    "ext_archive": "id0",
    **{k: "nstr" for k in ADDRESS},
    **{k: "nstr" for k in NAMES},
    "due_offset_days": "offset",
    "ownerid": "id0",
    "estimateid": "id0",
    "basecampid": "id0",
    "sentid": "id0",
    "parent": "id0",
    "projectid": "id0",
}

INCLUDES = frozenset(
    {
        "audit_logs", "client_audits", "comments", "contacts", "direct_links", "lines", "owner",
        "latest_journal_entry", "allowed_gateways", "late_fee", "presentation",
        "late_reminders", "system",
    }
)  # fmt: skip


def _paid(inv: Obj) -> bool:
    return bool(inv["payment_status"] in ("paid", "auto-paid"))


def _has_outstanding(inv: Obj) -> bool:
    return bool(money_of("outstanding")(inv) > 0)


def _line_texts(key: str) -> Any:
    return lambda inv: [ln.get(key) for ln in inv.get("lines", ())]


FILTERS = {
    "invoiceid": eq("id"),
    "invoiceids": one_of("id"),
    "invoice_number": eq("invoice_number", "str"),
    "invoice_number_like": like("invoice_number"),
    "notes": like("notes"),
    "statusid": eq("status"),
    "statusids": one_of("status"),
    "v3_status": eq("v3_status", "str"),
    "currency_code": eq("currency_code", "istr"),
    "currency": eq("currency_code", "istr"),
    **between("date", "create_date", "date"),
    **between("total", money_of("amount"), "decimal"),
    "po_number": like("po_number"),
    "customerid": eq("customerid"),
    "customerids": one_of("customerid"),
    "parentid": eq("parent"),
    "paid": boolean(_paid),
    "outstanding": boolean(_has_outstanding),
    **updated_between(),
    "item_name": like(_line_texts("name")),
    "item_description": like(_line_texts("description")),
    "projectid": eq("projectid"),
    # "greater than" in the seed doc's filter table
    "outstanding_min": Filter("decimal", "gt", money_of("outstanding")),
    "vis_state": vis_state_filter(),
}


def new_invoice(account_id: str) -> Obj:
    """A fresh invoice with every wire key at its creation default (no id yet, no lines).

    Key order follows the seed doc's example, with the extra keys the live API sends at the end.
    Money objects are placeholders: :func:`recompute_invoice` replaces them.
    """
    zero = {"amount": "0.00", "code": "USD"}
    return {
        "status": 1, "deposit_percentage": None, "create_date": None, "outstanding": dict(zero),
        "payment_status": "unpaid", "code": "", "ownerid": 1, "vat_number": "", "id": 0,
        "gmail": False, "vat_name": "", "v3_status": "draft", "parent": 0, "country": "",
        "dispute_status": None, "lname": "", "deposit_status": "none", "estimateid": 0,
        "ext_archive": 0, "template": "clean-grouped", "basecampid": 0, "generation_date": None,
        "show_attachments": True, "vis_state": 0, "current_organization": "", "province": "",
        "due_date": None, "updated": None, "terms": "", "description": "",
        "discount_description": None, "last_order_status": None, "street2": "",
        "deposit_amount": None, "paid": dict(zero), "invoiceid": 0,
        "discount_total": dict(zero), "address": "", "invoice_number": "", "customerid": 0,
        "discount_value": "0", "accounting_systemid": account_id, "organization": "",
        "due_offset_days": 0, "language": "en", "po_number": None, "display_status": "draft",
        "notes": "", "date_paid": None, "amount": dict(zero), "street": "", "city": "",
        "currency_code": "USD", "sentid": 1, "autobill_status": None, "return_uri": None,
        "fname": "", "created_at": None, "auto_bill": False, "accountid": account_id,
        # Keys the live API sends that the seed doc does not list.
        "uuid": "", "version": None, "projectid": 0, "fulfillment_date": None,
        "payment_details": "", "net_paid_amount": {"amount": "0.000", "code": "USD"},
        "lines": [],
    }  # fmt: skip


def new_line(lineid: int = 0, invoiceid: int = 0, code: str = "USD") -> Obj:
    """A fresh invoice line with every wire key at its default (plus the live API's extras)."""
    return {
        "lineid": lineid,
        "invoiceid": invoiceid,
        "type": 0,
        "name": "",
        "description": "",
        "qty": "1",
        "unit_cost": {"amount": "0.00", "code": code},
        "amount": {"amount": "0.00", "code": code},
        "taxName1": "",
        "taxAmount1": "0",
        "taxName2": "",
        "taxAmount2": "0",
        "taxNumber1": "",
        "taxNumber2": "",
        "compounded_tax": False,
        "retainer_id": None,
        "retainer_period_id": None,
        "basecampid": 0,
        "expenseid": 0,
        "updated": None,
        # Extra line keys seen in recorded live responses.
        "taskno": 0,
        "date": None,
        "modern_project_id": None,
        "modern_time_entries": [],
    }


def net_paid(paid: Decimal, code: str) -> dict[str, str]:
    """``net_paid_amount`` as the live API writes it: more than two decimals."""
    return {"amount": str(paid.quantize(Decimal("0.001"), ROUND_HALF_UP)), "code": code}


def recompute_invoice(inv: Obj) -> None:
    """Recompute every derived key of a wire invoice (amounts, description, due date...).

    Each line's ``amount`` = qty x unit_cost; the invoice ``amount`` = sum of line amounts plus
    each line's taxes (line amount x taxAmount1/100, x taxAmount2/100, each rounded to cents);
    ``outstanding`` = amount - paid (never negative).
    """
    code = inv["currency_code"]
    for i, line in enumerate(inv["lines"], 1):
        line["taskno"] = i
    total = recompute_lines(inv["lines"], code)
    paid = money_of("paid")(inv)
    inv["amount"] = money(total, code)
    inv["paid"] = money(paid, code)
    inv["net_paid_amount"] = net_paid(paid, code)
    inv["outstanding"] = money(max(total - paid, Decimal(0)), code)
    inv["discount_total"] = money(money_of("discount_total")(inv), code)
    inv["description"] = inv["lines"][0]["description"] if inv["lines"] else ""
    inv["current_organization"] = inv["organization"]
    create = parse_date(inv["create_date"])
    if create is not None:
        offset = inv.get("due_offset_days") or 0
        inv["due_date"] = (create + dt.timedelta(days=int(offset))).isoformat()


#: The seed doc's "Writable on Create" keys a client may send: set on POST, ignored on PUT (as
#: the sandbox treats read-only keys without evidence of a refusal; see ``forbidden``).
CREATE_ONLY: frozenset[str] = frozenset(
    {"ownerid", "estimateid", "basecampid", "sentid", "status", "parent"}
)

#: Invoice status code -> its v3 status (the seed doc's status table).
V3_BY_STATUS: dict[int, str] = {
    0: "disputed", 1: "draft", 2: "sent", 3: "viewed", 4: "paid", 5: "autopaid", 6: "retry",
    7: "failed", 8: "partial",
}  # fmt: skip


def _create_status(value: Any) -> str:
    """The v3 status for a ``status`` given on create: a number of the status table
    (a non-number answers 422 errno 1015 as the live API does; an unknown code errno 1004)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise StoreError(
            422, 1015, "status", "The field 'status' must be a number.", value, "invoice"
        )
    if value not in V3_BY_STATUS:
        raise invalid("status", value, object_="invoice")
    return V3_BY_STATUS[value]


def _prepare(store: Store, inv: Obj, data: Any, creating: bool) -> None:
    if creating:
        v3 = _create_status(data["status"]) if "status" in data else "draft"
        STATUS_BY_V3[v3].apply(inv, v3)
    if "customerid" in data:
        client = require_client(store, inv["customerid"], "invoice")
        for ckey, ikey in CLIENT_COPY:
            if ikey not in data and ckey in client:
                inv[ikey] = client[ckey]


def _compute(store: Store, inv: Obj) -> None:
    recompute_invoice(inv)
    derive_paid_status(store, inv)


def _latest_payment_date(store: Store, invoice_id: Any) -> str | None:
    payments = store.tables["payments"]
    dates = [
        payments.rows[pid]["date"]
        for pid in payments.ids_where("invoiceid", invoice_id)
        if payments.rows[pid].get("vis_state") != 1 and payments.rows[pid].get("date")
    ]
    return max(dates, default=None)


def derive_paid_status(store: Store, inv: Obj, last_date: str | None = None) -> None:
    """Re-derive the payment keys of a recomputed invoice from ``paid`` vs ``amount``.

    Fully paid -> v3 ``paid`` (status 4; an auto-paid invoice stays auto-paid; ``date_paid``
    = the latest active payment's date); partly paid -> ``partial`` (status 8, no
    ``date_paid``); nothing paid -> an invoice that was paid or partial goes back to ``sent``
    (status 2), an unpaid one keeps its draft/sent/viewed/disputed... status.  Runs on every
    recompute, so editing the lines of a paid invoice re-opens it, and lowering a partial
    invoice's total to what was paid settles it.
    """
    paid = money_of("paid")(inv)
    total = money_of("amount")(inv)
    if paid <= 0:
        if inv["payment_status"] != "unpaid":
            STATUS_BY_V3["sent"].apply(inv, "sent")
        inv["date_paid"] = None
    elif paid >= total:
        if not _paid(inv):
            STATUS_BY_V3["paid"].apply(inv, "paid")
        if last_date is None:
            last_date = _latest_payment_date(store, inv["id"])
        inv["date_paid"] = last_date or inv.get("date_paid")
    else:
        if inv["payment_status"] != "partial":  # deposit-partial/-paid stay as they are
            STATUS_BY_V3["partial"].apply(inv, "partial")
        inv["date_paid"] = None


def _states(store: Store, inv: Obj, trap: Mapping[str, Any]) -> None:
    if any(trap.get(k) for k in ACTION_SENT_KEYS) and inv["status"] == 1:
        STATUS_BY_V3["sent"].apply(inv, "sent")


def _decorate(store: Store, inv: Obj, out: Obj, includes: frozenset[str]) -> None:
    """Plausible small values for the non-line includes."""
    if not includes or includes == {"lines"}:
        return
    iid = inv["id"]
    account = store.account_id
    if "owner" in includes:
        out["owner"] = {
            "userid": 1,
            "first_name": "Sandy",
            "last_name": "Box",
            "email": "owner@sandbox.invalid",
        }
    if "presentation" in includes:
        out["presentation"] = {
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
        base = f"https://my.freshbooks.com/#/invoice/{account}-{iid}"
        out["links"] = {"client_view": base, "edit": f"{base}/edit", "view": base}
    if "allowed_gateways" in includes:
        out["allowed_gateways"] = []
        out["allowed_gatewayids"] = []
    for key in ("contacts", "late_reminders", "audit_logs", "client_audits", "comments"):
        if key in includes:
            out[key] = []
    if "late_fee" in includes:
        out["late_fee"] = None
    if "latest_journal_entry" in includes:
        out["latest_journal_entry"] = None
    if "system" in includes:
        out["system"] = {"id": 1, "name": "Sandbox Co.", "accountid": account}


def _rebill_expenses(store: Store, before: Obj | None, after: Obj | None) -> None:
    """A line with ``expenseid`` rebills that expense: its ``invoiceid`` becomes this invoice
    (FreshBooks documents the rebilling; the exact transitions are [?]).  Unknown expense ids
    are left alone."""
    if after is None:
        return
    expenses = store.tables["expenses"]
    for line in after.get("lines", ()):
        xid = line.get("expenseid")
        exp = expenses.rows.get(xid) if xid else None
        if exp is not None and exp.get("invoiceid") != after["id"]:
            updated = dict(exp, invoiceid=after["id"])
            expenses.touch(updated, exp.get("updated"))
            expenses.compute_and_put(updated)


def refresh_paid(store: Store, invoice_id: Any) -> None:
    """Recompute an invoice's payment keys from its active payments.

    ``paid`` = sum of the invoice's payments that are not deleted; ``outstanding`` = amount -
    paid; fully paid -> v3 ``paid`` (status 4, ``date_paid`` = the latest payment's date, an
    auto-paid invoice stays auto-paid); partly paid -> ``partial`` (status 8); nothing paid
    any more -> ``sent`` (status 2).  An overpayment leaves ``outstanding`` at 0; the sandbox
    does not create an overpayment credit (FreshBooks' mechanism for that is unconfirmed).
    """
    invoices = store.tables["invoices"]
    old = invoices.rows.get(invoice_id)
    if old is None:
        return
    payments = store.tables["payments"]
    paid = Decimal(0)
    last_date = None
    for pid in payments.ids_where("invoiceid", invoice_id):
        pay = payments.rows[pid]
        if pay.get("vis_state") == 1:
            continue
        paid += money_of("amount")(pay)
        if last_date is None or pay["date"] > last_date:
            last_date = pay["date"]
    if money_of("paid")(old) == paid and (paid > 0) == (old["payment_status"] != "unpaid"):
        return
    inv = dict(old)
    inv["paid"] = money(paid, inv["currency_code"])
    inv["lines"] = [dict(ln) for ln in old["lines"]]
    recompute_invoice(inv)
    derive_paid_status(store, inv, last_date)
    invoices.touch(inv, old["updated"])
    invoices.put(inv)


INVOICES = Resource(
    name="invoices",
    path="invoices/invoices",
    single="invoice",
    plural="invoices",
    pk="invoiceid",
    noun="invoice",
    template=new_invoice,
    first_id=1_000_001,
    fields=FIELDS,
    create_only=CREATE_ONLY,
    required=("customerid", "create_date"),
    # due_date is computed (create_date + due_offset_days); writing it gave 403 errno 1038 [live]
    forbidden=frozenset({"due_date"}),
    filters=FILTERS,
    includes=INCLUDES,
    sorts={"invoice_date": field_of("create_date")},
    lines=Lines(backref="invoiceid", template=new_line),
    http_delete="soft",
    stamp_keys=("updated", "version"),
    created_keys=("created_at",),
    number_key="invoice_number",
    indexes=("customerid", "estimateid", "parent"),
    prepare=_prepare,
    compute=_compute,
    decorate=_decorate,
    states=_states,
    after_write=_rebill_expenses,
)
