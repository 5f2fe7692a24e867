"""Recurring profiles (``invoice_profiles/invoice_profiles``) and their lines.

Declarations from the Recurring profiles section of ``freshbooks-resources.md``.  Choices
where the reference is unsure ([?]):

* ``frequency`` is a free string (``m``, ``2w``, ``1y`` are observed; the full code list is
  unknown), ``numberRecurring`` keeps its camelCase wire name.
* ``auto_bill`` is read-only (the doc transcription lists it as computed); ``disable``,
  ``send_email``, ``send_gmail``, ``require_auto_bill``, ``bill_gateway`` and
  ``include_unbilled_time`` are writable as a third-party fixture writes them (sent only when
  set).  ``retainer_id``, ``total_accrued_revenue`` and ``ext_archive`` are read-only.
* The customer filter is ``clientid``/``clientids`` although the field is ``customerid``; the
  lookups ``customerid`` and ``customerid__in`` map to them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from ..orm.model import Model, computed, nested, resource, state, writable
from ..orm.query import EqualsFilter, InFilter, ResourceSpec, SearchBoolFilter, encode_currency
from ..orm.query import encode_int as int_
from ..orm.relations import ToOne
from ..orm.types import (
    BOOL,
    CURRENCY,
    DATE,
    DECIMAL_STRING,
    EASTERN_DATETIME,
    INT,
    MONEY,
    STR,
    Money,
)
from .common import ANY, VIS_STATE, VisState, id_filters, vis_state_filter
from .lines import DocumentLine

if TYPE_CHECKING:
    from .customers import Customer

__all__ = ["RECURRING_PROFILE_SPEC", "RecurringProfile", "RecurringProfileLine"]

RECURRING_PROFILE_FILTERS = {
    f.name: f
    for f in (
        *id_filters("profileid"),
        EqualsFilter("currency_code", encode_currency),
        EqualsFilter("clientid", int_, doc="customerid equals"),
        InFilter("clientids", int_, doc="customerid in"),
        SearchBoolFilter("include_unbilled_time"),
        vis_state_filter(),
    )
}

RECURRING_PROFILE_LOOKUPS = {
    "customerid": "clientid",
    "customerid__in": "clientids",
}

RECURRING_PROFILE_INCLUDES = (
    "allowed_gateways", "audit_logs", "contacts", "late_fee", "late-reminders", "lines",
    "presentation", "system", "tracking", "next_issue_date", "project_format",
)  # fmt: skip

RECURRING_PROFILE_SPEC = ResourceSpec(
    name="RecurringProfile",
    path="invoice_profiles/invoice_profiles",
    single_key="invoice_profile",
    list_key="invoice_profiles",
    filters=RECURRING_PROFILE_FILTERS,
    lookups=RECURRING_PROFILE_LOOKUPS,
    includes=RECURRING_PROFILE_INCLUDES,
)


@resource(pk="lineid", repr_fields=("lineid", "name", "qty", "unit_cost", "amount"))
class RecurringProfileLine(DocumentLine):
    """One line of a recurring profile."""

    profileid: int | None = computed(INT)


@resource(
    RECURRING_PROFILE_SPEC,
    name="recurring_profiles",
    pk="id",
    pk_filter="profileid",
    pk_in_filter="profileids",
    concurrency="updated",
    repr_fields=("id", "customerid", "frequency", "amount"),
    columns=("id", "customerid", "create_date", "frequency", "amount"),
)
class RecurringProfile(Model):
    """A recurring invoice profile. Relation: ``recurring_profile.customer``."""

    customer: ClassVar[ToOne[Customer]] = ToOne("customers", "customerid")

    # computed (read only)
    id: int | None = computed(INT)
    profileid: int | None = computed(INT)
    accounting_systemid: str | None = computed(STR)
    ownerid: int | None = computed(INT)
    updated: dt.datetime | None = computed(EASTERN_DATETIME)
    occurrences_to_date: int | None = computed(INT)
    auto_bill: bool | None = computed(BOOL)
    discount_total: Money | None = computed(MONEY)
    amount: Money | None = computed(MONEY)
    description: str | None = computed(STR)
    retainer_id: Any = computed(ANY)
    total_accrued_revenue: Any = computed(ANY)
    ext_archive: Any = computed(ANY)
    # writable
    customerid: int | None = writable(INT)
    create_date: dt.date | None = writable(DATE)
    frequency: str | None = writable(STR)
    numberRecurring: int | None = writable(INT)
    disable: bool | None = writable(BOOL)
    send_email: bool | None = writable(BOOL)
    send_gmail: bool | None = writable(BOOL)
    require_auto_bill: bool | None = writable(BOOL)
    bill_gateway: str | None = writable(STR)
    include_unbilled_time: bool | None = writable(BOOL)
    payment_details: str | None = writable(STR)
    terms: str | None = writable(STR)
    notes: str | None = writable(STR)
    po_number: str | None = writable(STR)
    address: str | None = writable(STR)
    discount_value: Decimal | None = writable(DECIMAL_STRING)
    due_offset_days: int | None = writable(INT)
    currency_code: str | None = writable(CURRENCY)
    language: str | None = writable(STR)
    code: str | None = writable(STR)
    street: str | None = writable(STR)
    street2: str | None = writable(STR)
    city: str | None = writable(STR)
    province: str | None = writable(STR)
    country: str | None = writable(STR)
    organization: str | None = writable(STR)
    fname: str | None = writable(STR)
    lname: str | None = writable(STR)
    vat_name: str | None = writable(STR)
    vat_number: str | None = writable(STR)
    lines: list[RecurringProfileLine] = nested(RecurringProfileLine, include="lines")
    # state: changed only by delete(), restore(), archive()
    vis_state: VisState | None = state(VIS_STATE)
