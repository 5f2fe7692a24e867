"""Items: ``items/items``, keys ``item`` / ``items``, pk ``itemid``.

Delete: PUT ``{"item": {"vis_state": 1}}`` (soft).  ``tax1``/``tax2`` are tax ids (0 = none); an
id that is not a tax of the account answers 422 errno 1012.  ``name`` is required ([?]).  The
``_min`` filters are ">=", as the parameters page says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import StoreError
from ..model import parse_decimal
from .base import (
    Obj,
    Resource,
    between,
    eq,
    field_of,
    like,
    money_of,
    one_of,
    updated_between,
    vis_state_filter,
)

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["ITEMS", "new_item"]

FIELDS = {
    "name": "str",
    "description": "nstr",
    "qty": "decimal",
    "inventory": "ndecimal",
    "sku": "nstr",
    "unit_cost": "money",
    "tax1": "id0",
    "tax2": "id0",
}


def _decimal_of(name: str) -> Any:
    return lambda item: parse_decimal(item.get(name))


FILTERS = {
    "itemid": eq("id"),
    "itemids": one_of("id"),
    "sku": eq("sku", "str"),
    "description": like("description"),
    **between("unit_cost", money_of("unit_cost"), "decimal"),
    **between("inventory", _decimal_of("inventory"), "decimal"),
    **between("qty", _decimal_of("qty"), "decimal"),
    **updated_between(),
    "vis_state": vis_state_filter(),
}


def new_item(account_id: str) -> Obj:
    return {
        "id": 0,
        "itemid": 0,
        "accounting_systemid": account_id,
        "name": "",
        "description": "",
        "qty": "1",
        "inventory": None,
        "sku": None,
        "unit_cost": {"amount": "0.00", "code": "USD"},
        "tax1": 0,
        "tax2": 0,
        "updated": None,
        "vis_state": 0,
    }


def _prepare(store: Store, item: Obj, data: Any, creating: bool) -> None:
    if "name" in data and not item["name"].strip():
        raise StoreError(422, 1001, "name", "Field name is required.", None, "item")
    for key in ("tax1", "tax2"):
        if key in data and item[key] and item[key] not in store.tables["taxes"].rows:
            raise StoreError(422, 1012, key, "Tax not found.", item[key], "item")


ITEMS = Resource(
    name="items",
    path="items/items",
    single="item",
    plural="items",
    pk="itemid",
    noun="item",
    template=new_item,
    first_id=9_001,
    fields=FIELDS,
    required=("name",),
    filters=FILTERS,
    sorts={"name": field_of("name")},
    prepare=_prepare,
)
