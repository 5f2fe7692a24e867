"""Items (``items/items``): the saved products and services invoice lines are made from.

Declarations from the Items section of ``freshbooks-resources.md``.  ``tax1``/``tax2`` are tax
*ids* (0 = none); ``item.tax1_tax``-style relations are left out (nothing asks for them yet).
``name`` is required on create [?]; the ``*_min`` filters are >= as the parameters page says.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ..orm.model import Model, computed, resource, state, writable
from ..orm.query import EqualsFilter, InFilter, ResourceSpec
from ..orm.query import encode_decimal as dec
from ..orm.query import encode_int as int_
from ..orm.types import DECIMAL, EASTERN_DATETIME, INT, MONEY, STR, Money
from .common import VIS_STATE, VisState, updated_filters, vis_state_filter

__all__ = ["ITEM_SPEC", "Item"]


def _between(name: str, what: str) -> tuple[EqualsFilter, EqualsFilter]:
    return (
        EqualsFilter(f"{name}_min", dec, doc=f"{what} >= value"),
        EqualsFilter(f"{name}_max", dec, doc=f"{what} < value"),
    )


ITEM_SPEC = ResourceSpec(
    name="Item",
    path="items/items",
    single_key="item",
    list_key="items",
    filters={
        f.name: f
        for f in (
            EqualsFilter("itemid", int_),
            InFilter("itemids", int_),
            EqualsFilter("sku"),
            EqualsFilter("description", doc="description contains"),
            *_between("unit_cost", "unit cost"),
            *_between("inventory", "inventory"),
            *_between("qty", "quantity"),
            *updated_filters(),
            vis_state_filter(),
        )
    },
    lookups={
        "description__contains": "description",
        "unit_cost__gte": "unit_cost_min",
        "unit_cost__lt": "unit_cost_max",
        "inventory__gte": "inventory_min",
        "inventory__lt": "inventory_max",
        "qty__gte": "qty_min",
        "qty__lt": "qty_max",
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
    tax1: int | None = writable(INT)
    tax2: int | None = writable(INT)
    vis_state: VisState | None = state(VIS_STATE)
