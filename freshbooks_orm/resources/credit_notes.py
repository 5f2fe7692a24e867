"""Credit notes (``credit_notes/credit_notes``) and their lines.

Declarations from the Credit notes section of ``freshbooks-resources.md``.  Choices where the
reference is unsure ([?]):

* Requests are wrapped in ``credit_note`` (FreshBooks' Postman example); answers are read
  under ``credit_note`` or, as the Node SDK has it, ``credit_notes``.
* ``credit_type`` may be set to ``goodwill`` or ``prepayment``; ``overpayment`` (system-made
  credits) and any other value the server sends are read as is.
* ``payment_type`` is read-only; the address fields are writable (sent only when set).
* Filters: ``clientid`` and ``date_min``/``date_max`` (live-probed), ``creditid`` (used as a
  single-get workaround by a third party; it only narrows a ``get()``), ``vis_state``.
  No documented "In" filter on ids, so ``select_related`` to credit notes is not offered.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar

from ..orm.model import Model, computed, nested, resource, state, writable
from ..orm.query import EqualsFilter, ResourceSpec
from ..orm.query import encode_int as int_
from ..orm.relations import ToOne
from ..orm.types import CURRENCY, DATE, INT, MONEY, STR, ChoiceType, Money
from .common import VIS_STATE, VisState, date_range, range_lookups, vis_state_filter
from .lines import DocumentLine

if TYPE_CHECKING:
    from .customers import Customer

__all__ = ["CREDIT_NOTE_SPEC", "CREDIT_TYPES", "CreditNote", "CreditNoteLine"]

#: The credit types a new credit note may have.
CREDIT_TYPES = ("goodwill", "prepayment")

CREDIT_NOTE_FILTERS = {
    f.name: f
    for f in (
        EqualsFilter("creditid", int_, doc="[?] unconfirmed"),
        EqualsFilter("clientid", int_),
        *date_range("date", "create_date"),
        vis_state_filter(),
    )
}

CREDIT_NOTE_LOOKUPS = {
    **range_lookups("create_date", "date"),
}

CREDIT_NOTE_SPEC = ResourceSpec(
    name="CreditNote",
    path="credit_notes/credit_notes",
    single_key="credit_note",
    list_key="credit_notes",
    filters=CREDIT_NOTE_FILTERS,
    lookups=CREDIT_NOTE_LOOKUPS,
    includes=("lines",),
    read_keys=("credit_notes",),
)


@resource(pk="lineid", repr_fields=("lineid", "name", "qty", "unit_cost", "amount"))
class CreditNoteLine(DocumentLine):
    """One line of a credit note."""

    creditid: int | None = computed(INT)


@resource(
    CREDIT_NOTE_SPEC,
    name="credit_notes",
    pk="id",
    pk_filter="creditid",
    concurrency=None,  # no documented ``updated`` key
    repr_fields=("id", "credit_number", "credit_type", "amount"),
    columns=("id", "credit_number", "clientid", "create_date", "credit_type", "amount"),
)
class CreditNote(Model):
    """A FreshBooks credit note. Relation: ``credit_note.customer``."""

    customer: ClassVar[ToOne[Customer]] = ToOne("customers", "clientid")

    # computed (read only)
    id: int | None = computed(INT)
    creditid: int | None = computed(INT)
    accounting_systemid: str | None = computed(STR)
    amount: Money | None = computed(MONEY)
    paid: Money | None = computed(MONEY)
    payment_status: str | None = computed(STR)
    display_status: str | None = computed(STR)
    status: str | None = computed(STR)
    dispute_status: str | None = computed(STR)
    last_order_status: str | None = computed(STR)
    payment_type: str | None = computed(STR)
    current_organization: str | None = computed(STR)
    description: str | None = computed(STR)
    sentid: int | None = computed(INT)
    # writable
    clientid: int | None = writable(INT)
    create_date: dt.date | None = writable(DATE)
    credit_number: str | None = writable(STR)
    credit_type: str | None = writable(ChoiceType(CREDIT_TYPES, "credit type"))
    currency_code: str | None = writable(CURRENCY)
    language: str | None = writable(STR)
    notes: str | None = writable(STR)
    terms: str | None = writable(STR)
    fname: str | None = writable(STR)
    lname: str | None = writable(STR)
    organization: str | None = writable(STR)
    street: str | None = writable(STR)
    street2: str | None = writable(STR)
    city: str | None = writable(STR)
    province: str | None = writable(STR)
    code: str | None = writable(STR)
    country: str | None = writable(STR)
    vat_name: str | None = writable(STR)
    vat_number: str | None = writable(STR)
    template: str | None = writable(STR)
    ext_archive: int | None = writable(INT)
    lines: list[CreditNoteLine] = nested(CreditNoteLine, include="lines")
    # state: changed only by delete(), restore(), archive()
    vis_state: VisState | None = state(VIS_STATE)
