"""Items (``items/items``): the saved products and services invoice lines are made from.

Declarations from the Items section of ``freshbooks-resources.md``.  ``tax1``/``tax2`` are tax
*ids* (0 = none); ``item.tax1_tax``-style relations are left out (nothing asks for them yet).
``name`` is required on create [?]; the ``*_min`` filters are >= as the parameters page says.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ..orm.model import Model, computed, resource, state, writable
from ..orm.query import EqualsFilter, ResourceSpec
from ..orm.types import DECIMAL, EASTERN_DATETIME, INT, MONEY, STR, Money
from .common import (
    ID_OR_ZERO,
    VIS_STATE,
    VisState,
    decimal_range,
    id_filters,
    range_lookups,
    updated_filters,
    vis_state_filter,
)

__all__ = ["ITEM_SPEC", "Item"]


ITEM_SPEC = ResourceSpec(
    name="Item",
    path="items/items",
    single_key="item",
    list_key="items",
    filters={
        f.name: f
        for f in (
            *id_filters("itemid"),
            EqualsFilter("sku"),
            EqualsFilter("description", doc="description contains"),
            *decimal_range("unit_cost", "unit cost"),
            *decimal_range("inventory", "inventory"),
            *decimal_range("qty", "quantity"),
            *updated_filters(),
            vis_state_filter(),
        )
    },
    lookups={
        "description__contains": "description",
        **range_lookups("unit_cost", "unit_cost"),
        **range_lookups("inventory", "inventory"),
        **range_lookups("qty", "qty"),
    },
)


@resource(
    ITEM_SPEC,
    name="items",
    pk="id",
    pk_filter="itemid",
    pk_in_filter="itemids",
    concurrency="updated",
    repr_fields=("id", "name", "unit_cost"),
    columns=("id", "name", "sku", "unit_cost", "qty", "inventory"),
)
class Item(Model):
    """A saved product or service."""

    id: int | None = computed(INT)
    itemid: int | None = computed(INT)
    accounting_systemid: str | None = computed(STR)
    updated: dt.datetime | None = computed(EASTERN_DATETIME)
    name: str | None = writable(STR)
    description: str | None = writable(STR)
    qty: Decimal | None = writable(DECIMAL)
    inventory: Decimal | None = writable(DECIMAL)
    sku: str | None = writable(STR)
    unit_cost: Money | None = writable(MONEY)
    tax1: int | None = writable(ID_OR_ZERO)  # a tax id; 0, not null, is "no tax"
    tax2: int | None = writable(ID_OR_ZERO)
    vis_state: VisState | None = state(VIS_STATE)
