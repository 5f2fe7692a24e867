"""Payments: ``payments/payments``, keys ``payment`` / ``payments``, pk ``logid``.

Create requires ``invoiceid``, ``amount`` and ``date``; the invoice must exist (404 otherwise).
``clientid`` and the currency come from the invoice.  Every create, change or (soft) delete of a
payment recomputes its invoice (:func:`.invoices.refresh_paid`).  ``invoiceid`` is create-only
(moving a payment between invoices is unconfirmed; a PUT's ``invoiceid`` is ignored).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import not_found
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
from .invoices import refresh_paid

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["PAYMENTS", "PAYMENT_TYPES", "new_payment"]

#: FreshBooks' payment types (the Node SDK's ``PaymentType``); capitalisation matters.
PAYMENT_TYPES: tuple[str, ...] = (
    "Check", "Credit", "Cash", "Bank Transfer", "Credit Card", "Debit", "PayPal", "2Checkout",
    "VISA", "MASTERCARD", "DISCOVER", "AMEX", "DINERS", "JCB", "ACH", "Other",
)  # fmt: skip

FIELDS: dict[str, str] = {
    "invoiceid": "id",
    "amount": "money",
    "date": "date",
    "type": "enum:" + "|".join(PAYMENT_TYPES),
    "note": "nstr",
    "creditid": "nid",
    "from_credit": "bool",
    "send_client_notification": "bool",
    "bulk_paymentid": "nid",
    "orderid": "nid",
}


def _client_names(store: Store, pay: Obj) -> list[Any]:
    """``client_name``: the client's names, or the invoice's organization."""
    names = []
    client = store.customers.get(pay["clientid"])
    if client is not None:
        names += [client.get("fname"), client.get("lname"), client.get("organization")]
    inv = store.tables["invoices"].rows.get(pay["invoiceid"])
    if inv is not None:
        names.append(inv.get("organization"))
    return names


def _numbers(store: Store, pay: Obj) -> list[Any]:
    inv = store.tables["invoices"].rows.get(pay["invoiceid"])
    return [] if inv is None else [inv.get("invoice_number")]


FILTERS = {
    "logid": eq("id"),
    "logids": one_of("id"),
    **between("date", "date", "date"),
    **updated_between(),
    **between("amount", money_of("amount"), "decimal"),
    "type": eq("type", "str"),
    "customerid": eq("clientid"),
    "customerids": one_of("clientid"),
    "clientid": eq("clientid"),
    "clientids": one_of("clientid"),
    "currency": eq(lambda p: p["amount"]["code"], "istr"),
    "invoiceid": eq("invoiceid"),
    "notes": like("note"),
    "from_credit": boolean("from_credit"),
    "client_name": Filter("like", "like", lambda p: [], with_store=_client_names),
    "number": Filter("like", "like", lambda p: [], with_store=_numbers),
    # "invoice" returns payments, "credit" returns credits (from a credit or a credit note) [?]
    "payment_or_credit": eq(
        lambda p: "credit" if p.get("from_credit") or p.get("creditid") else "invoice", "str"
    ),
    "vis_state": vis_state_filter(),
}


def new_payment(account_id: str) -> Obj:
    return {
        "id": 0,
        "logid": 0,
        "accounting_systemid": account_id,
        "invoiceid": 0,
        "clientid": 0,
        "amount": {"amount": "0.00", "code": "USD"},
        "date": None,
        "type": "Check",
        "note": "",
        "creditid": None,
        "overpaymentid": None,
        "from_credit": False,
        "send_client_notification": None,
        "bulk_paymentid": None,
        "orderid": None,
        "gateway": None,
        "transactionid": None,
        "updated": None,
        "vis_state": 0,
    }


def _prepare(store: Store, pay: Obj, data: Any, creating: bool) -> None:
    inv = store.tables["invoices"].rows.get(pay["invoiceid"])
    if creating:
        if inv is None or inv["vis_state"] == 1:
            raise not_found("invoice", "invoiceid", pay["invoiceid"])
        pay["clientid"] = inv["customerid"]
    if inv is not None:  # a payment is in its invoice's currency
        pay["amount"] = {"amount": pay["amount"]["amount"], "code": inv["currency_code"]}


def _after(store: Store, before: Obj | None, after: Obj | None) -> None:
    for pay in (before, after):
        if pay is not None:
            refresh_paid(store, pay["invoiceid"])


def _decorate(store: Store, pay: Obj, out: Obj, includes: frozenset[str]) -> None:
    if "client" in includes:
        clients = store.tables["clients"]
        client = clients.rows.get(pay["clientid"])
        out["client"] = None if client is None else clients.view(client, frozenset())
    if "invoice" in includes:
        invoices = store.tables["invoices"]
        inv = invoices.rows.get(pay["invoiceid"])
        out["invoice"] = None if inv is None else invoices.view(inv, frozenset())
    for key in ("credit_note", "order", "gateway"):
        if key in includes:
            out[key] = None


PAYMENTS = Resource(
    name="payments",
    path="payments/payments",
    single="payment",
    plural="payments",
    pk="logid",
    noun="payment",
    template=new_payment,
    first_id=5_000_001,
    fields=FIELDS,
    create_only=frozenset({"invoiceid"}),
    required=("invoiceid", "amount", "date"),
    filters=FILTERS,
    includes=frozenset({"client", "invoice", "credit_note", "order", "gateway"}),
    sorts={"date": field_of("date"), "amount": money_of("amount"), "updated": field_of("updated")},
    indexes=("invoiceid", "clientid"),
    prepare=_prepare,
    after_write=_after,
    decorate=_decorate,
)
