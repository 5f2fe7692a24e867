"""Expenses (``expenses/expenses``) and expense categories (``expenses/categories``).

Declarations from the Expenses and Expense categories sections of ``freshbooks-resources.md``.
Choices where the reference is unsure ([?]):

* ``status`` is create-only (FreshBooks says statuses are not directly modifiable; the PHP SDK
  sends it on create only); status 3 does not exist, 4 is "recouped".
* ``clientid`` 0 means "no client": ``expense.customer`` is then None.
* ``account_name`` and ``attachment`` are read-only (the attachment arrives with
  ``include("attachment")``); ``profileid`` (a recurring *expense* profile) is read-only.
* ``vendor`` (only in a third-party doc sweep) is not a declared filter, and there is no
  status filter.
* Expense categories are read-only: the API cannot create, update or delete them.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from ..orm.model import Model, computed, create_only, resource, state, writable
from ..orm.query import EqualsFilter, InFilter, ResourceSpec, SearchBoolFilter
from ..orm.query import encode_int as int_
from ..orm.relations import ToMany, ToOne
from ..orm.types import (
    BOOL,
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
    ANY,
    ID_OR_ZERO,
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

__all__ = [
    "EXPENSE_CATEGORY_SPEC",
    "EXPENSE_SPEC",
    "Expense",
    "ExpenseCategory",
    "ExpenseStatus",
]


class ExpenseStatus(enum.IntEnum):
    """Expense ``status``: there is no 3."""

    INTERNAL = 0
    OUTSTANDING = 1
    INVOICED = 2
    RECOUPED = 4


_STATUS = EnumType(ExpenseStatus)


EXPENSE_FILTERS = {
    f.name: f
    for f in (
        *id_filters("expenseid"),
        *id_filters("clientid"),
        EqualsFilter("clientid_not", int_, doc="any client but this one", means="~clientid"),
        *id_filters("staffid"),
        *id_filters("profileid"),
        *id_filters("categoryid"),
        *id_filters("projectid"),
        SearchBoolFilter("has_receipt"),
        *decimal_range("amount", "amount"),
        *date_range("date", "date"),
        *updated_filters(),
        vis_state_filter(),
    )
}

EXPENSE_LOOKUPS = {
    "clientid__in": "clientids",
    "staffid__in": "staffids",
    "profileid__in": "profileids",
    "categoryid__in": "categoryids",
    "projectid__in": "projectids",
    **range_lookups("amount", "amount"),
    **range_lookups("date", "date"),
}

EXPENSE_SPEC = ResourceSpec(
    name="Expense",
    path="expenses/expenses",
    single_key="expense",
    list_key="expenses",
    filters=EXPENSE_FILTERS,
    lookups=EXPENSE_LOOKUPS,
    includes=("attachment", "category", "expense_profile", "project", "account"),
)

EXPENSE_CATEGORY_SPEC = ResourceSpec(
    name="ExpenseCategory",
    path="expenses/categories",
    single_key="category",
    list_key="categories",
    filters={
        f.name: f
        for f in (
            InFilter("categoryids", int_),
            EqualsFilter("name", doc="category name contains"),
            SearchBoolFilter("is_cogs"),
            SearchBoolFilter("is_editable"),
            EqualsFilter("parentid", int_),
        )
    },
    lookups={
        "categoryid__in": "categoryids",
        "category__contains": "name",
    },
    includes=("expense_usage_all_time", "expense_usage_this_year"),
)


@resource(
    EXPENSE_CATEGORY_SPEC,
    name="expense_categories",
    pk="id",
    pk_in_filter="categoryids",
    read_only=True,
    repr_fields=("id", "category"),
)
class ExpenseCategory(Model):
    """An expense category (read-only). Relations: ``.parent``, ``.expenses``."""

    parent: ClassVar[ToOne[ExpenseCategory]] = ToOne("expense_categories", "parentid")
    expenses: ClassVar[ToMany[Expense]] = ToMany("expenses", "categoryid")

    id: int | None = computed(INT)
    categoryid: int | None = computed(INT)
    category: str | None = computed(STR)
    parentid: int | None = computed(INT)
    is_editable: bool | None = computed(BOOL)
    is_cogs: bool | None = computed(BOOL)
    transaction_posted: bool | None = computed(BOOL)
    created_at: dt.datetime | None = computed(EASTERN_DATETIME)
    updated_at: dt.datetime | None = computed(EASTERN_DATETIME)
    vis_state: VisState | None = state(VIS_STATE)


@resource(
    EXPENSE_SPEC,
    name="expenses",
    pk="id",
    pk_filter="expenseid",
    pk_in_filter="expenseids",
    concurrency="updated",
    repr_fields=("id", "date", "vendor", "amount"),
    columns=("id", "date", "vendor", "categoryid", "clientid", "amount", "status"),
)
class Expense(Model):
    """An expense. Relations: ``expense.customer``, ``expense.category``, ``expense.invoice``.

    ``expense.category`` costs no request when the list was fetched with
    ``include("category")``.
    """

    customer: ClassVar[ToOne[Customer]] = ToOne("customers", "clientid")
    category: ClassVar[ToOne[ExpenseCategory]] = ToOne(
        "expense_categories", "categoryid", embedded="category"
    )
    invoice: ClassVar[ToOne[Invoice]] = ToOne("invoices", "invoiceid")

    # computed (read only)
    id: int | None = computed(INT)
    expenseid: int | None = computed(INT)
    accounting_systemid: str | None = computed(STR)
    profileid: int | None = computed(INT)
    account_name: str | None = computed(STR)
    compounded_tax: bool | None = computed(BOOL)
    transactionid: int | None = computed(INT)
    background_jobid: int | None = computed(INT)
    from_bulk_import: bool | None = computed(BOOL)
    bill_matches: Any = computed(ANY)
    attachment: Any = computed(ANY)
    updated: dt.datetime | None = computed(EASTERN_DATETIME)
    # writable on create
    status: ExpenseStatus | None = create_only(_STATUS)
    # writable
    categoryid: int | None = writable(INT)
    staffid: int | None = writable(INT)
    amount: Money | None = writable(MONEY)
    date: dt.date | None = writable(DATE)
    clientid: int | None = writable(ID_OR_ZERO)  # 0, not null, is "no client"
    projectid: int | None = writable(ID_OR_ZERO)
    modern_projectid: int | None = writable(INT)
    invoiceid: int | None = writable(INT)
    vendor: str | None = writable(STR)
    notes: str | None = writable(STR)
    bank_name: str | None = writable(STR)
    accountid: int | None = writable(INT)
    taxName1: str | None = writable(STR)
    taxName2: str | None = writable(STR)
    taxAmount1: Money | None = writable(MONEY)
    taxAmount2: Money | None = writable(MONEY)
    taxPercent1: Decimal | None = writable(DECIMAL_STRING)
    taxPercent2: Decimal | None = writable(DECIMAL_STRING)
    markup_percent: Decimal | None = writable(DECIMAL_STRING)
    billable: bool | None = writable(BOOL)
    has_receipt: bool | None = writable(BOOL)
    include_receipt: bool | None = writable(BOOL)
    is_cogs: bool | None = writable(BOOL)
    isduplicate: bool | None = writable(BOOL)
    potential_bill_payment: bool | None = writable(BOOL)
    ext_accountid: int | None = writable(INT)
    ext_invoiceid: int | None = writable(INT)
    ext_systemid: int | None = writable(INT)
    # state: changed only by delete(), restore(), archive()
    vis_state: VisState | None = state(VIS_STATE)
