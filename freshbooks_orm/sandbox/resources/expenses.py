"""Expenses: ``expenses/expenses``, keys ``expense`` / ``expenses``, pk ``expenseid``.

Delete: PUT ``{"expense": {"vis_state": 1}}`` (soft).  Create requires ``categoryid`` (an
expense category of the account, else 422 errno 1012), ``staffid``, ``amount`` and ``date``.
``status`` is computed from the links ([?] exact transitions): 0 internal (no client), 1
outstanding (a client, not on an invoice), 2 invoiced (``invoiceid`` set), 4 recouped (that
invoice is paid); there is no 3 and no status filter.  ``clientid`` 0 means no client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import StoreError
from .base import (
    Filter,
    Obj,
    Resource,
    between,
    boolean,
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

__all__ = ["EXPENSES", "expense_status", "new_expense"]

FIELDS: dict[str, str] = {
    "categoryid": "id",
    "staffid": "id",
    "amount": "money",
    "date": "date",
    "clientid": "id0",
    "projectid": "id0",
    "modern_projectid": "nid",
    "invoiceid": "nid",
    "vendor": "nstr",
    "notes": "nstr",
    "bank_name": "nstr",
    "accountid": "nid",
    "taxName1": "nstr",
    "taxName2": "nstr",
    "taxAmount1": "nmoney",
    "taxAmount2": "nmoney",
    "taxPercent1": "ndecimal",
    "taxPercent2": "ndecimal",
    "markup_percent": "decimal",
    **{
        k: "bool"
        for k in (
            "billable",
            "has_receipt",
            "include_receipt",
            "is_cogs",
            "isduplicate",
            "potential_bill_payment",
        )
    },
    "ext_accountid": "nid",
    "ext_invoiceid": "nid",
    "ext_systemid": "nid",
}

FILTERS = {
    "expenseid": eq("id"),
    "expenseids": one_of("id"),
    "clientid": eq("clientid"),
    "clientids": one_of("clientid"),
    "clientid_not": Filter("int", "ne", field_of("clientid")),
    "staffid": eq("staffid"),
    "staffids": one_of("staffid"),
    "profileid": eq("profileid"),
    "profileids": one_of("profileid"),
    "categoryid": eq("categoryid"),
    "categoryids": one_of("categoryid"),
    "projectid": eq("projectid"),
    "projectids": one_of("projectid"),
    "has_receipt": boolean("has_receipt"),
    **between("amount", money_of("amount"), "decimal"),
    **between("date", "date", "date"),
    **updated_between(),
    "vendor": like("vendor"),
    "vis_state": vis_state_filter(),
}


def new_expense(account_id: str) -> Obj:
    return {
        "id": 0,
        "expenseid": 0,
        "accounting_systemid": account_id,
        "categoryid": 0,
        "staffid": 1,
        "amount": {"amount": "0.00", "code": "USD"},
        "date": None,
        "clientid": 0,
        "projectid": 0,
        "modern_projectid": None,
        "invoiceid": None,
        "profileid": None,
        "vendor": "",
        "notes": "",
        "bank_name": "",
        "account_name": "",
        "accountid": None,
        "taxName1": None,
        "taxName2": None,
        "taxAmount1": None,
        "taxAmount2": None,
        "taxPercent1": None,
        "taxPercent2": None,
        "markup_percent": "0",
        "billable": False,
        "has_receipt": False,
        "include_receipt": False,
        "is_cogs": False,
        "isduplicate": False,
        "potential_bill_payment": False,
        "ext_accountid": None,
        "ext_invoiceid": None,
        "ext_systemid": None,
        "status": 0,
        "compounded_tax": False,
        "transactionid": None,
        "background_jobid": None,
        "from_bulk_import": False,
        "bill_matches": [],
        "updated": None,
        "vis_state": 0,
    }


def expense_status(store: Store, exp: Obj) -> int:
    if exp.get("invoiceid"):
        inv = store.tables["invoices"].rows.get(exp["invoiceid"])
        if inv is not None and inv["payment_status"] in ("paid", "auto-paid"):
            return 4
        return 2
    return 1 if exp.get("clientid") else 0


def _prepare(store: Store, exp: Obj, data: Any, creating: bool) -> None:
    if "categoryid" in data and exp["categoryid"] not in store.tables["expense_categories"].rows:
        raise StoreError(
            422, 1012, "categoryid", "Category not found.", exp["categoryid"], "expense"
        )
    if "clientid" in data and exp["clientid"] and exp["clientid"] not in store.customers:
        raise StoreError(422, 1012, "clientid", "Client not found.", exp["clientid"], "expense")
    for key in ("taxAmount1", "taxAmount2"):
        if isinstance(exp.get(key), dict):  # tax amounts are in the expense's currency
            exp[key] = {"amount": exp[key]["amount"], "code": exp["amount"]["code"]}


def _compute(store: Store, exp: Obj) -> None:
    exp["status"] = expense_status(store, exp)


def _decorate(store: Store, exp: Obj, out: Obj, includes: frozenset[str]) -> None:
    out["status"] = expense_status(store, exp)  # follows its invoice being paid
    if "category" in includes:
        cats = store.tables["expense_categories"]
        cat = cats.rows.get(exp["categoryid"])
        out["category"] = None if cat is None else cats.view(cat, frozenset())
    for key in ("attachment", "expense_profile", "project", "account"):
        if key in includes:
            out[key] = None


EXPENSES = Resource(
    name="expenses",
    path="expenses/expenses",
    single="expense",
    plural="expenses",
    pk="expenseid",
    noun="expense",
    template=new_expense,
    first_id=600_001,
    fields=FIELDS,
    required=("categoryid", "staffid", "amount", "date"),
    filters=FILTERS,
    includes=frozenset({"attachment", "category", "expense_profile", "project", "account"}),
    sorts={"date": field_of("date"), "amount": money_of("amount")},
    indexes=("clientid", "invoiceid", "categoryid"),
    prepare=_prepare,
    compute=_compute,
    decorate=_decorate,
)
