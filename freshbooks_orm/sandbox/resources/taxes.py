"""Taxes: ``taxes/taxes``, keys ``tax`` / ``taxes``, pk ``taxid``.

No ``vis_state``: delete is HTTP DELETE answering ``{"response": {}}``, and the sandbox makes
it hard ([?]).  ``amount`` is a percentage decimal string (``"13"``), not Money.  A second tax
with the same name answers 422 errno 1019 ("duplicate tax", documented errno).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import StoreError
from .base import (
    Obj,
    Resource,
    boolean,
    eq,
    field_of,
    like,
    one_of,
    updated_between,
)

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["TAXES", "new_tax"]

FIELDS = {"name": "str", "amount": "percent", "number": "nstr", "compound": "bool"}

FILTERS = {
    "taxid": eq("id"),
    "taxids": one_of("id"),
    "name": like("name"),
    "number": like("number"),
    "compound": boolean("compound"),
    **updated_between(),
}


def new_tax(account_id: str) -> Obj:
    return {
        "id": 0,
        "taxid": 0,
        "accounting_systemid": account_id,
        "name": "",
        "amount": "0",
        "number": None,
        "compound": False,
        "updated": None,
    }


def _prepare(store: Store, tax: Obj, data: Any, creating: bool) -> None:
    if "name" in data:
        if not tax["name"].strip():
            raise StoreError(422, 1001, "name", "Field name is required.", None, "tax")
        taxes = store.tables["taxes"].rows
        wanted = tax["name"].strip().lower()
        for other in taxes.values():
            if other["id"] != tax["id"] and other["name"].strip().lower() == wanted:
                raise StoreError(
                    422, 1019, "name", "A tax with this name exists.", tax["name"], "tax"
                )


TAXES = Resource(
    name="taxes",
    path="taxes/taxes",
    single="tax",
    plural="taxes",
    pk="taxid",
    noun="tax",
    template=new_tax,
    first_id=7_001,
    fields=FIELDS,
    required=("name",),
    filters=FILTERS,
    sorts={"name": field_of("name")},
    vis_state=False,
    http_delete="hard",
    prepare=_prepare,
)
