"""Invoices and their lines: declarations from FreshBooks' invoices API reference.

Field kinds follow the reference's three tables (computed, writable on create, writable).
``email`` is not in those tables but appears in every documented create request, so it is
declared create-only.  ``vis_state`` is a state field: ``delete()``, ``restore()`` and
``archive()`` change it, alone, because FreshBooks drops every other key of a PUT carrying it.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from ..orm.model import Model, computed, create_only, nested, resource, state, writable
from ..orm.query import (
    EqualsFilter,
    ResourceSpec,
    SearchBoolFilter,
    encode_choice,
    encode_currency,
    encode_enum,
)
from ..orm.query import encode_decimal as dec
from ..orm.query import encode_int as int_
from ..orm.relations import ToMany, ToOne
from ..orm.types import (
    BOOL,
    CURRENCY,
    DATE,
    DECIMAL,
    DECIMAL_STRING,
    EASTERN_DATETIME,
    INT,
    MONEY,
    STR,
    ChoiceType,
    EnumType,
    IntType,
    Money,
)
from .common import (
    VIS_STATE,
    VisState,
    date_range,
    decimal_range,
    id_filters,
    notes_filter,
    number_filters,
    range_lookups,
    status_filters,
    updated_filters,
    vis_state_filter,
)

if TYPE_CHECKING:
    from .customers import Customer
    from .payments import Payment

__all__ = ["V3_STATUSES", "Invoice", "InvoiceLine", "InvoiceStatus", "VisState"]


class InvoiceStatus(enum.IntEnum):
    """The ``status`` codes of the reference's Invoice Statuses table."""

    DISPUTED = 0
    DRAFT = 1
    SENT = 2
    VIEWED = 3
    PAID = 4
    AUTO_PAID = 5
    RETRY = 6
    FAILED = 7
    PARTIAL = 8


#: The reference's v3 status table, in its order.
V3_STATUSES = (
    "created", "draft", "sent", "viewed", "failed", "retry", "success", "autopaid", "paid",
    "partial", "disputed", "resolved", "overdue", "deposit-partial", "deposit-paid", "declined",
    "pending",
)  # fmt: skip

INCLUDES = (
    "audit_logs", "client_audits", "comments", "contacts", "direct_links", "lines", "owner",
    "latest_journal_entry", "allowed_gateways", "late_fee", "presentation", "late_reminders",
    "system",
)  # fmt: skip

_STATUS = EnumType(InvoiceStatus)
_status = encode_enum(_STATUS)

INVOICE_FILTERS = {
    f.name: f
    for f in (
        *id_filters("invoiceid"),
        *number_filters("invoice"),
        notes_filter(),
        *status_filters(_status),
        EqualsFilter("v3_status", encode_choice(V3_STATUSES)),
        EqualsFilter("currency_code", encode_currency),
        EqualsFilter("currency", means="currency_code"),
        *date_range("date", "create_date"),
        *decimal_range("total", "amount"),
        EqualsFilter("po_number", doc="po_number contains"),
        *id_filters("customerid"),
        EqualsFilter("parentid", int_),
        # encoding unconfirmed: sent as search[paid]=true (the accounting reference's form);
        # the rows are verified against the outstanding amount either way
        SearchBoolFilter("paid", doc="nothing outstanding", means="outstanding__lte=0"),
        SearchBoolFilter("outstanding", doc="an amount outstanding", means="outstanding__gt=0"),
        *updated_filters(),
        EqualsFilter("item_name", doc="a line name contains", means="lines__name__icontains"),
        EqualsFilter(
            "item_description",
            doc="a line description contains",
            means="lines__description__icontains",
        ),
        EqualsFilter("projectid", int_),
        EqualsFilter(
            "outstanding_min", dec, doc="outstanding amount > value", means="outstanding__gt"
        ),
        vis_state_filter(),
    )
}

INVOICE_LOOKUPS = {
    "invoice_number__contains": "invoice_number_like",
    "notes__contains": "notes",
    "po_number__contains": "po_number",
    "status": "statusid",
    "status__in": "statusids",
    "customerid__in": "customerids",
    "parent": "parentid",
    **range_lookups("create_date", "date"),
    **range_lookups("amount", "total"),
}

#: What a table of invoices shows (``freshbooks-orm invoices list``).
INVOICE_COLUMNS = (
    "id", "invoice_number", "customerid", "organization", "create_date", "v3_status", "amount",
    "outstanding", "po_number",
)  # fmt: skip

INVOICE_SPEC = ResourceSpec(
    name="Invoice",
    path="invoices/invoices",
    single_key="invoice",
    list_key="invoices",
    filters=INVOICE_FILTERS,
    lookups=INVOICE_LOOKUPS,
    includes=INCLUDES,
    sorts={"create_date": "invoice_date_asc", "-create_date": "invoice_date_desc"},
)


@resource(
    pk="lineid",
    repr_fields=("lineid", "name", "qty", "unit_cost", "amount"),
    columns=("lineid", "name", "description", "qty", "unit_cost", "amount"),
)
class InvoiceLine(Model):
    """One line of an invoice. ``amount`` and ``updated`` are computed by FreshBooks."""

    lineid: int | None = computed(INT)
    amount: Money | None = computed(MONEY)
    updated: dt.datetime | None = computed(EASTERN_DATETIME)
    type: int | None = writable(INT)
    expenseid: int | None = writable(INT)
    qty: Decimal | None = writable(DECIMAL)
    unit_cost: Money | None = writable(MONEY)
    description: str | None = writable(STR)
    name: str | None = writable(STR)
    taxName1: str | None = writable(STR)
    taxAmount1: Decimal | None = writable(DECIMAL)
    taxName2: str | None = writable(STR)
    taxAmount2: Decimal | None = writable(DECIMAL)

    def to_nested_payload(self) -> dict[str, Any]:
        payload = super().to_nested_payload()
        if self.type != 1:
            payload.pop("expenseid", None)  # "required when type is 1, otherwise excluded"
        return payload


@resource(
    INVOICE_SPEC,
    name="invoices",
    pk="id",
    pk_filter="invoiceid",
    pk_in_filter="invoiceids",
    concurrency="updated",
    repr_fields=("id", "invoice_number", "v3_status", "amount"),
    columns=INVOICE_COLUMNS,
)
class Invoice(Model):
    """A FreshBooks invoice. ``Invoice.objects`` is its queryset.

    Relations: ``invoice.customer`` (the ``Customer`` named by ``customerid``, one GET on first
    access, then cached) and ``invoice.payments`` (a queryset of its payments).
    """

    customer: ClassVar[ToOne[Customer]] = ToOne("customers", "customerid", embedded=None)
    payments: ClassVar[ToMany[Payment]] = ToMany("payments", "invoiceid")

    # computed (read only)
    invoiceid: int | None = computed(INT)
    id: int | None = computed(INT)
    accounting_systemid: str | None = computed(STR)
    accountid: str | None = computed(STR)
    amount: Money | None = computed(MONEY)
    paid: Money | None = computed(MONEY)
    outstanding: Money | None = computed(MONEY)
    discount_total: Money | None = computed(MONEY)
    description: str | None = computed(STR)
    current_organization: str | None = computed(STR)
    due_date: dt.date | None = computed(DATE)
    date_paid: dt.date | None = computed(DATE)
    # not in the field tables, but the filter table's ``projectid`` filter matches this field;
    # declared (read-only) so that the filter can be verified on the rows it returns
    projectid: int | None = computed(INT)
    # writable on create
    ownerid: int | None = create_only(INT)
    estimateid: int | None = create_only(INT)
    basecampid: int | None = create_only(INT)
    sentid: int | None = create_only(INT)
    status: InvoiceStatus | None = create_only(_STATUS)
    parent: int | None = create_only(INT)
    created_at: dt.datetime | None = create_only(EASTERN_DATETIME)
    updated: dt.datetime | None = create_only(EASTERN_DATETIME)
    display_status: str | None = create_only(STR)
    autobill_status: str | None = create_only(STR)
    payment_status: str | None = create_only(STR)
    last_order_status: str | None = create_only(STR)
    dispute_status: str | None = create_only(STR)
    deposit_status: str | None = create_only(STR)
    auto_bill: bool | None = create_only(BOOL)
    v3_status: str | None = create_only(ChoiceType(V3_STATUSES, "v3 status"))
    email: str | None = create_only(STR)
    # writable
    invoice_number: str | None = writable(STR)
    customerid: int | None = writable(INT)
    create_date: dt.date | None = writable(DATE)
    generation_date: dt.date | None = writable(DATE)
    discount_value: Decimal | None = writable(DECIMAL_STRING)
    discount_description: str | None = writable(STR)
    po_number: str | None = writable(STR)
    template: str | None = writable(STR)
    currency_code: str | None = writable(CURRENCY)
    language: str | None = writable(STR)
    terms: str | None = writable(STR)
    notes: str | None = writable(STR)
    address: str | None = writable(STR)
    return_uri: str | None = writable(STR)
    deposit_amount: Money | None = writable(MONEY)
    deposit_percentage: Decimal | None = writable(DECIMAL_STRING)
    gmail: bool | None = writable(BOOL)
    show_attachments: bool | None = writable(BOOL)
    ext_archive: int | None = writable(INT)
    street: str | None = writable(STR)
    street2: str | None = writable(STR)
    city: str | None = writable(STR)
    province: str | None = writable(STR)
    code: str | None = writable(STR)
    country: str | None = writable(STR)
    organization: str | None = writable(STR)
    fname: str | None = writable(STR)
    lname: str | None = writable(STR)
    vat_name: str | None = writable(STR)
    vat_number: str | None = writable(STR)
    # [?] no documented maximum; a due date must stay a date, so at most 100 years ahead.
    due_offset_days: int | None = writable(IntType(0, 36500))
    lines: list[InvoiceLine] = nested(InvoiceLine, include="lines")
    # state: changed only by delete(), restore(), archive()
    vis_state: VisState | None = state(VIS_STATE)
