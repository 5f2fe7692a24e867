"""Estimates (``estimates/estimates``) and their lines.

Declarations from the Estimates section of ``freshbooks-resources.md``.  Choices where the
reference is unsure ([?]):

* ``delete()`` sends an HTTP DELETE, as the official Python SDK does; ``restore()`` and
  ``archive()`` send ``vis_state`` 0 / 2 (estimates carry ``vis_state``), and after a delete
  the object reads ``vis_state`` 1 (whether the DELETE is soft is unknown).
* ``status`` is create-only, as on invoices (which codes may be written is unknown).
* ``require_client_signature`` and ``rich_proposal`` (third-party fixtures only) are read-only.
* Filters: the documented ones, plus ``customerid``/``customerids`` (unconfirmed, but the
  estimate carries ``customerid`` and ``customer.estimates`` needs it).  ``date_min``,
  ``date_max`` and ``ui_status`` are not declared: nothing confirms them, and FreshBooks
  answers an ignored filter with every row.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from ..orm.model import Model, computed, create_only, nested, resource, state, writable
from ..orm.options import Lifecycle
from ..orm.query import ResourceSpec, encode_enum
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
    EnumType,
    Money,
)
from .common import (
    VIS_STATE,
    VisState,
    id_filters,
    notes_filter,
    number_filters,
    status_filters,
    updated_filters,
    vis_state_filter,
)
from .lines import DocumentLine

if TYPE_CHECKING:
    from .customers import Customer

__all__ = ["ESTIMATE_SPEC", "Estimate", "EstimateLine", "EstimateStatus"]


class EstimateStatus(enum.IntEnum):
    """The estimate ``status`` codes (there is no 0)."""

    DRAFT = 1
    SENT = 2
    VIEWED = 3
    REPLIED = 4
    ACCEPTED = 5
    INVOICED = 6


_STATUS = EnumType(EstimateStatus)
_status = encode_enum(_STATUS)

ESTIMATE_FILTERS = {
    f.name: f
    for f in (
        *id_filters("estimateid"),
        *number_filters("estimate"),
        notes_filter(),
        *status_filters(_status),
        *id_filters("customerid", doc="[?] unconfirmed"),
        *updated_filters(),
        vis_state_filter(),
    )
}

ESTIMATE_LOOKUPS = {
    "estimate_number__contains": "estimate_number_like",
    "notes__contains": "notes",
    "status": "statusid",
    "status__in": "statusids",
    "customerid__in": "customerids",
}

ESTIMATE_INCLUDES = (
    "audit_logs", "comments", "contacts", "direct_links", "lines", "owner", "presentation",
    "project", "invoices", "system",
)  # fmt: skip

ESTIMATE_SPEC = ResourceSpec(
    name="Estimate",
    path="estimates/estimates",
    single_key="estimate",
    list_key="estimates",
    filters=ESTIMATE_FILTERS,
    lookups=ESTIMATE_LOOKUPS,
    includes=ESTIMATE_INCLUDES,
)


@resource(pk="lineid", repr_fields=("lineid", "name", "qty", "unit_cost", "amount"))
class EstimateLine(DocumentLine):
    """One line of an estimate."""

    estimateid: int | None = computed(INT)


@resource(
    ESTIMATE_SPEC,
    name="estimates",
    pk="id",
    pk_filter="estimateid",
    pk_in_filter="estimateids",
    concurrency="updated",
    lifecycle=Lifecycle(http_delete=True),
    repr_fields=("id", "estimate_number", "ui_status", "amount"),
    columns=("id", "estimate_number", "customerid", "create_date", "ui_status", "amount"),
)
class Estimate(Model):
    """A FreshBooks estimate. Relation: ``estimate.customer``."""

    customer: ClassVar[ToOne[Customer]] = ToOne("customers", "customerid")

    # computed (read only)
    id: int | None = computed(INT)
    estimateid: int | None = computed(INT)
    accounting_systemid: str | None = computed(STR)
    ui_status: str | None = computed(STR)
    display_status: str | None = computed(STR)
    reply_status: str | None = computed(STR)
    amount: Money | None = computed(MONEY)
    discount_total: Money | None = computed(MONEY)
    description: str | None = computed(STR)
    current_organization: str | None = computed(STR)
    invoiced: bool | None = computed(BOOL)
    accepted: bool | None = computed(BOOL)
    ownerid: int | None = computed(INT)
    sentid: int | None = computed(INT)
    created_at: dt.datetime | None = computed(EASTERN_DATETIME)
    updated: dt.datetime | None = computed(EASTERN_DATETIME)
    require_client_signature: bool | None = computed(BOOL)
    rich_proposal: bool | None = computed(BOOL)
    # writable on create
    status: EstimateStatus | None = create_only(_STATUS)
    # writable
    customerid: int | None = writable(INT)
    create_date: dt.date | None = writable(DATE)
    estimate_number: str | None = writable(STR)
    discount_value: Decimal | None = writable(DECIMAL_STRING)
    po_number: str | None = writable(STR)
    terms: str | None = writable(STR)
    notes: str | None = writable(STR)
    address: str | None = writable(STR)
    template: str | None = writable(STR)
    currency_code: str | None = writable(CURRENCY)
    language: str | None = writable(STR)
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
    ext_archive: int | None = writable(INT)
    lines: list[EstimateLine] = nested(EstimateLine, include="lines")
    # state: delete() is an HTTP DELETE; restore() and archive() change vis_state alone
    vis_state: VisState | None = state(VIS_STATE)
