"""Estimates: ``estimates/estimates``, keys ``estimate`` / ``estimates``, pk ``estimateid``.

Delete: HTTP DELETE (FreshBooks' Python SDK) and PUT ``vis_state`` 1; the sandbox makes both
soft ([?]).  Lines follow the invoice line shape with ``estimateid`` and without ``lineid`` (as
the only recorded fixture shows [?]); a PUT with ``lines`` replaces them all.  Filters: the
documented ones, plus ``customerid``/``customerids`` and ``date_min``/``date_max``, which no
source confirms or denies ([?]; accepted here, liberal in what the stand-in accepts).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import invalid
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
    like,
    money_of,
    one_of,
    require_client,
    updated_between,
    vis_state_filter,
)

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["ESTIMATES", "ESTIMATE_STATUSES", "new_estimate", "new_estimate_line"]

#: status -> ui_status (4 Replied is FreshBooks Classic only).
ESTIMATE_STATUSES: dict[int, str] = {
    1: "draft",
    2: "sent",
    3: "viewed",
    4: "replied",
    5: "accepted",
    6: "invoiced",
}

FIELDS: dict[str, str] = {
    "customerid": "id",
    "create_date": "date",
    "estimate_number": "docnum",
    "status": "int",
    "discount_value": "decimal",
    "po_number": "nstr",
    "terms": "nstr",
    "notes": "nstr",
    "address": "nstr",
    "template": "str",
    "currency_code": "currency",
    "language": "str",
    **{k: "nstr" for k in ADDRESS},
    **{k: "nstr" for k in NAMES},
    "ext_archive": "id0",
    "require_client_signature": "bool",
    "rich_proposal": "bool",
}

FILTERS = {
    "estimateid": eq("id"),
    "estimateids": one_of("id"),
    "estimate_number": eq("estimate_number", "str"),
    "estimate_number_like": like("estimate_number"),
    "notes": like("notes"),
    "statusid": eq("status"),
    "statusids": one_of("status"),
    "customerid": eq("customerid"),
    "customerids": one_of("customerid"),
    **between("date", "create_date", "date"),
    **updated_between(),
    "vis_state": vis_state_filter(),
}


INCLUDES = frozenset(
    {"audit_logs", "comments", "contacts", "direct_links", "lines", "owner",
     "presentation", "project", "invoices", "system"}
)  # fmt: skip


def new_estimate_line() -> Obj:
    return {
        "estimateid": 0,
        "type": 0,
        "name": "",
        "description": "",
        "qty": "1",
        "unit_cost": {"amount": "0.00", "code": "USD"},
        "amount": {"amount": "0.00", "code": "USD"},
        "taxName1": "",
        "taxAmount1": "0",
        "taxName2": "",
        "taxAmount2": "0",
        "taxNumber1": None,
        "taxNumber2": None,
        "compounded_tax": False,
        "taskno": 1,
    }


def new_estimate(account_id: str) -> Obj:
    zero = {"amount": "0.00", "code": "USD"}
    out: Obj = {
        "id": 0,
        "estimateid": 0,
        "accounting_systemid": account_id,
        "customerid": 0,
        "create_date": None,
        "estimate_number": "",
        "status": 1,
        "ui_status": "draft",
        "display_status": "draft",
        "reply_status": None,
        "amount": dict(zero),
        "discount_total": dict(zero),
        "discount_value": "0",
        "description": "",
        "current_organization": "",
        "invoiced": False,
        "accepted": False,
        "ownerid": 1,
        "sentid": 1,
        "created_at": None,
        "updated": None,
        "po_number": None,
        "terms": "",
        "notes": "",
        "address": "",
        "template": "clean-grouped",
        "currency_code": "USD",
        "language": "en",
    }
    out.update({k: "" for k in ADDRESS})
    out.update({"organization": "", "fname": "", "lname": "", "vat_name": None, "vat_number": ""})
    out.update(
        {
            "ext_archive": 0,
            "require_client_signature": False,
            "rich_proposal": False,
            "vis_state": 0,
            "lines": [],
        }
    )
    return out


def _prepare(store: Store, est: Obj, data: Any, creating: bool) -> None:
    if "status" in data and est["status"] not in ESTIMATE_STATUSES:
        raise invalid("status", data["status"], object_="estimate")
    if "customerid" in data:
        copy_client_details(est, require_client(store, est["customerid"], "estimate"), data)


def recompute_estimate(est: Obj) -> None:
    code = est["currency_code"]
    for i, line in enumerate(est["lines"], 1):
        line["taskno"] = i
    est["amount"] = money(recompute_lines(est["lines"], code), code)
    est["discount_total"] = money(money_of("discount_total")(est), code)
    est["description"] = est["lines"][0]["description"] if est["lines"] else ""
    est["current_organization"] = est["organization"]
    ui = ESTIMATE_STATUSES.get(est["status"], "draft")
    est["ui_status"] = ui
    est["display_status"] = ui if ui in ("draft", "sent", "viewed") else "sent"
    est["accepted"] = est["status"] in (5, 6)
    est["invoiced"] = est["status"] == 6


def _compute(store: Store, est: Obj) -> None:
    recompute_estimate(est)


def _states(store: Store, est: Obj, trap: Mapping[str, Any]) -> None:
    if any(trap.get(k) for k in ("action_mark_as_sent", "action_email")) and est["status"] == 1:
        est["status"] = 2
        est["ui_status"] = est["display_status"] = "sent"


def _decorate(store: Store, est: Obj, out: Obj, includes: frozenset[str]) -> None:
    if "invoices" in includes:
        invoices = store.tables["invoices"]
        out["invoices"] = [
            invoices.view(invoices.rows[i], frozenset())
            for i in sorted(invoices.ids_where("estimateid", est["id"]))
            if invoices.rows[i]["vis_state"] != 1
        ]
    for key in ("audit_logs", "comments", "contacts"):
        if key in includes:
            out[key] = []
    if "owner" in includes:
        out["owner"] = {"userid": 1, "first_name": "Sandy", "last_name": "Box"}
    for key in ("presentation", "project", "system"):
        if key in includes:
            out[key] = None
    if "direct_links" in includes:
        out["links"] = {
            "client_view": f"https://my.freshbooks.com/#/estimate/{store.account_id}-{est['id']}"
        }


ESTIMATES = Resource(
    name="estimates",
    path="estimates/estimates",
    single="estimate",
    plural="estimates",
    pk="estimateid",
    noun="estimate",
    template=new_estimate,
    first_id=300_001,
    fields=FIELDS,
    required=("customerid", "create_date"),
    filters=FILTERS,
    includes=frozenset(
        {
            "audit_logs",
            "comments",
            "contacts",
            "direct_links",
            "lines",
            "owner",
            "presentation",
            "project",
            "invoices",
            "system",
        }
    ),
    sorts={"create_date": field_of("create_date")},
    lines=Lines(backref="estimateid", template=new_estimate_line, lineid=False),
    http_delete="soft",
    created_keys=("created_at",),
    number_key="estimate_number",
    indexes=("customerid",),
    prepare=_prepare,
    compute=_compute,
    decorate=_decorate,
    states=_states,
)
