"""Expense categories: ``expenses/categories``, keys ``category`` / ``categories``, pk
``categoryid``.  Read-only: create, update and delete are "not supported by the API" (405
here).  There is no ``categoryid`` Equals filter, only ``categoryids`` (In).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Obj, Resource, boolean, eq, field_of, like, one_of, vis_state_filter

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["EXPENSE_CATEGORIES", "new_category"]

FILTERS = {
    "categoryids": one_of("id"),
    "name": like("category"),
    "is_cogs": boolean("is_cogs"),
    "is_editable": boolean("is_editable"),
    "parentid": eq("parentid"),
    "vis_state": vis_state_filter(),
}


def new_category(account_id: str) -> Obj:
    return {
        "id": 0,
        "categoryid": 0,
        "category": "",
        "parentid": None,
        "is_editable": False,
        "is_cogs": False,
        "transaction_posted": False,
        "created_at": None,
        "updated_at": None,
        "vis_state": 0,
    }


def _decorate(store: Store, cat: Obj, out: Obj, includes: frozenset[str]) -> None:
    for key in ("expense_usage_all_time", "expense_usage_this_year"):
        if key in includes:  # payload shape [?]: a count of the category's expenses
            expenses = store.tables["expenses"]
            out[key] = len(expenses.ids_where("categoryid", cat["id"]))


EXPENSE_CATEGORIES = Resource(
    name="expense_categories",
    path="expenses/categories",
    single="category",
    plural="categories",
    pk="categoryid",
    noun="category",
    template=new_category,
    first_id=4_001,
    filters=FILTERS,
    includes=frozenset({"expense_usage_all_time", "expense_usage_this_year"}),
    sorts={"category": field_of("category")},
    read_only=True,
    stamp_keys=("updated_at",),
    decorate=_decorate,
)
