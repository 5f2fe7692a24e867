"""The sandbox over a real loopback socket, driven with plain ``requests``."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from sandbox_helpers import authed_session, invoices_url, list_all

from freshbooks_orm.sandbox import RecordedRequest, Sandbox
from freshbooks_orm.sandbox.resources.invoices import V3_STATUSES

Inv = dict[str, Any]

# Every key of the seed doc's "Get Single Invoice" example.
DOC_INVOICE_KEYS = {
    "status", "deposit_percentage", "create_date", "outstanding", "payment_status", "code",
    "ownerid", "vat_number", "id", "gmail", "vat_name", "v3_status", "parent", "country",
    "dispute_status", "lname", "deposit_status", "estimateid", "ext_archive", "template",
    "basecampid", "generation_date", "show_attachments", "vis_state", "current_organization",
    "province", "due_date", "updated", "terms", "description", "discount_description",
    "last_order_status", "street2", "deposit_amount", "paid", "invoiceid", "discount_total",
    "address", "invoice_number", "customerid", "discount_value", "accounting_systemid",
    "organization", "due_offset_days", "language", "po_number", "display_status", "notes",
    "date_paid", "amount", "street", "city", "currency_code", "sentid", "autobill_status",
    "return_uri", "fname", "created_at", "auto_bill", "accountid",
}  # fmt: skip
LINE_KEYS = {
    "lineid", "invoiceid", "type", "name", "description", "qty", "unit_cost", "amount",
    "taxName1", "taxAmount1", "taxName2", "taxAmount2", "taxNumber1", "taxNumber2",
    "compounded_tax", "retainer_id", "basecampid", "expenseid", "updated",
}  # fmt: skip
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
MONEY_RE = re.compile(r"^-?\d+\.\d{2}$")


def active(data: dict[int, Inv]) -> list[Inv]:
    return [inv for inv in data.values() if inv["vis_state"] != 1]


def amt(inv: Inv, key: str = "amount") -> Decimal:
    return Decimal(inv[key]["amount"])


def ids(invs: list[Inv]) -> set[int]:
    return {inv["id"] for inv in invs}


def error_of(r: requests.Response) -> dict[str, Any]:
    errors = r.json()["response"]["errors"]
    assert isinstance(errors, list) and len(errors) == 1
    assert set(errors[0]) == {"errno", "field", "message", "object", "value"}
    return dict(errors[0])


def expected_total(inv: Inv) -> Decimal:
    """An invoice total recomputed independently from its lines."""
    total = Decimal(0)
    for line in inv["lines"]:
        base = (Decimal(line["qty"]) * Decimal(line["unit_cost"]["amount"])).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        )
        total += base
        for key in ("taxAmount1", "taxAmount2"):
            total += (base * Decimal(line[key]) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return total


# --------------------------------------------------------------------------- envelopes, format


def test_single_envelope_and_wire_format(sb: Sandbox, http: requests.Session, data: Any) -> None:
    some = next(inv for inv in data.values() if inv["v3_status"] == "partial")
    r = http.get(invoices_url(sb, some["id"]))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert list(body) == ["response"]
    assert list(body["response"]) == ["result"]
    assert list(body["response"]["result"]) == ["invoice"]
    inv = body["response"]["result"]["invoice"]
    assert set(inv) >= DOC_INVOICE_KEYS
    assert {"uuid", "version"} <= set(inv)  # extra keys the live API sends
    assert "lines" not in inv
    assert inv["id"] == inv["invoiceid"] == some["id"]
    assert inv["accountid"] == inv["accounting_systemid"] == sb.account_id
    for key in ("amount", "paid", "outstanding", "discount_total"):
        assert set(inv[key]) == {"amount", "code"}
        assert MONEY_RE.match(inv[key]["amount"])
        assert inv[key]["code"] == inv["currency_code"]
    assert DATE_RE.match(inv["create_date"]) and DATE_RE.match(inv["due_date"])
    assert DATETIME_RE.match(inv["created_at"]) and DATETIME_RE.match(inv["updated"])
    assert isinstance(inv["status"], int) and inv["status"] == 8
    assert inv["payment_status"] == "partial"
    assert Decimal(0) < amt(inv, "paid") < amt(inv)
    assert amt(inv, "outstanding") == amt(inv) - amt(inv, "paid")
    assert isinstance(inv["vis_state"], int) and isinstance(inv["customerid"], int)


def test_lines_wire_format(sb: Sandbox, http: requests.Session, data: Any) -> None:
    some = next(inv for inv in data.values() if len(inv["lines"]) >= 2)
    inv = http.get(invoices_url(sb, some["id"]), params={"include[]": "lines"}).json()
    lines = inv["response"]["result"]["invoice"]["lines"]
    assert lines == some["lines"]
    for line in lines:
        assert set(line) >= LINE_KEYS
        assert isinstance(line["qty"], str) and isinstance(line["taxAmount1"], str)
        assert isinstance(line["taxAmount2"], str) and isinstance(line["lineid"], int)
        assert set(line["unit_cost"]) == {"amount", "code"} == set(line["amount"])
        assert line["invoiceid"] == some["id"]
        assert DATETIME_RE.match(line["updated"])
        assert Decimal(line["amount"]["amount"]) == (
            Decimal(line["qty"]) * Decimal(line["unit_cost"]["amount"])
        ).quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_list_envelope(sb: Sandbox, http: requests.Session, data: Any) -> None:
    r = http.get(invoices_url(sb))
    assert r.status_code == 200
    result = r.json()["response"]["result"]
    assert set(result) == {"invoices", "page", "pages", "per_page", "total"}
    n = len(active(data))
    assert result["total"] == n
    assert result["per_page"] == 15 and result["page"] == 1
    assert result["pages"] == -(-n // 15)
    assert len(result["invoices"]) == 15
    assert all("lines" not in inv for inv in result["invoices"])


def test_keep_alive_and_content_length(sb: Sandbox, http: requests.Session) -> None:
    r1 = http.get(invoices_url(sb))
    r2 = http.get(invoices_url(sb) + "/1")
    for r in (r1, r2):
        assert r.raw.version == 11
        assert int(r.headers["Content-Length"]) == len(r.content)
        assert r.headers.get("Connection", "").lower() != "close"


# --------------------------------------------------------------------------- auth and 404


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}, {"Authorization": ""}],
)
def test_401_without_valid_token(sb: Sandbox, headers: dict[str, str]) -> None:
    """Accounting endpoints answer 401 in the accounting envelope (errno 1003); only the
    identity endpoint answers ``{"error": "unauthenticated", ...}``."""
    r = requests.get(invoices_url(sb), headers=headers)
    assert r.status_code == 401
    err = error_of(r)
    assert err["errno"] == 1003 and "authorized" in err["message"]
    r = requests.get(f"{sb.url}/auth/api/v1/users/me", headers=headers)
    assert r.status_code == 401
    body = r.json()
    assert body["error"] == "unauthenticated" and body["error_description"]


def test_expire_access_tokens(fresh: Sandbox, fhttp: requests.Session) -> None:
    assert fhttp.get(invoices_url(fresh)).status_code == 200
    fresh.expire_access_tokens()
    r = fhttp.get(invoices_url(fresh))
    assert r.status_code == 401 and error_of(r)["errno"] == 1003
    new = fresh.issue_tokens()  # tokens issued afterwards work
    r = requests.get(
        invoices_url(fresh), headers={"Authorization": f"Bearer {new['access_token']}"}
    )
    assert r.status_code == 200


def test_token_lifetime(fresh: Sandbox) -> None:
    assert fresh.token_lifetime == 43200
    fresh.token_lifetime = 1
    tok = fresh.issue_tokens()
    assert tok["expires_in"] == 1 and tok["token_type"] == "Bearer"
    headers = {"Authorization": f"Bearer {tok['access_token']}"}
    assert requests.get(invoices_url(fresh), headers=headers).status_code == 200
    time.sleep(1.1)
    assert requests.get(invoices_url(fresh), headers=headers).status_code == 401
    # the sandbox's own token (issued with the default lifetime) is still fine
    with authed_session(fresh) as s:
        assert s.get(invoices_url(fresh)).status_code == 200


def test_404_unknown_account(sb: Sandbox, http: requests.Session) -> None:
    r = http.get(invoices_url(sb, account="XXXXX"))
    assert r.status_code == 404
    err = error_of(r)
    assert err["errno"] == 1012 and err["object"] == "account" and err["value"] == "XXXXX"


def test_404_unknown_invoice(sb: Sandbox, http: requests.Session) -> None:
    for bad in ("123", "abc"):
        r = http.get(invoices_url(sb) + f"/{bad}")
        assert r.status_code == 404
        err = error_of(r)
        assert err["errno"] == 1012 and err["field"] == "invoiceid" and err["value"] == bad
    assert http.put(invoices_url(sb, 123), json={"invoice": {"notes": "x"}}).status_code == 404
    assert http.delete(invoices_url(sb, 123)).status_code == 404


def test_404_unknown_path(sb: Sandbox, http: requests.Session) -> None:
    r = http.get(f"{sb.url}/accounting/account/{sb.account_id}/nothing/here")
    assert r.status_code == 404
    assert "errors" in r.json()["response"]


def test_extra_account_is_empty(fresh: Sandbox, fhttp: requests.Session) -> None:
    result = fhttp.get(invoices_url(fresh, account="AbC12")).json()["response"]["result"]
    assert result == {"invoices": [], "page": 1, "pages": 0, "per_page": 15, "total": 0}


def test_empty_sandbox() -> None:
    with Sandbox(invoices=0) as sb, authed_session(sb) as s:
        assert sb.invoices == {}
        result = s.get(invoices_url(sb)).json()["response"]["result"]
        assert result["total"] == 0 and result["pages"] == 0 and result["invoices"] == []


# --------------------------------------------------------------------------- filters


FilterCase = Callable[[list[Inv]], tuple[list[tuple[str, str]], Callable[[Inv], bool]]]


def _f_invoiceid(a: list[Inv]) -> Any:
    t = a[7]["id"]
    return [("search[invoiceid]", str(t))], lambda i: i["id"] == t


def _f_invoiceids(a: list[Inv]) -> Any:
    t = {a[1]["id"], a[20]["id"], a[33]["id"]}
    return [("search[invoiceids][]", str(x)) for x in t], lambda i: i["id"] in t


def _f_invoice_number(a: list[Inv]) -> Any:
    t = a[12]["invoice_number"]
    return [("search[invoice_number]", t)], lambda i: i["invoice_number"] == t


def _f_invoice_number_like(a: list[Inv]) -> Any:
    return [("search[invoice_number_like]", "01")], lambda i: "01" in i["invoice_number"]


def _f_notes(a: list[Inv]) -> Any:
    return [("search[notes]", "THANK you")], lambda i: "thank you" in i["notes"].lower()


def _f_statusid(a: list[Inv]) -> Any:
    return [("search[statusid]", "4")], lambda i: i["status"] == 4


def _f_statusids(a: list[Inv]) -> Any:
    q = [("search[statusids][]", "2"), ("search[statusids][]", "8")]
    return q, lambda i: i["status"] in (2, 8)


def _f_v3_status(a: list[Inv]) -> Any:
    return [("search[v3_status]", "overdue")], lambda i: i["v3_status"] == "overdue"


def _f_currency_code(a: list[Inv]) -> Any:
    return [("search[currency_code]", "CAD")], lambda i: i["currency_code"] == "CAD"


def _f_currency(a: list[Inv]) -> Any:
    return [("search[currency]", "EUR")], lambda i: i["currency_code"] == "EUR"


def _f_date_min(a: list[Inv]) -> Any:
    t = a[40]["create_date"]  # boundary: an existing date is included
    return [("search[date_min]", t)], lambda i: i["create_date"] >= t


def _f_date_max(a: list[Inv]) -> Any:
    t = a[40]["create_date"]  # boundary: an existing date is excluded
    return [("search[date_max]", t)], lambda i: i["create_date"] < t


def _f_date_range(a: list[Inv]) -> Any:
    q = [("search[date_min]", "2023-01-01"), ("search[date_max]", "2024-01-01")]
    return q, lambda i: "2023-01-01" <= i["create_date"] < "2024-01-01"


def _f_total_min(a: list[Inv]) -> Any:
    t = amt(a[9])
    return [("search[total_min]", str(t))], lambda i: amt(i) >= t


def _f_total_max(a: list[Inv]) -> Any:
    t = amt(a[9])
    return [("search[total_max]", str(t))], lambda i: amt(i) < t


def _f_po_number(a: list[Inv]) -> Any:
    return [("search[po_number]", "po-1")], lambda i: "po-1" in (i["po_number"] or "").lower()


def _f_customerid(a: list[Inv]) -> Any:
    t = a[3]["customerid"]
    return [("search[customerid]", str(t))], lambda i: i["customerid"] == t


def _f_customerids(a: list[Inv]) -> Any:
    t = {a[3]["customerid"], a[4]["customerid"]}
    return [("search[customerids][]", str(x)) for x in t], lambda i: i["customerid"] in t


def _f_parentid(a: list[Inv]) -> Any:
    t = next(i["parent"] for i in a if i["parent"])
    return [("search[parentid]", str(t))], lambda i: i["parent"] == t


def _f_paid_true(a: list[Inv]) -> Any:
    return [("search[paid]", "true")], lambda i: i["payment_status"] in ("paid", "auto-paid")


def _f_paid_false(a: list[Inv]) -> Any:
    return [("search[paid]", "0")], lambda i: i["payment_status"] not in ("paid", "auto-paid")


def _f_paid_top_level(a: list[Inv]) -> Any:  # as FreshBooks' own SDK sends booleans
    return [("paid", "True")], lambda i: i["payment_status"] in ("paid", "auto-paid")


def _f_outstanding_true(a: list[Inv]) -> Any:
    return [("search[outstanding]", "TRUE")], lambda i: amt(i, "outstanding") > 0


def _f_outstanding_false(a: list[Inv]) -> Any:
    return [("outstanding", "false")], lambda i: amt(i, "outstanding") == 0


def _f_updated_min(a: list[Inv]) -> Any:
    t = a[50]["updated"][:10]
    return [("search[updated_min]", t)], lambda i: i["updated"][:10] >= t


def _f_updated_max(a: list[Inv]) -> Any:
    t = a[50]["updated"][:10]
    return [("search[updated_max]", t)], lambda i: i["updated"][:10] < t


def _f_item_name(a: list[Inv]) -> Any:
    def pred(i: Inv) -> bool:
        return any("consult" in ln["name"].lower() for ln in i["lines"])

    return [("search[item_name]", "CONSULT")], pred


def _f_item_description(a: list[Inv]) -> Any:
    def pred(i: Inv) -> bool:
        return any("hourly" in ln["description"].lower() for ln in i["lines"])

    return [("search[item_description]", "hourly")], pred


def _f_projectid(a: list[Inv]) -> Any:
    t = next(i["projectid"] for i in a if i["projectid"])
    return [("search[projectid]", str(t))], lambda i: i["projectid"] == t


def _f_outstanding_min(a: list[Inv]) -> Any:
    t = amt(next(i for i in a if amt(i, "outstanding") > 0), "outstanding")
    return [("search[outstanding_min]", str(t))], lambda i: amt(i, "outstanding") > t


def _f_combined(a: list[Inv]) -> Any:
    q = [("search[currency_code]", "USD"), ("search[paid]", "false")]
    return (
        q,
        lambda i: (
            i["currency_code"] == "USD"
            and i["payment_status"]
            not in (
                "paid",
                "auto-paid",
            )
        ),
    )


FILTERS: dict[str, FilterCase] = {
    name[3:]: fn for name, fn in sorted(globals().items()) if name.startswith("_f_")
}


@pytest.mark.parametrize("case", sorted(FILTERS))
def test_filter(case: str, sb: Sandbox, http: requests.Session, data: Any) -> None:
    pool = sorted(active(data), key=lambda i: i["id"])
    query, pred = FILTERS[case](pool)
    expected = {i["id"] for i in pool if pred(i)}
    assert 0 < len(expected) < len(pool), "the case must select a proper subset"
    got = list_all(http, sb, query)
    assert len(got) == len({i["id"] for i in got})
    assert ids(got) == expected


@pytest.mark.parametrize("vis", [0, 1, 2])
def test_vis_state_filter(vis: int, sb: Sandbox, http: requests.Session, data: Any) -> None:
    expected = {i["id"] for i in data.values() if i["vis_state"] == vis}
    assert expected
    assert ids(list_all(http, sb, [("search[vis_state]", str(vis))])) == expected


def test_default_list_excludes_deleted_includes_archived(
    sb: Sandbox, http: requests.Session, data: Any
) -> None:
    got = ids(list_all(http, sb))
    deleted = {i["id"] for i in data.values() if i["vis_state"] == 1}
    archived = {i["id"] for i in data.values() if i["vis_state"] == 2}
    assert deleted and archived
    assert not got & deleted
    assert archived <= got
    assert got == set(data) - deleted


def test_unknown_search_keys_are_ignored(sb: Sandbox, http: requests.Session, data: Any) -> None:
    query = [
        ("search[status]", "2"),
        ("search[payment_status]", "paid"),
        ("search[create_date_min]", "2030-01-01"),
        ("search[bogus][]", "x"),
    ]
    assert ids(list_all(http, sb, query)) == {i["id"] for i in active(data)}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("search[date_min]", "yesterday"),
        ("search[date_max]", "2024-13-01"),
        ("search[updated_min]", "2024/01/01"),
        ("search[total_min]", "abc"),
        ("search[total_max]", "1,000"),
        ("search[outstanding_min]", "lots"),
        ("search[paid]", "maybe"),
        ("outstanding", "yes"),
        ("search[invoiceids][]", "x1"),
        ("search[customerid]", "acme"),
        ("search[vis_state]", "7"),
    ],
)
def test_malformed_filter_value(sb: Sandbox, http: requests.Session, key: str, value: str) -> None:
    r = http.get(invoices_url(sb), params=[(key, value)])
    assert r.status_code == 400
    err = error_of(r)
    field = key.removeprefix("search[").split("]")[0]
    assert err["errno"] == 1004 and err["field"] == field and err["value"] == value


# --------------------------------------------------------------------------- paging and sort


def test_paging(sb: Sandbox, http: requests.Session, data: Any) -> None:
    n = len(active(data))
    r = http.get(invoices_url(sb), params={"per_page": 500}).json()["response"]["result"]
    assert r["per_page"] == 100 and len(r["invoices"]) == 100  # silently capped
    assert r["pages"] == -(-n // 100) and r["total"] == n
    r7 = http.get(invoices_url(sb), params={"per_page": 7, "page": 3}).json()["response"]["result"]
    assert (r7["page"], r7["per_page"], r7["pages"], r7["total"]) == (3, 7, -(-n // 7), n)
    all_ids = sorted((i["id"] for i in active(data)), reverse=True)
    assert [i["id"] for i in r7["invoices"]] == all_ids[14:21]
    last = http.get(invoices_url(sb), params={"per_page": 7, "page": r7["pages"]}).json()
    assert len(last["response"]["result"]["invoices"]) == n - 7 * (r7["pages"] - 1)
    past = http.get(invoices_url(sb), params={"per_page": 7, "page": 999}).json()
    assert past["response"]["result"] == {
        "invoices": [],
        "page": 999,
        "pages": r7["pages"],
        "per_page": 7,
        "total": n,
    }


@pytest.mark.parametrize(
    ("params", "errno", "field"),
    [
        ({"per_page": "0"}, 1013, "per_page"),
        ({"per_page": "ten"}, 1013, "per_page"),
        ({"per_page": "-5"}, 1013, "per_page"),
        ({"page": "-1"}, 1014, "page"),
        ({"page": "1.5"}, 1014, "page"),
        ({"page": "x"}, 1014, "page"),
    ],
)
def test_bad_paging(
    sb: Sandbox, http: requests.Session, params: dict[str, str], errno: int, field: str
) -> None:
    r = http.get(invoices_url(sb), params=params)
    assert r.status_code == 400
    err = error_of(r)
    assert err["errno"] == errno and err["field"] == field


def test_sort(sb: Sandbox, http: requests.Session, data: Any) -> None:
    pool = active(data)
    default = [i["id"] for i in list_all(http, sb)]
    assert default == sorted((i["id"] for i in pool), reverse=True)
    asc = [i["id"] for i in list_all(http, sb, [("sort", "invoice_date_asc")])]
    assert asc == [i["id"] for i in sorted(pool, key=lambda i: (i["create_date"], i["id"]))]
    desc = [i["id"] for i in list_all(http, sb, [("sort", "invoice_date_desc")])]
    assert desc == asc[::-1]
    assert asc != sorted(asc)  # back-dated invoices: date order differs from id order
    unknown = [i["id"] for i in list_all(http, sb, [("sort", "amount_asc")])]
    assert unknown == default


# --------------------------------------------------------------------------- includes


def test_includes(sb: Sandbox, http: requests.Session, data: Any) -> None:
    iid = next(iter(data))
    url = invoices_url(sb, iid)
    plain = http.get(url).json()["response"]["result"]["invoice"]
    assert "lines" not in plain and "owner" not in plain
    q = [("include[]", "lines"), ("include[]", "owner"), ("include[]", "presentation")]
    q += [("include[]", "direct_links"), ("include[]", "no_such_include")]
    rich = http.get(url, params=q).json()["response"]["result"]["invoice"]
    assert rich["lines"] == data[iid]["lines"]
    assert rich["owner"]["userid"] == 1
    assert rich["presentation"]["id"] == iid
    assert str(iid) in rich["links"]["client_view"]
    assert "no_such_include" not in rich
    assert set(rich) - set(plain) == {"lines", "owner", "presentation", "links"}
    listed = http.get(invoices_url(sb), params={"include[]": "lines"}).json()
    assert all("lines" in i for i in listed["response"]["result"]["invoices"])
    listed = http.get(invoices_url(sb), params={"include[]": "owner"}).json()
    assert all("lines" not in i for i in listed["response"]["result"]["invoices"])


# --------------------------------------------------------------------------- POST


def test_create_computes_amounts(fresh: Sandbox, fhttp: requests.Session) -> None:
    before = len(fresh.invoices)
    body = {
        "invoice": {
            "email": "test@example.com",  # unknown keys are accepted and ignored
            "customerid": 200_001,
            "create_date": "2024-04-04",
            "due_offset_days": 30,
            "lines": [
                {"name": "A", "qty": 4, "unit_cost": {"amount": "12.50", "code": "USD"},
                 "taxName1": "HST", "taxAmount1": 13},
                {"name": "B", "qty": "1.5", "unit_cost": {"amount": 10, "code": "USD"},
                 "taxAmount1": "5", "taxAmount2": "7"},
                {"name": "C", "qty": "0.5", "unit_cost": {"amount": "0.05"}},
            ],
        }
    }  # fmt: skip
    r = fhttp.post(invoices_url(fresh), json=body)
    assert r.status_code == 200, r.text
    inv = r.json()["response"]["result"]["invoice"]
    assert "lines" not in inv and "email" not in inv
    # 50.00 + 6.50 tax; 15.00 + 0.75 + 1.05 tax; 0.025 -> 0.03 (ROUND_HALF_UP)
    assert inv["amount"] == {"amount": "73.33", "code": "USD"}
    assert inv["outstanding"] == {"amount": "73.33", "code": "USD"}
    assert inv["paid"] == {"amount": "0.00", "code": "USD"}
    assert (inv["status"], inv["v3_status"], inv["display_status"]) == (1, "draft", "draft")
    assert inv["currency_code"] == "USD" and inv["vis_state"] == 0
    assert inv["due_date"] == "2024-05-04"
    assert inv["invoice_number"] == "0000061"  # next after the 60 seeded ones
    assert inv["id"] == inv["invoiceid"] and inv["id"] not in range(1_000_001, 1_000_061)
    eastern_now = dt.datetime.now(ZoneInfo("America/New_York")).replace(tzinfo=None)
    created = dt.datetime.strptime(inv["created_at"], "%Y-%m-%d %H:%M:%S")
    assert abs((created - eastern_now).total_seconds()) < 120
    assert inv["updated"] == inv["created_at"]
    stored = fresh.invoices[inv["id"]]
    assert len(fresh.invoices) == before + 1
    assert [ln["lineid"] for ln in stored["lines"]] == [1, 2, 3]
    assert [ln["amount"]["amount"] for ln in stored["lines"]] == ["50.00", "15.00", "0.03"]
    assert [ln["qty"] for ln in stored["lines"]] == ["4", "1.5", "0.5"]
    assert [ln["taxAmount1"] for ln in stored["lines"]] == ["13", "5", "0"]
    assert stored["organization"] == fresh.store.customers[200_001]["organization"]


def test_create_with_include_lines_and_given_number(
    fresh: Sandbox, fhttp: requests.Session
) -> None:
    body = {
        "invoice": {
            "customerid": next(iter(fresh.objects("clients"))),
            "create_date": "2024-01-31",
            "currency_code": "CAD",
            "invoice_number": "INV-7",
            "lines": [{"name": "x", "qty": 2, "unit_cost": {"amount": "3.10", "code": "CAD"}}],
        }
    }
    r = fhttp.post(invoices_url(fresh), params={"include[]": "lines"}, json=body)
    inv = r.json()["response"]["result"]["invoice"]
    assert inv["invoice_number"] == "INV-7"
    assert inv["amount"] == {"amount": "6.20", "code": "CAD"}
    assert inv["lines"][0]["amount"] == {"amount": "6.20", "code": "CAD"}
    assert inv["lines"][0]["lineid"] == 1 and inv["lines"][0]["invoiceid"] == inv["id"]


@pytest.mark.parametrize(
    ("invoice", "status", "errno", "field"),
    [
        ({"create_date": "2024-01-01"}, 422, 1001, "customerid"),
        ({"customerid": 200_001}, 422, 1001, "create_date"),
        ({"customerid": 200_001, "create_date": "01/02/2024"}, 422, 1033, "create_date"),
        ({"customerid": "abc", "create_date": "2024-01-01"}, 422, 1015, "customerid"),
        ({"customerid": 0, "create_date": "2024-01-01"}, 422, 1004, "customerid"),
        (
            {"customerid": 1, "create_date": "2024-01-01", "lines": [{"qty": "many"}]},
            422,
            1015,
            "lines[0].qty",
        ),
    ],
)
def test_create_validation(
    fresh: Sandbox,
    fhttp: requests.Session,
    invoice: dict[str, Any],
    status: int,
    errno: int,
    field: str,
) -> None:
    before = fresh.invoices
    r = fhttp.post(invoices_url(fresh), json={"invoice": invoice})
    assert r.status_code == status
    err = error_of(r)
    assert (err["errno"], err["field"]) == (errno, field)
    assert fresh.invoices == before


def test_create_without_invoice_key_or_bad_json(fresh: Sandbox, fhttp: requests.Session) -> None:
    r = fhttp.post(invoices_url(fresh), json={"customerid": 1, "create_date": "2024-01-01"})
    assert r.status_code == 422 and error_of(r)["field"] == "invoice"
    r = fhttp.post(invoices_url(fresh), data="{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and error_of(r)["errno"] == 1005


# --------------------------------------------------------------------------- PUT


def _pick(sb: Sandbox, pred: Callable[[Inv], bool]) -> Inv:
    return next(i for i in sorted(sb.invoices.values(), key=lambda i: i["id"]) if pred(i))


def test_put_updates_only_given_keys(fresh: Sandbox, fhttp: requests.Session) -> None:
    old = _pick(fresh, lambda i: i["vis_state"] == 0 and len(i["lines"]) >= 2)
    r = fhttp.put(
        invoices_url(fresh, old["id"]),
        json={
            "invoice": {
                "po_number": "PO-NEW",
                "notes": "changed",
                "amount": {"amount": "1.00", "code": "USD"},  # computed: ignored
                "outstanding": {"amount": "0.00", "code": "USD"},
                "id": 5,
                "invoiceid": 5,
                "status": 4,
                "unknown_key": 1,
            }
        },
    )
    assert r.status_code == 200, r.text
    inv = r.json()["response"]["result"]["invoice"]
    assert "lines" not in inv
    new = fresh.invoices[old["id"]]
    assert new["po_number"] == "PO-NEW" and new["notes"] == "changed"
    assert inv["po_number"] == "PO-NEW"
    changed = {k for k in old if old[k] != new[k]}
    assert changed == {"po_number", "notes", "updated", "version"}
    assert new["updated"] > old["updated"]


def test_put_updated_strictly_increases(fresh: Sandbox, fhttp: requests.Session) -> None:
    iid = _pick(fresh, lambda i: True)["id"]
    stamps = []
    for n in range(4):
        r = fhttp.put(invoices_url(fresh, iid), json={"invoice": {"notes": f"n{n}"}})
        stamps.append(r.json()["response"]["result"]["invoice"]["updated"])
    assert stamps == sorted(stamps) and len(set(stamps)) == 4


def test_put_lines_replace_semantics(fresh: Sandbox, fhttp: requests.Session) -> None:
    old = _pick(fresh, lambda i: len(i["lines"]) >= 3 and i["currency_code"] == "USD")
    kept = old["lines"][1]
    r = fhttp.put(
        invoices_url(fresh, old["id"]),
        params={"include[]": "lines"},
        json={
            "invoice": {
                "lines": [
                    {"lineid": kept["lineid"], "qty": 7},
                    {"name": "Brand new", "qty": "2", "unit_cost": {"amount": "10.00"}},
                ]
            }
        },
    )
    assert r.status_code == 200, r.text
    lines = r.json()["response"]["result"]["invoice"]["lines"]
    assert len(lines) == 2
    assert lines[0]["lineid"] == kept["lineid"]
    assert lines[0]["qty"] == "7"
    # the line in the body is the whole line: what it omits takes its default, not the old value
    assert (lines[0]["name"], lines[0]["description"], lines[0]["taxName1"]) == ("", "", "")
    assert lines[0]["taxAmount1"] == "0" and lines[0]["unit_cost"]["amount"] == "0.00"
    assert lines[0]["amount"]["amount"] == "0.00"
    assert lines[1]["lineid"] == max(ln["lineid"] for ln in old["lines"]) + 1
    assert lines[1]["name"] == "Brand new"
    stored = fresh.invoices[old["id"]]
    assert stored["lines"] == lines
    assert amt(stored) == expected_total(stored)
    assert amt(stored) != amt(old)
    # a later new line never reuses a deleted lineid
    r = fhttp.put(
        invoices_url(fresh, old["id"]),
        params={"include[]": "lines"},
        json={"invoice": {"lines": [{"name": "only", "qty": 1, "unit_cost": {"amount": "1"}}]}},
    )
    (only,) = r.json()["response"]["result"]["invoice"]["lines"]
    assert only["lineid"] == lines[1]["lineid"] + 1
    assert fresh.invoices[old["id"]]["amount"]["amount"] == "1.00"


def test_put_empty_lines_deletes_all(fresh: Sandbox, fhttp: requests.Session) -> None:
    old = _pick(fresh, lambda i: i["payment_status"] == "unpaid")
    r = fhttp.put(invoices_url(fresh, old["id"]), json={"invoice": {"lines": []}})
    assert r.status_code == 200
    stored = fresh.invoices[old["id"]]
    assert stored["lines"] == [] and stored["amount"]["amount"] == "0.00"


def test_put_unknown_lineid(fresh: Sandbox, fhttp: requests.Session) -> None:
    old = _pick(fresh, lambda i: True)
    r = fhttp.put(
        invoices_url(fresh, old["id"]),
        json={"invoice": {"notes": "nope", "lines": [{"lineid": 999, "qty": 1}]}},
    )
    assert r.status_code == 422
    err = error_of(r)
    assert (err["errno"], err["field"], err["value"]) == (1012, "lineid", "999")
    assert fresh.invoices[old["id"]] == old  # atomic: notes not applied either


def _whole_line(line: dict[str, Any]) -> dict[str, Any]:
    """A stored line as a client sends it back: its lineid and every writable key."""
    keys = ("lineid", "type", "name", "description", "qty", "unit_cost", "taxName1",
            "taxAmount1", "taxName2", "taxAmount2")  # fmt: skip
    return {k: line[k] for k in keys if k in line}


@pytest.mark.parametrize("key", ["amount", "updated", "invoiceid", "compounded_tax", "taskno"])
def test_put_computed_line_keys_are_ignored(
    fresh: Sandbox, fhttp: requests.Session, key: str
) -> None:
    """Only taxNumber1/2 have evidence of a rejection; other read-only line keys (which the
    Node SDK sends back) are ignored, the line keeps its computed values."""
    old = _pick(fresh, lambda i: len(i["lines"]) >= 2)
    lines = [_whole_line(ln) for ln in old["lines"]]
    lines[1][key] = {"amount": "1.00", "code": "XXX"} if key == "amount" else 77
    r = fhttp.put(
        invoices_url(fresh, old["id"]), json={"invoice": {"po_number": "X", "lines": lines}}
    )
    assert r.status_code == 200
    new = fresh.invoices[old["id"]]
    assert new["po_number"] == "X"
    assert new["lines"][1][key] == (old["lines"][1][key] if key != "updated" else new["updated"])


@pytest.mark.parametrize("key", ["taxNumber1", "taxNumber2"])
def test_put_read_only_line_keys(fresh: Sandbox, fhttp: requests.Session, key: str) -> None:
    old = _pick(fresh, lambda i: len(i["lines"]) >= 2)
    lines = [{"lineid": ln["lineid"]} for ln in old["lines"]]
    lines[1][key] = old["lines"][1][key]
    r = fhttp.put(
        invoices_url(fresh, old["id"]), json={"invoice": {"po_number": "X", "lines": lines}}
    )
    assert r.status_code == 422
    err = error_of(r)
    assert (err["errno"], err["field"]) == (1004, f"lines[1].{key}")
    assert fresh.invoices[old["id"]] == old


def test_put_invalid_field_is_atomic(fresh: Sandbox, fhttp: requests.Session) -> None:
    old = _pick(fresh, lambda i: True)
    r = fhttp.put(
        invoices_url(fresh, old["id"]),
        json={"invoice": {"notes": "new", "create_date": "not a date"}},
    )
    assert r.status_code == 422 and error_of(r)["field"] == "create_date"
    assert fresh.invoices[old["id"]] == old


@pytest.mark.parametrize("trap", [{"vis_state": 2}, {"ext_vis_state": 2}])
def test_vis_state_trap_drops_other_keys(
    fresh: Sandbox, fhttp: requests.Session, trap: dict[str, int]
) -> None:
    old = _pick(fresh, lambda i: i["vis_state"] == 0 and len(i["lines"]) > 1)
    body = {"invoice": {"po_number": "DROPPED", "notes": "DROPPED", "lines": [], **trap}}
    r = fhttp.put(invoices_url(fresh, old["id"]), json=body)
    assert r.status_code == 200
    assert r.json() == {"response": {}}
    new = fresh.invoices[old["id"]]
    assert new["vis_state"] == 2
    assert new["po_number"] == old["po_number"] and new["notes"] == old["notes"]
    assert new["lines"] == old["lines"]
    assert new["updated"] > old["updated"]
    # even the same value triggers the trap
    r = fhttp.put(invoices_url(fresh, old["id"]), json={"invoice": {"vis_state": 2, "notes": "z"}})
    assert r.json() == {"response": {}} and fresh.invoices[old["id"]]["notes"] == old["notes"]


def test_vis_state_undelete_and_invalid(fresh: Sandbox, fhttp: requests.Session) -> None:
    iid = _pick(fresh, lambda i: i["vis_state"] == 1)["id"]
    assert fhttp.put(invoices_url(fresh, iid), json={"invoice": {"vis_state": 0}}).ok
    assert fresh.invoices[iid]["vis_state"] == 0
    assert iid in ids(list_all(fhttp, fresh))
    r = fhttp.put(invoices_url(fresh, iid), json={"invoice": {"vis_state": 5}})
    assert r.status_code == 422 and error_of(r)["field"] == "vis_state"


@pytest.mark.parametrize("action", ["action_mark_as_sent", "action_email"])
def test_action_keys(fresh: Sandbox, fhttp: requests.Session, action: str) -> None:
    old = _pick(fresh, lambda i: i["v3_status"] == "draft")
    body = {"invoice": {action: True, "notes": "DROPPED"}}
    r = fhttp.put(invoices_url(fresh, old["id"]), json=body)
    assert r.status_code == 200 and r.json() == {"response": {}}
    new = fresh.invoices[old["id"]]
    assert (new["status"], new["v3_status"], new["display_status"]) == (2, "sent", "sent")
    assert new["notes"] == old["notes"]


def test_put_bodies(fresh: Sandbox, fhttp: requests.Session) -> None:
    iid = _pick(fresh, lambda i: True)["id"]
    r = fhttp.put(invoices_url(fresh, iid), json={"notes": "x"})
    assert r.status_code == 422 and error_of(r)["errno"] == 1001
    r = fhttp.put(invoices_url(fresh, iid), data="[", headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_put_customer_change_denormalises(fresh: Sandbox, fhttp: requests.Session) -> None:
    old = _pick(fresh, lambda i: True)
    other = next(c for c in fresh.store.customers.values() if c["id"] != old["customerid"])
    r = fhttp.put(invoices_url(fresh, old["id"]), json={"invoice": {"customerid": other["id"]}})
    inv = r.json()["response"]["result"]["invoice"]
    assert inv["customerid"] == other["id"]
    assert inv["organization"] == inv["current_organization"] == other["organization"]
    assert (inv["street"], inv["city"]) == (other["p_street"], other["p_city"])


# --------------------------------------------------------------------------- DELETE


def test_delete_is_soft(fresh: Sandbox, fhttp: requests.Session) -> None:
    iid = _pick(fresh, lambda i: i["vis_state"] == 0)["id"]
    total = fhttp.get(invoices_url(fresh)).json()["response"]["result"]["total"]
    r = fhttp.delete(invoices_url(fresh, iid))
    assert r.status_code == 200 and r.json() == {"response": {}}
    assert fresh.invoices[iid]["vis_state"] == 1
    got = fhttp.get(invoices_url(fresh, iid)).json()["response"]["result"]["invoice"]
    assert got["vis_state"] == 1
    assert fhttp.get(invoices_url(fresh)).json()["response"]["result"]["total"] == total - 1
    assert iid not in ids(list_all(fhttp, fresh))
    assert iid in ids(list_all(fhttp, fresh, [("search[vis_state]", "1")]))


# --------------------------------------------------------------------------- identity, OAuth


def test_users_me(fresh: Sandbox, fhttp: requests.Session) -> None:
    r = fhttp.get(f"{fresh.url}/auth/api/v1/users/me")
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["response"] and "result" not in body["response"]
    me = body["response"]
    assert me["first_name"] and me["last_name"] and me["email"] and me["id"]
    accounts = [m["business"]["account_id"] for m in me["business_memberships"]]
    assert accounts == [fresh.account_id, "AbC12"]
    assert all(m["role"] == "owner" and m["business"]["name"] for m in me["business_memberships"])
    assert requests.get(f"{fresh.url}/auth/api/v1/users/me").status_code == 401


def _token(sb: Sandbox, **params: str) -> requests.Response:
    form = {"client_id": sb.client_id, "client_secret": sb.client_secret, **params}
    return requests.post(f"{sb.url}/auth/oauth/token", data=form)


def test_refresh_token_flow(fresh: Sandbox) -> None:
    r = _token(
        fresh,
        grant_type="refresh_token",
        refresh_token=fresh.refresh_token,
        redirect_uri=fresh.redirect_uri,
    )
    assert r.status_code == 200, r.text
    tok = r.json()
    assert set(tok) >= {"access_token", "refresh_token", "token_type", "expires_in", "created_at"}
    assert tok["token_type"] == "Bearer" and tok["expires_in"] == 43200 and tok["scope"]
    assert abs(tok["created_at"] - time.time()) < 60
    headers = {"Authorization": f"Bearer {tok['access_token']}"}
    assert requests.get(invoices_url(fresh), headers=headers).status_code == 200
    # the used refresh token is now invalid; the new one works once
    again = _token(fresh, grant_type="refresh_token", refresh_token=fresh.refresh_token)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert again.json()["error_description"]
    r2 = _token(fresh, grant_type="refresh_token", refresh_token=tok["refresh_token"])
    assert r2.status_code == 200 and r2.json()["refresh_token"] != tok["refresh_token"]


def test_refresh_with_json_body(fresh: Sandbox) -> None:
    tokens = fresh.issue_tokens()
    body = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": fresh.client_id,
        "client_secret": fresh.client_secret,
    }
    r = requests.post(f"{fresh.url}/auth/oauth/token", json=body)
    assert r.status_code == 200 and r.json()["access_token"] != tokens["access_token"]
    rec = fresh.requests[-1]
    assert rec.form is not None and rec.form["refresh_token"] == "***"
    assert rec.json["client_secret"] == "***"


def test_token_errors(fresh: Sandbox) -> None:
    tok = fresh.issue_tokens()
    bad = requests.post(
        f"{fresh.url}/auth/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tok["refresh_token"],
            "client_id": fresh.client_id,
            "client_secret": "wrong",
        },
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    unknown = _token(fresh, grant_type="refresh_token", refresh_token="never-issued")
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_grant"
    grant = _token(fresh, grant_type="password")
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    # the failed attempt with the wrong secret did not burn the refresh token
    ok = _token(fresh, grant_type="refresh_token", refresh_token=tok["refresh_token"])
    assert ok.status_code == 200


def test_authorization_code_grant(fresh: Sandbox) -> None:
    code = fresh.authorization_code()
    r = _token(fresh, grant_type="authorization_code", code=code, redirect_uri=fresh.redirect_uri)
    assert r.status_code == 200 and r.json()["access_token"]
    again = _token(
        fresh, grant_type="authorization_code", code=code, redirect_uri=fresh.redirect_uri
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    wrong_uri = _token(
        fresh,
        grant_type="authorization_code",
        code=fresh.authorization_code(),
        redirect_uri="https://evil.example/cb",
    )
    assert wrong_uri.status_code == 400 and wrong_uri.json()["error"] == "invalid_grant"


def test_token_request_is_redacted_in_log(fresh: Sandbox) -> None:
    tok = fresh.issue_tokens()
    _token(fresh, grant_type="refresh_token", refresh_token=tok["refresh_token"])
    rec = fresh.requests[-1]
    assert rec.path == "/auth/oauth/token" and rec.status == 200 and rec.json is None
    assert rec.form == {
        "client_id": fresh.client_id,
        "client_secret": "***",
        "grant_type": "refresh_token",
        "refresh_token": "***",
    }
    assert tok["refresh_token"] not in repr(fresh.requests)
    assert fresh.client_secret not in repr(fresh.requests)


# --------------------------------------------------------------------------- fail_next


def test_fail_next_429_with_retry_after(fresh: Sandbox, fhttp: requests.Session) -> None:
    fresh.fail_next(429, headers={"Retry-After": "1"})
    r = fhttp.get(invoices_url(fresh))
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert error_of(r)["message"]
    assert fhttp.get(invoices_url(fresh)).status_code == 200
    assert [rec.status for rec in fresh.requests] == [429, 200]


def test_fail_next_html_body_and_no_state_change(fresh: Sandbox, fhttp: requests.Session) -> None:
    html = "<html><body><h1>503 Service Unavailable</h1></body></html>"
    fresh.fail_next(503, body=html)
    before = fresh.invoices
    r = fhttp.post(
        invoices_url(fresh), json={"invoice": {"customerid": 1, "create_date": "2024-01-01"}}
    )
    assert r.status_code == 503
    assert r.headers["Content-Type"].startswith("text/html") and r.text == html
    assert fresh.invoices == before  # not processed
    assert fresh.requests[-1].json == {"invoice": {"customerid": 1, "create_date": "2024-01-01"}}


def test_fail_next_bodies(fresh: Sandbox, fhttp: requests.Session) -> None:
    fresh.fail_next(400, body={"custom": True})
    fresh.fail_next(502, body="Bad gateway")
    fresh.fail_next(401)
    r = fhttp.get(invoices_url(fresh))
    assert r.status_code == 400 and r.json() == {"custom": True}
    r = fhttp.get(invoices_url(fresh))
    assert r.status_code == 502 and r.text == "Bad gateway"
    assert r.headers["Content-Type"].startswith("text/plain")
    r = fhttp.get(invoices_url(fresh))
    assert r.status_code == 401 and error_of(r)["errno"] == 1003
    fresh.fail_next(401)
    r = fhttp.get(f"{fresh.url}/auth/api/v1/users/me")
    assert r.status_code == 401 and r.json()["error"] == "unauthenticated"


def test_fail_next_drop(fresh: Sandbox, fhttp: requests.Session) -> None:
    fhttp.get(invoices_url(fresh))  # warm a keep-alive connection first
    fresh.fail_next("drop")
    with pytest.raises(requests.ConnectionError):
        fhttp.get(invoices_url(fresh))
    assert fresh.requests[-1].status == 0
    assert fhttp.get(invoices_url(fresh)).status_code == 200


def test_fail_next_times_and_queue_order(fresh: Sandbox, fhttp: requests.Session) -> None:
    fresh.fail_next(429)
    fresh.fail_next(503, times=2)
    codes = [fhttp.get(invoices_url(fresh)).status_code for _ in range(4)]
    assert codes == [429, 503, 503, 200]


def test_fail_next_method_filter(fresh: Sandbox, fhttp: requests.Session) -> None:
    iid = _pick(fresh, lambda i: True)["id"]
    fresh.fail_next(500, method="PUT")
    assert fhttp.get(invoices_url(fresh, iid)).status_code == 200
    r = fhttp.put(invoices_url(fresh, iid), json={"invoice": {"notes": "x"}})
    assert r.status_code == 500
    assert fresh.invoices[iid]["notes"] != "x"
    r = fhttp.put(invoices_url(fresh, iid), json={"invoice": {"notes": "x"}})
    assert r.status_code == 200 and fresh.invoices[iid]["notes"] == "x"


def test_fail_next_precedes_auth_and_routing(fresh: Sandbox) -> None:
    fresh.fail_next(503)
    assert requests.get(f"{fresh.url}/nowhere").status_code == 503
    assert requests.get(f"{fresh.url}/nowhere").status_code == 404


def test_fail_next_arguments(fresh: Sandbox) -> None:
    with pytest.raises(ValueError):
        fresh.fail_next(42)
    with pytest.raises(ValueError):
        fresh.fail_next(500, times=0)
    with pytest.raises(ValueError):
        fresh.fail_next("explode")


# --------------------------------------------------------------------------- latency, log


def test_latency(fresh: Sandbox, fhttp: requests.Session) -> None:
    fhttp.get(invoices_url(fresh))
    fresh.latency = 0.3
    start = time.perf_counter()
    fhttp.get(invoices_url(fresh))
    assert time.perf_counter() - start >= 0.3
    fresh.fail_next(503)
    start = time.perf_counter()
    assert fhttp.get(invoices_url(fresh)).status_code == 503
    assert time.perf_counter() - start >= 0.3  # injected failures are delayed too
    fresh.latency = 0.0
    start = time.perf_counter()
    fhttp.get(invoices_url(fresh))
    assert time.perf_counter() - start < 0.3


def test_request_log(fresh: Sandbox, fhttp: requests.Session) -> None:
    iid = _pick(fresh, lambda i: True)["id"]
    fhttp.get(
        invoices_url(fresh),
        params=[("search[customerids][]", "1"), ("search[customerids][]", "2"), ("page", "2")],
    )
    fhttp.put(invoices_url(fresh, iid), json={"invoice": {"notes": "logged"}})
    requests.get(invoices_url(fresh))  # no token
    assert fresh.requests == [
        RecordedRequest(
            "GET",
            f"/accounting/account/{fresh.account_id}/invoices/invoices",
            (("search[customerids][]", "1"), ("search[customerids][]", "2"), ("page", "2")),
            None,
            200,
            None,
        ),
        RecordedRequest(
            "PUT",
            f"/accounting/account/{fresh.account_id}/invoices/invoices/{iid}",
            (),
            {"invoice": {"notes": "logged"}},
            200,
        ),
        RecordedRequest(
            "GET", f"/accounting/account/{fresh.account_id}/invoices/invoices", (), None, 401
        ),
    ]
    assert fresh.requests[0].query_dict()["search[customerids][]"] == ["1", "2"]
    assert fresh.access_token not in repr(fresh.requests)
    fresh.requests.clear()
    fhttp.get(invoices_url(fresh))
    assert len(fresh.requests) == 1


def test_request_log_is_thread_safe(fresh: Sandbox) -> None:
    def worker() -> None:
        with authed_session(fresh) as s:
            for _ in range(20):
                assert s.get(invoices_url(fresh), params={"per_page": 1}).status_code == 200

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fresh.requests) == 120
    assert all(rec.status == 200 for rec in fresh.requests)


# --------------------------------------------------------------------------- lifecycle


def test_start_stop_and_port() -> None:
    sb = Sandbox(invoices=5, seed=2)
    with pytest.raises(RuntimeError):
        _ = sb.url
    assert sb.start() is sb
    try:
        assert re.match(r"^http://127\.0\.0\.1:\d+$", sb.url)
        url = invoices_url(sb)
        with authed_session(sb) as s:
            assert s.get(url).status_code == 200
    finally:
        sb.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, headers={"Authorization": f"Bearer {sb.access_token}"})
    sb.stop()  # idempotent


def test_stop_closes_keep_alive_connections() -> None:
    with Sandbox(invoices=5, seed=2) as sb:
        url = invoices_url(sb)
        s = authed_session(sb)
        assert s.get(url).status_code == 200
    with pytest.raises(requests.ConnectionError):
        s.get(url)
    s.close()


def test_client_helper(monkeypatch: pytest.MonkeyPatch, sb: Sandbox) -> None:
    import freshbooks_orm

    calls: list[dict[str, Any]] = []

    class FakeClient:
        def __init__(self, **kwargs: Any) -> None:
            calls.append(kwargs)

    monkeypatch.setattr(freshbooks_orm, "Client", FakeClient, raising=False)
    client = sb.client(timeout=3)
    assert isinstance(client, FakeClient)
    assert calls == [
        {
            "access_token": sb.access_token,
            "account_id": sb.account_id,
            "base_url": sb.url,
            "timeout": 3,
        }
    ]


# --------------------------------------------------------------------------- seeding


def test_seed_is_deterministic() -> None:
    a = Sandbox(invoices=120, seed=7).invoices
    b = Sandbox(invoices=120, seed=7).invoices
    c = Sandbox(invoices=120, seed=8).invoices
    assert a == b
    assert a != c
    assert len(a) == 120


def test_seed_is_realistic(data: dict[int, Inv], sb: Sandbox) -> None:
    invs = list(data.values())
    assert len(invs) == 200
    live = [i for i in invs if i["vis_state"] == 0]
    assert {i["v3_status"] for i in live} == set(V3_STATUSES)
    assert {i["currency_code"] for i in invs} == {"USD", "CAD", "EUR", "GBP"}
    assert len(sb.store.customers) == 25 and len({i["customerid"] for i in invs}) > 10
    assert all("2022-01-01" <= i["create_date"] <= "2025-06-30" for i in invs)
    assert all(i["created_at"] <= i["updated"] for i in invs)
    assert 2 <= sum(i["vis_state"] == 1 for i in invs) <= 25
    assert 2 <= sum(i["vis_state"] == 2 for i in invs) <= 25
    assert any(i["po_number"] for i in invs) and any(i["notes"] for i in invs)
    assert any(i["parent"] for i in invs) and any(i["projectid"] for i in invs)
    taxes = {ln["taxName1"] for i in invs for ln in i["lines"]}
    assert {"HST", "GST"} <= taxes
    for inv in invs:
        assert 1 <= len(inv["lines"]) <= 5
        assert [ln["lineid"] for ln in inv["lines"]] == list(range(1, len(inv["lines"]) + 1))
        assert amt(inv) == expected_total(inv)
        assert amt(inv, "outstanding") == amt(inv) - amt(inv, "paid")
        if inv["payment_status"] in ("paid", "auto-paid"):
            assert amt(inv, "outstanding") == 0 and inv["date_paid"]
            assert inv["status"] in (4, 5)
        elif inv["payment_status"] == "partial":
            assert 0 < amt(inv, "paid") < amt(inv) and inv["status"] == 8
        else:
            assert amt(inv, "paid") == 0 and amt(inv, "outstanding") > 0
        assert inv["description"] == inv["lines"][0]["description"]


def test_large_sandbox_pages_through_everything() -> None:
    """The 50k paging path (cached id list per query/version), with a smaller N."""
    with Sandbox(invoices=3000, seed=5) as sb, authed_session(sb) as s:
        got = list_all(s, sb, [("include[]", "lines")])
        expected = sorted((i for i in sb.invoices.values() if i["vis_state"] != 1),
                          key=lambda i: i["id"], reverse=True)  # fmt: skip
        assert [i["id"] for i in got] == [i["id"] for i in expected]
        # the filtered+sorted id list is computed once per (query, store version)
        first = sb.store.matching_ids((), None)
        assert sb.store.matching_ids((), None) is first
        s.put(invoices_url(sb, expected[0]["id"]), json={"invoice": {"notes": "bump"}})
        assert sb.store.matching_ids((), None) is not first
