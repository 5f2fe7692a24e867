"""Payments against invoices (``payments/payments``).

Declarations from the Payments section of ``freshbooks-resources.md``.  Choices where the
reference is unsure ([?]):

* ``invoiceid`` is create-only: the Node SDK's update drops it and moving a payment between
  invoices is undocumented.
* ``type`` accepts the Node SDK's ``PaymentType`` values only (capitalisation matters; the
  Classic ``NOVA``/``EUROCARD`` are not sent); any value the server sends is read as is.
* ``bulk_paymentid`` and ``orderid`` are writable as the PHP SDK has them; sent only when set.
* No sort is declared: none is documented for payments, and FreshBooks ignores unknown ones.
* ``vis_state`` is filterable as on every accounting list (``fb:/api/active_deleted``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar

from ..orm.model import Model, computed, create_only, resource, state, writable
from ..orm.query import (
    EqualsFilter,
    InFilter,
    ResourceSpec,
    SearchBoolFilter,
    encode_choice,
    encode_currency,
)
from ..orm.query import encode_int as int_
from ..orm.relations import ToOne
from ..orm.types import BOOL, DATE, EASTERN_DATETIME, INT, MONEY, STR, ChoiceType, Money
from .common import (
    ANY,
    VIS_STATE,
    VisState,
    date_range,
    decimal_range,
    id_filters,
    range_lookups,
    updated_filters,
    vis_state_filter,
)

if TYPE_CHECKING:
    from .customers import Customer
    from .invoices import Invoice

__all__ = ["PAYMENT_SPEC", "PAYMENT_TYPES", "Payment"]

#: The Node SDK's ``PaymentType`` members, in its order.
PAYMENT_TYPES = (
    "Check", "Credit", "Cash", "Bank Transfer", "Credit Card", "Debit", "PayPal", "2Checkout",
    "VISA", "MASTERCARD", "DISCOVER", "AMEX", "DINERS", "JCB", "ACH", "Other",
)  # fmt: skip

PAYMENT_FILTERS = {
    f.name: f
    for f in (
        *id_filters("logid"),
        *date_range("date", "date"),
        *updated_filters(),
        *decimal_range("amount", "amount"),
        EqualsFilter("type", encode_choice(PAYMENT_TYPES)),
        EqualsFilter("customerid", int_, means="clientid"),
        InFilter("customerids", int_, means="clientid__in"),
        *id_filters("clientid"),
        EqualsFilter("currency", encode_currency, doc="currency_code"),
        EqualsFilter("invoiceid", int_),
        EqualsFilter("notes", doc="note contains"),
        SearchBoolFilter("from_credit"),
        EqualsFilter("client_name", doc="client or invoice/credit organization contains"),
        EqualsFilter("number", doc="invoice or credit number contains"),
        EqualsFilter("payment_or_credit", encode_choice(("invoice", "credit"))),
        vis_state_filter(),
    )
}

PAYMENT_LOOKUPS = {
    **range_lookups("date", "date"),
    **range_lookups("amount", "amount"),
    "customerid__in": "customerids",
    "clientid__in": "clientids",
    "currency_code": "currency",
    "note__contains": "notes",
}

PAYMENT_SPEC = ResourceSpec(
    name="Payment",
    path="payments/payments",
    single_key="payment",
    list_key="payments",
    filters=PAYMENT_FILTERS,
    lookups=PAYMENT_LOOKUPS,
    includes=("client", "invoice", "credit_note", "order", "gateway"),
)


@resource(
    PAYMENT_SPEC,
    name="payments",
    pk="id",
    pk_filter="logid",
    pk_in_filter="logids",
    concurrency="updated",
    repr_fields=("id", "invoiceid", "amount", "date", "type"),
    columns=("id", "invoiceid", "clientid", "date", "type", "amount", "note"),
)
class Payment(Model):
    """A payment against an invoice. Its id filters are ``logid``/``logids``.

    Relations: ``payment.invoice`` and ``payment.customer`` (one GET each on first access,
    none when the list was fetched with ``include("invoice")``/``include("client")``).
    """

    invoice: ClassVar[ToOne[Invoice]] = ToOne("invoices", "invoiceid", embedded="invoice")
    customer: ClassVar[ToOne[Customer]] = ToOne("customers", "clientid", embedded="client")

    # computed (read only)
    id: int | None = computed(INT)
    logid: int | None = computed(INT)
    accounting_systemid: str | None = computed(STR)
    clientid: int | None = computed(INT)
    overpaymentid: int | None = computed(INT)
    # a name such as "stripe" [doc]; with include("gateway") the related object may arrive under
    # this key (where it lands is unconfirmed), so it is kept as sent, whatever its shape
    gateway: str | dict[str, Any] | None = computed(ANY)
    transactionid: int | None = computed(INT)
    updated: dt.datetime | None = computed(EASTERN_DATETIME)
    # writable on create
    invoiceid: int | None = create_only(INT)
    # writable
    amount: Money | None = writable(MONEY)
    date: dt.date | None = writable(DATE)
    type: str | None = writable(ChoiceType(PAYMENT_TYPES, "payment type"))
    note: str | None = writable(STR)
    creditid: int | None = writable(INT)
    from_credit: bool | None = writable(BOOL)
    send_client_notification: bool | None = writable(BOOL)
    bulk_paymentid: int | None = writable(INT)
    orderid: int | None = writable(INT)
    # state: changed only by delete(), restore(), archive()
    vis_state: VisState | None = state(VIS_STATE)
