"""Where an audit found the sandbox differing from FreshBooks' documented API (second round):
paid status re-derived on every write, unknown clients refused, whole PUT lines, the documented
query encodings only, and the small ones (action_* phases, status on create, create-only keys,
rebill lines, client balance sorts, "no input" booleans)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from sandbox_helpers import authed_session, error_of, result, url

from freshbooks_orm.sandbox import Sandbox

Obj = dict[str, Any]


def status_keys(inv: Obj) -> tuple[Any, ...]:
    return (inv["payment_status"], inv["v3_status"], inv["status"], inv["date_paid"])


@pytest.fixture
def wsb() -> Iterator[Sandbox]:
    with Sandbox(invoices=40, seed=11) as sandbox:
        yield sandbox


@pytest.fixture
def http(wsb: Sandbox) -> Iterator[requests.Session]:
    with authed_session(wsb) as s:
        yield s


def a_client(sb: Sandbox) -> int:
    return next(cid for cid, c in sb.objects("clients").items() if c["vis_state"] == 0)


def new_invoice(sb: Sandbox, s: requests.Session, cost: str = "100.00", **extra: Any) -> Obj:
    body = {
        "invoice": {
            "customerid": a_client(sb),
            "create_date": "2024-01-10",
            "lines": [{"name": "Work", "qty": 1, "unit_cost": {"amount": cost}}],
            **extra,
        }
    }
    return dict(result(s.post(url(sb, "invoices/invoices"), json=body))["invoice"])


def pay(sb: Sandbox, s: requests.Session, iid: int, amount: str, date: str) -> None:
    body = {"payment": {"invoiceid": iid, "amount": {"amount": amount}, "date": date}}
    result(s.post(url(sb, "payments/payments"), json=body))


def set_cost(sb: Sandbox, s: requests.Session, iid: int, qty: int) -> Obj:
    line = {"name": "Work", "qty": qty, "unit_cost": {"amount": "100.00"}}
    return dict(
        result(s.put(url(sb, "invoices/invoices", iid), json={"invoice": {"lines": [line]}}))[
            "invoice"
        ]
    )


def matched(sb: Sandbox, s: requests.Session, iid: int, key: str, value: str) -> bool:
    params = [(f"search[{key}]", value), ("search[invoiceid]", str(iid))]
    return bool(result(s.get(url(sb, "invoices/invoices"), params=params))["total"])


# --------------------------------------------------------------------------- 1. paid status


def test_raising_a_paid_invoices_total_reopens_it(wsb: Sandbox, http: requests.Session) -> None:
    inv = new_invoice(wsb, http)
    pay(wsb, http, inv["id"], "100.00", "2024-02-01")
    assert status_keys(wsb.invoices[inv["id"]]) == ("paid", "paid", 4, "2024-02-01")
    now = set_cost(wsb, http, inv["id"], 3)
    assert (now["outstanding"]["amount"], now["paid"]["amount"]) == ("200.00", "100.00")
    assert status_keys(now) == ("partial", "partial", 8, None)
    assert status_keys(wsb.invoices[inv["id"]]) == ("partial", "partial", 8, None)
    assert not matched(wsb, http, inv["id"], "paid", "true")
    assert matched(wsb, http, inv["id"], "outstanding", "true")
    assert matched(wsb, http, inv["id"], "v3_status", "partial")
    assert not matched(wsb, http, inv["id"], "v3_status", "paid")
    # and back down to what was paid: settled again, dated by the payment
    now = set_cost(wsb, http, inv["id"], 1)
    assert status_keys(now) == ("paid", "paid", 4, "2024-02-01")
    assert matched(wsb, http, inv["id"], "paid", "true")


def test_lowering_a_partial_invoices_total_to_what_was_paid_settles_it(
    wsb: Sandbox, http: requests.Session
) -> None:
    inv = new_invoice(wsb, http, "200.00")
    pay(wsb, http, inv["id"], "100.00", "2024-02-03")
    assert status_keys(wsb.invoices[inv["id"]]) == ("partial", "partial", 8, None)
    now = set_cost(wsb, http, inv["id"], 1)
    assert now["outstanding"]["amount"] == "0.00"
    assert status_keys(now) == ("paid", "paid", 4, "2024-02-03")
    assert matched(wsb, http, inv["id"], "paid", "true")
    assert not matched(wsb, http, inv["id"], "outstanding", "true")


def test_unpaid_invoices_keep_their_status_through_edits(
    wsb: Sandbox, http: requests.Session
) -> None:
    inv = new_invoice(wsb, http)
    assert set_cost(wsb, http, inv["id"], 2)["v3_status"] == "draft"
    http.put(url(wsb, "invoices/invoices", inv["id"]), json={"invoice": {"action_mark_as_sent": 1}})
    now = set_cost(wsb, http, inv["id"], 5)
    assert status_keys(now) == ("unpaid", "sent", 2, None)


# --------------------------------------------------------------------------- 2. unknown clients


DOCS = [
    ("invoices/invoices", "invoice"),
    ("estimates/estimates", "estimate"),
    ("invoice_profiles/invoice_profiles", "invoice_profile"),
]


@pytest.mark.parametrize(("path", "single"), DOCS)
def test_an_unknown_customerid_is_client_not_found(
    wsb: Sandbox, http: requests.Session, path: str, single: str
) -> None:
    missing = max(wsb.objects("clients")) + 1000
    before = wsb.objects(path.split("/")[0])
    body = {single: {"customerid": missing, "create_date": "2024-01-01"}}
    r = http.post(url(wsb, path), json=body)
    assert r.status_code == 422
    assert error_of(r) == {
        "errno": 1012,
        "field": "userid",
        "message": "Client not found.",
        "object": "client",
        "value": str(missing),
    }
    assert wsb.objects(path.split("/")[0]) == before
    body[single]["customerid"] = a_client(wsb)
    oid = result(http.post(url(wsb, path), json=body))[single]["id"]
    r = http.put(url(wsb, path, oid), json={single: {"customerid": missing}})
    assert r.status_code == 422 and error_of(r)["errno"] == 1012
    assert wsb.objects(path.split("/")[0])[oid]["customerid"] == a_client(wsb)


@pytest.mark.parametrize(("path", "single"), DOCS)
def test_a_deleted_client_is_refused_with_1011(
    wsb: Sandbox, http: requests.Session, path: str, single: str
) -> None:
    cid = a_client(wsb)
    http.put(url(wsb, "users/clients", cid), json={"client": {"vis_state": 1}})
    r = http.post(url(wsb, path), json={single: {"customerid": cid, "create_date": "2024-01-01"}})
    assert r.status_code == 422 and error_of(r)["errno"] == 1011


# --------------------------------------------------------------------------- 3. whole PUT lines


def test_a_put_line_is_the_whole_line(wsb: Sandbox, http: requests.Session) -> None:
    old = next(
        i for i in wsb.invoices.values() if len(i["lines"]) >= 2 and i["payment_status"] == "unpaid"
    )
    first, second = old["lines"][:2]
    lines = [{"lineid": first["lineid"], "name": "Renamed"}, {"lineid": second["lineid"]}]
    r = http.put(
        url(wsb, "invoices/invoices", old["id"]),
        params={"include[]": "lines"},
        json={"invoice": {"lines": lines}},
    )
    got = result(r)["invoice"]["lines"]
    assert [ln["lineid"] for ln in got] == [first["lineid"], second["lineid"]]
    assert got[0]["name"] == "Renamed"
    for line in got:  # everything omitted is at its default, amounts recomputed
        assert line["description"] == "" and line["qty"] == "1"
        assert line["unit_cost"]["amount"] == "0.00" and line["amount"]["amount"] == "0.00"
        assert (line["taxName1"], line["taxAmount1"]) == ("", "0")
    assert got[1]["name"] == ""
    assert wsb.invoices[old["id"]]["amount"]["amount"] == "0.00"


def test_a_rebill_line_without_expenseid_is_refused(wsb: Sandbox, http: requests.Session) -> None:
    before = len(wsb.invoices)
    body = {
        "invoice": {
            "customerid": a_client(wsb),
            "create_date": "2024-01-01",
            "lines": [{"type": 1, "name": "Rebill", "qty": 1, "unit_cost": {"amount": "5"}}],
        }
    }
    r = http.post(url(wsb, "invoices/invoices"), json=body)
    assert r.status_code == 422
    assert (error_of(r)["errno"], error_of(r)["field"]) == (1001, "lines[0].expenseid")
    assert len(wsb.invoices) == before


# --------------------------------------------------------------------------- 4. encodings


def test_in_filters_only_from_the_bracketed_form(wsb: Sandbox, http: requests.Session) -> None:
    invs = list(wsb.invoices.values())
    cids = sorted({i["customerid"] for i in invs})[:2]
    want = {i["id"] for i in invs if i["customerid"] in cids and i["vis_state"] != 1}
    everything = result(http.get(url(wsb, "invoices/invoices")))["total"]
    listed = [("search[customerids][]", str(c)) for c in cids] + [("per_page", "100")]
    got = result(http.get(url(wsb, "invoices/invoices"), params=listed))["invoices"]
    assert {i["id"] for i in got} == want and len(want) < everything
    encoded = "&".join(f"search%5Bcustomerids%5D%5B%5D={c}" for c in cids)
    r = http.get(f"{url(wsb, 'invoices/invoices')}?{encoded}&per_page=100")
    assert {i["id"] for i in result(r)["invoices"]} == want
    # the undocumented bare form is a key the server does not know: ignored
    bare = [("search[customerids]", str(c)) for c in cids]
    assert result(http.get(url(wsb, "invoices/invoices"), params=bare))["total"] == everything


def test_includes_only_from_include_brackets(wsb: Sandbox, http: requests.Session) -> None:
    iid = next(iter(wsb.invoices))
    plain = result(http.get(url(wsb, "invoices/invoices", iid), params={"include[]": "lines"}))
    assert "lines" in plain["invoice"]
    r = http.get(f"{url(wsb, 'invoices/invoices', iid)}?include%5B%5D=lines")
    assert "lines" in result(r)["invoice"]
    bare = result(http.get(url(wsb, "invoices/invoices", iid), params={"include": "lines"}))
    assert "lines" not in bare["invoice"]


# --------------------------------------------------------------------------- 5. small ones


def test_action_keys_are_a_phase_on_resources_without_states(
    wsb: Sandbox, http: requests.Session
) -> None:
    cid = a_client(wsb)
    before = wsb.objects("clients")[cid]
    body = {"client": {"action_email": True, "organization": "Dropped Ltd", "note": "dropped"}}
    assert http.put(url(wsb, "users/clients", cid), json=body).status_code == 200
    after = wsb.objects("clients")[cid]
    assert (after["organization"], after["note"]) == (before["organization"], before["note"])


@pytest.mark.parametrize("status", ["sent", "2", 2.5, True, None])
def test_a_non_number_status_on_create_is_1015(
    wsb: Sandbox, http: requests.Session, status: Any
) -> None:
    before = len(wsb.invoices)
    body = {"invoice": {"customerid": a_client(wsb), "create_date": "2024-01-01", "status": status}}
    r = http.post(url(wsb, "invoices/invoices"), json=body)
    assert r.status_code == 422
    err = error_of(r)
    assert (err["errno"], err["field"], err["object"]) == (1015, "status", "invoice")
    assert err["message"] == "The field 'status' must be a number."
    assert len(wsb.invoices) == before


def test_a_number_status_on_create_is_kept_and_create_only_keys_ignored_on_put(
    wsb: Sandbox, http: requests.Session
) -> None:
    inv = new_invoice(wsb, http, status=2, estimateid=7, parent=9, ownerid=3, sentid=4)
    assert (inv["status"], inv["v3_status"], inv["display_status"]) == (2, "sent", "sent")
    assert (inv["estimateid"], inv["parent"], inv["ownerid"], inv["sentid"]) == (7, 9, 3, 4)
    assert (
        http.post(  # an unknown status code is an invalid value
            url(wsb, "invoices/invoices"),
            json={
                "invoice": {"customerid": a_client(wsb), "create_date": "2024-01-01", "status": 9}
            },
        ).status_code
        == 422
    )
    body = {
        "invoice": {"notes": "n", "status": 1, "estimateid": 8, "parent": 0, "ownerid": 1,
                    "sentid": 1, "basecampid": 5}
    }  # fmt: skip
    now = result(http.put(url(wsb, "invoices/invoices", inv["id"]), json=body))["invoice"]
    assert now["notes"] == "n"
    assert (now["status"], now["estimateid"], now["parent"], now["ownerid"]) == (2, 7, 9, 3)
    assert (now["sentid"], now["basecampid"]) == (4, 0)


@pytest.mark.parametrize(("sort", "balance"), [
    ("outstanding", "outstanding_balance"),
    ("overdue", "overdue_balance"),
    ("credit", "credit_balance"),
])  # fmt: skip
def test_documented_client_balance_sorts(
    wsb: Sandbox, http: requests.Session, sort: str, balance: str
) -> None:
    def owed(client: Obj) -> Decimal:
        return sum((Decimal(b["amount"]["amount"]) for b in client.get(balance) or ()), Decimal(0))

    params = [("sort", f"{sort}_desc"), ("include[]", balance), ("per_page", "100")]
    rows = result(http.get(url(wsb, "users/clients"), params=params))["clients"]
    values = [owed(c) for c in rows]
    assert values == sorted(values, reverse=True) and len(set(values)) > 1
    params[0] = ("sort", f"{sort}_asc")
    rows = result(http.get(url(wsb, "users/clients"), params=params))["clients"]
    assert [owed(c) for c in rows] == sorted(values)


@pytest.mark.parametrize("key", ["search[has_draft]", "has_draft"])
def test_no_input_boolean_filters_take_an_empty_value_as_true(
    wsb: Sandbox, http: requests.Session, key: str
) -> None:
    def total(params: list[tuple[str, str]]) -> int:
        return int(result(http.get(url(wsb, "users/clients"), params=params))["total"])

    empty = total([(key, "")])
    assert 0 < empty == total([(key, "true")]) < total([])
    assert empty + total([(key, "false")]) == total([])
