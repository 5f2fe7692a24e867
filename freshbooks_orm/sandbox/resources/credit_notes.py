"""Credit notes: ``credit_notes/credit_notes``, keys ``credit_note`` / ``credit_notes``, pk
``creditid``.

Requests may wrap the object in ``credit_note`` or, as the Node SDK does, ``credit_notes``;
answers always use ``credit_note``.  Delete: PUT ``vis_state`` 1 (soft).  ``status`` is a
*string* here (``draft``/``sent``...).  Lines use the invoice line shape with ``creditid`` and
without ``lineid`` ([?]).  ``clientid`` is required ([?]).  Filters: ``clientid`` and
``date_min``/``date_max`` (on ``create_date``) have live evidence; ``creditid``/``creditids``,
``clientids`` and ``updated_*`` are accepted as plausible [?].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import StoreError
from ..model import money, recompute_lines
from .base import (
    ADDRESS,
    NAMES,
    Lines,
    Obj,
    Resource,
    between,
    copy_client_details,
    eq,
    field_of,
    money_of,
    one_of,
    updated_between,
    vis_state_filter,
)
from .estimates import new_estimate_line

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["CREDIT_NOTES", "new_credit_line", "new_credit_note", "recompute_credit_note"]

FIELDS: dict[str, str] = {
    "clientid": "id",
    "create_date": "date",
    "credit_number": "docnum",
    "credit_type": "enum:goodwill|prepayment",
    "currency_code": "currency",
    "language": "str",
    "notes": "nstr",
    "terms": "nstr",
    **{k: "nstr" for k in ADDRESS},
    **{k: "nstr" for k in NAMES},
    "template": "str",
    "ext_archive": "id0",
}

FILTERS = {
    "creditid": eq("id"),
    "creditids": one_of("id"),
    "clientid": eq("clientid"),
    "clientids": one_of("clientid"),
    **between("date", "create_date", "date"),
    **updated_between(),
    "vis_state": vis_state_filter(),
}


def new_credit_line() -> Obj:
    line = new_estimate_line()
    del line["estimateid"]
    line["creditid"] = 0
    return line


def new_credit_note(account_id: str) -> Obj:
    zero = {"amount": "0.00", "code": "USD"}
    out: Obj = {
        "id": 0,
        "creditid": 0,
        "accounting_systemid": account_id,
        "clientid": 0,
        "create_date": None,
        "credit_number": "",
        "credit_type": "goodwill",
        "currency_code": "USD",
        "language": "en",
        "notes": "",
        "terms": "",
        "amount": dict(zero),
        "paid": dict(zero),
        "payment_status": "unpaid",
        "display_status": "draft",
        "status": "draft",
        "dispute_status": None,
        "last_order_status": None,
        "payment_type": None,
        "current_organization": "",
        "description": "",
        "sentid": 1,
    }
    out.update({k: "" for k in ADDRESS})
    out.update({"organization": "", "fname": "", "lname": "", "vat_name": None, "vat_number": ""})
    out.update({"template": "clean-grouped", "ext_archive": 0, "updated": None, "vis_state": 0})
    out["lines"] = []
    return out


def recompute_credit_note(note: Obj) -> None:
    code = note["currency_code"]
    for i, line in enumerate(note["lines"], 1):
        line["taskno"] = i
    total = recompute_lines(note["lines"], code)
    paid = min(money_of("paid")(note), total)
    note["amount"] = money(total, code)
    note["paid"] = money(paid, code)
    note["payment_status"] = "unpaid" if paid <= 0 else "paid" if paid >= total else "partial"
    note["description"] = note["lines"][0]["description"] if note["lines"] else ""
    note["current_organization"] = note["organization"]


def _prepare(store: Store, note: Obj, data: Any, creating: bool) -> None:
    if "clientid" in data:
        client = store.customers.get(note["clientid"])
        if client is None:
            raise StoreError(
                422, 1012, "clientid", "Client not found.", note["clientid"], "credit_note"
            )
        copy_client_details(note, client, data)
    if creating and not note["create_date"]:
        from .base import today_eastern

        note["create_date"] = today_eastern().isoformat()


def _compute(store: Store, note: Obj) -> None:
    recompute_credit_note(note)


def _states(store: Store, note: Obj, trap: Mapping[str, Any]) -> None:
    if (
        any(trap.get(k) for k in ("action_mark_as_sent", "action_email"))
        and note["status"] == "draft"
    ):
        note["status"] = note["display_status"] = "sent"


CREDIT_NOTES = Resource(
    name="credit_notes",
    path="credit_notes/credit_notes",
    single="credit_note",
    plural="credit_notes",
    pk="creditid",
    noun="credit_note",
    template=new_credit_note,
    first_id=800_001,
    fields=FIELDS,
    required=("clientid",),
    filters=FILTERS,
    includes=frozenset({"lines"}),
    sorts={"create_date": field_of("create_date")},
    lines=Lines(backref="creditid", template=new_credit_line, lineid=False),
    number_key="credit_number",
    indexes=("clientid",),
    alias_keys=("credit_notes",),
    prepare=_prepare,
    compute=_compute,
    states=_states,
)
