"""Customers (FreshBooks' *clients*, ``users/clients``) and their secondary contacts.

Declarations from the Clients section of ``freshbooks-resources.md``.  Choices where the
reference is unsure ([?]):

* ``pref_email``, ``pref_gmail``, ``allow_late_fees``, ``allow_late_notifications`` are
  writable (the Node SDK sends them); like every field they are sent only when assigned.
* ``last_login`` is read as US/Eastern, the accounting rule (its zone is undocumented);
  ``signup_date`` is UTC, as every SDK reads it.
* ``email_like`` (only in a third-party doc sweep) is not declared: an unknown filter is
  silently ignored by FreshBooks and would match every customer.
* The ``has_*`` filters take True/False and are sent as ``search[has_credit]=true``.
* A contact is sent back without any id: the documented PUT carries ``email``, ``fname``,
  ``lname``, ``phone1`` only, and the list replaces the client's contacts as a whole.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar

from ..orm.model import Model, computed, nested, resource, state, writable
from ..orm.query import EqualsFilter, ResourceSpec, SearchBoolFilter
from ..orm.relations import ToMany
from ..orm.types import BOOL, CURRENCY, EASTERN_DATETIME, INT, STR
from .common import (
    ANY,
    UTC_DATETIME,
    VIS_STATE,
    VisState,
    id_filters,
    updated_filters,
    vis_state_filter,
)

if TYPE_CHECKING:
    from .estimates import Estimate
    from .expenses import Expense
    from .invoices import Invoice
    from .payments import Payment

__all__ = ["CUSTOMER_SPEC", "Contact", "Customer"]

#: The address fields ``address_like`` is checked against (billing and shipping) [?].
_ADDRESS = (
    "p_street", "p_street2", "p_city", "p_province", "p_country", "p_code",
    "s_street", "s_street2", "s_city", "s_province", "s_country", "s_code",
)  # fmt: skip

CUSTOMER_FILTERS = {
    f.name: f
    for f in (
        *id_filters("userid"),
        EqualsFilter("email"),
        EqualsFilter("username"),
        EqualsFilter(
            "address_like",
            doc="an address field contains",
            means="|".join(f"{a}__icontains" for a in _ADDRESS),
        ),
        EqualsFilter("fname_like", doc="first name contains"),
        EqualsFilter("lname_like", doc="last name contains"),
        EqualsFilter("note_like", doc="note contains"),
        EqualsFilter("organization_like", doc="organization contains"),
        EqualsFilter(
            "phone_like",
            doc="a phone or fax number contains",
            means="home_phone__icontains|mob_phone__icontains|bus_phone__icontains|fax__icontains",
        ),
        EqualsFilter(
            "user_like",
            doc="first name, last name or organization contains",
            means="fname__icontains|lname__icontains|organization__icontains",
        ),
        SearchBoolFilter("has_credit"),
        SearchBoolFilter("has_draft"),
        SearchBoolFilter("has_outstanding"),
        SearchBoolFilter("has_overdue"),
        *updated_filters(),
        vis_state_filter(),
    )
}

CUSTOMER_LOOKUPS = {
    "fname__contains": "fname_like",
    "lname__contains": "lname_like",
    "note__contains": "note_like",
    "organization__contains": "organization_like",
}

CUSTOMER_INCLUDES = (
    "outstanding_balance", "credit_balance", "draft_balance", "overdue_balance",
    "grand_total_balance", "last_activity", "late_reminders", "late_fee",
)  # fmt: skip

CUSTOMER_SORTS = {
    "id": "client_id_asc", "-id": "client_id_desc",
    "organization": "organization_name_asc", "-organization": "organization_name_desc",
    "email": "email_asc", "-email": "email_desc",
    "updated": "updated_asc", "-updated": "updated_desc",
    "fullname": "fullname_asc", "-fullname": "fullname_desc",
}  # fmt: skip

CUSTOMER_SPEC = ResourceSpec(
    name="Customer",
    path="users/clients",
    single_key="client",
    list_key="clients",
    filters=CUSTOMER_FILTERS,
    lookups=CUSTOMER_LOOKUPS,
    includes=CUSTOMER_INCLUDES,
    sorts=CUSTOMER_SORTS,
)


@resource(pk="contactid", repr_fields=("contactid", "email", "fname", "lname"))
class Contact(Model):
    """A secondary contact of a customer (``client.contacts``)."""

    contactid: int | None = computed(INT)
    userid: int | None = computed(INT)
    email: str | None = writable(STR)
    fname: str | None = writable(STR)
    lname: str | None = writable(STR)
    phone1: str | None = writable(STR)
    phone2: str | None = writable(STR)

    def to_nested_payload(self) -> dict[str, Any]:
        payload = super().to_nested_payload()
        payload.pop("contactid", None)  # the documented PUT names contacts by their fields
        return payload


@resource(
    CUSTOMER_SPEC,
    name="customers",
    pk="id",
    pk_filter="userid",
    pk_in_filter="userids",
    concurrency="updated",
    repr_fields=("id", "organization", "email"),
    columns=("id", "organization", "fname", "lname", "email", "currency_code", "updated"),
)
class Customer(Model):
    """A FreshBooks client: someone you bill (``users/clients``).

    FreshBooks calls these *clients*; the model is named ``Customer`` because ``Client`` is
    this library's HTTP client, and because invoices, estimates and recurring profiles point
    at them as ``customerid`` (payments, expenses and credit notes say ``clientid``).
    Relations: ``customer.invoices``, ``.estimates``, ``.payments``, ``.expenses``
    (querysets).
    """

    invoices: ClassVar[ToMany[Invoice]] = ToMany("invoices", "customerid")
    estimates: ClassVar[ToMany[Estimate]] = ToMany("estimates", "customerid")
    payments: ClassVar[ToMany[Payment]] = ToMany("payments", "clientid")
    expenses: ClassVar[ToMany[Expense]] = ToMany("expenses", "clientid")

    # computed (read only)
    id: int | None = computed(INT)
    userid: int | None = computed(INT)
    accounting_systemid: str | None = computed(STR)
    uuid: str | None = computed(STR)
    allow_email_include_pdf: bool | None = computed(BOOL)
    signup_date: dt.datetime | None = computed(UTC_DATETIME)
    updated: dt.datetime | None = computed(EASTERN_DATETIME)
    last_login: dt.datetime | None = computed(EASTERN_DATETIME)
    last_activity: str | None = computed(STR)
    num_logins: int | None = computed(INT)
    level: Any = computed(ANY)
    notified: Any = computed(ANY)
    direct_link_token: Any = computed(ANY)
    statement_token: Any = computed(ANY)
    subdomain: Any = computed(ANY)
    username: Any = computed(ANY)
    has_retainer: bool | None = computed(BOOL)
    retainer_id: str | None = computed(STR)
    role: str | None = computed(STR)
    exceeds_client_limit: int | None = computed(INT)
    # writable
    fname: str | None = writable(STR)
    lname: str | None = writable(STR)
    organization: str | None = writable(STR)
    email: str | None = writable(STR)
    bus_phone: str | None = writable(STR)
    home_phone: str | None = writable(STR)
    mob_phone: str | None = writable(STR)
    fax: str | None = writable(STR)
    note: str | None = writable(STR)
    p_street: str | None = writable(STR)
    p_street2: str | None = writable(STR)
    p_city: str | None = writable(STR)
    p_province: str | None = writable(STR)
    p_code: str | None = writable(STR)
    p_country: str | None = writable(STR)
    s_street: str | None = writable(STR)
    s_street2: str | None = writable(STR)
    s_city: str | None = writable(STR)
    s_province: str | None = writable(STR)
    s_code: str | None = writable(STR)
    s_country: str | None = writable(STR)
    currency_code: str | None = writable(CURRENCY)
    language: str | None = writable(STR)
    vat_name: str | None = writable(STR)
    vat_number: str | None = writable(STR)
    company_industry: str | None = writable(STR)
    company_size: str | None = writable(STR)
    pref_email: bool | None = writable(BOOL)
    pref_gmail: bool | None = writable(BOOL)
    allow_late_fees: bool | None = writable(BOOL)
    allow_late_notifications: bool | None = writable(BOOL)
    contacts: list[Contact] = nested(Contact)
    # state: changed only by delete(), restore(), archive()
    vis_state: VisState | None = state(VIS_STATE)
