"""Every resource the sandbox serves, from its declarations and the generic store (issue 11.4)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from sandbox_helpers import authed_session, error_of, result, url

from freshbooks_orm.sandbox import Sandbox
from freshbooks_orm.sandbox.resources import REGISTRY
from freshbooks_orm.sandbox.server import ROUTES

Obj = dict[str, Any]


def list_all(s: requests.Session, sb: Sandbox, path: str, params: Any = ()) -> list[Obj]:
    out: list[Obj] = []
    page = 1
    plural = ROUTES[path].plural
    while True:
        res = result(s.get(url(sb, path), params=[*params, ("per_page", "100"), ("page", page)]))
        out.extend(res[plural])
        if page >= res["pages"]:
            return out
        page += 1


def money(obj: Obj, key: str = "amount") -> Decimal:
    return Decimal(obj[key]["amount"])


@pytest.fixture(scope="module")
def rsb() -> Iterator[Sandbox]:
    """A read-only sandbox for this module."""
    with Sandbox(invoices=200, seed=4) as sandbox:
        yield sandbox


@pytest.fixture
def rhttp(rsb: Sandbox) -> Iterator[requests.Session]:
    with authed_session(rsb) as s:
        yield s


@pytest.fixture
def wsb() -> Iterator[Sandbox]:
    with Sandbox(invoices=60, seed=9) as sandbox:
        yield sandbox


@pytest.fixture
def whttp(wsb: Sandbox) -> Iterator[requests.Session]:
    with authed_session(wsb) as s:
        yield s


# --------------------------------------------------------------------------- every resource


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_list_and_single_envelopes(name: str, rsb: Sandbox, rhttp: requests.Session) -> None:
    res = REGISTRY[name]
    stored = rsb.objects(name)
    assert stored, f"the seed has no {name}"
    body = rhttp.get(url(rsb, res.path)).json()
    assert list(body) == ["response"] and list(body["response"]) == ["result"]
    listed = body["response"]["result"]
    assert set(listed) == {res.plural, "page", "pages", "per_page", "total"}
    assert listed["per_page"] == 15 and listed["page"] == 1
    visible = [o for o in stored.values() if o.get("vis_state") != 1]
    assert listed["total"] == len(visible)
    assert len(listed[res.plural]) == min(15, len(visible))
    first = listed[res.plural][0]
    assert first["id"] == first[res.pk] == max(o["id"] for o in visible)
    single = result(rhttp.get(url(rsb, res.path, first["id"])))
    assert list(single) == [res.single]
    assert single[res.single] == first
    if res.lines is not None:
        assert "lines" not in first
        with_lines = result(
            rhttp.get(url(rsb, res.path, first["id"]), params={"include[]": "lines"})
        )
        assert with_lines[res.single]["lines"] == stored[first["id"]]["lines"]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_unknown_id_is_404_naming_the_pk(name: str, rsb: Sandbox, rhttp: requests.Session) -> None:
    res = REGISTRY[name]
    r = rhttp.get(url(rsb, res.path, 99))
    assert r.status_code == 404
    err = error_of(r)
    assert (err["errno"], err["field"], err["object"]) == (1012, res.pk, res.noun)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_paging_rules(name: str, rsb: Sandbox, rhttp: requests.Session) -> None:
    res = REGISTRY[name]
    path = res.path
    page1 = result(rhttp.get(url(rsb, path), params={"per_page": 2}))
    page0 = result(rhttp.get(url(rsb, path), params={"per_page": 2, "page": 0}))
    assert page0 == page1 and page0["page"] == 1  # page=0 is answered as page 1
    past = result(rhttp.get(url(rsb, path), params={"page": page1["pages"] + 5}))
    assert past[res.plural] == [] and past["total"] == page1["total"]
    capped = result(rhttp.get(url(rsb, path), params={"per_page": 1000}))
    assert capped["per_page"] == 100
    for bad in ("-1", "1.5", "abc", "9" * 5000):
        r = rhttp.get(url(rsb, path), params={"page": bad})
        assert r.status_code == 400 and error_of(r)["errno"] == 1014


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_unknown_search_keys_are_ignored(name: str, rsb: Sandbox, rhttp: requests.Session) -> None:
    path = REGISTRY[name].path
    plain = result(rhttp.get(url(rsb, path)))
    noisy = result(rhttp.get(url(rsb, path), params={"search[no_such]": "x", "search[id]": "1"}))
    assert noisy == plain


# --------------------------------------------------------------------------- clients


def test_client_filters_and_the_ignored_bare_keys(rsb: Sandbox, rhttp: requests.Session) -> None:
    clients = sorted(rsb.objects("clients").values(), key=lambda c: c["id"])
    everyone = {c["id"] for c in clients}
    target = clients[3]
    word = target["organization"].split()[0]
    got = {
        c["id"]
        for c in list_all(
            rhttp, rsb, "users/clients", [("search[organization_like]", word.upper())]
        )
    }
    assert got == {c["id"] for c in clients if word.lower() in c["organization"].lower()}
    assert target["id"] in got and got != everyone
    # the live API ignores bare search[organization] / search[fname]: so does the sandbox
    for key in ("organization", "fname"):
        got = {c["id"] for c in list_all(rhttp, rsb, "users/clients", [(f"search[{key}]", "zz")])}
        assert got == everyone
    ids = [("search[userids][]", str(c["id"])) for c in clients[:4]]
    assert {c["id"] for c in list_all(rhttp, rsb, "users/clients", ids)} == {
        c["id"] for c in clients[:4]
    }
    email = [("search[email]", target["email"])]
    assert [c["id"] for c in list_all(rhttp, rsb, "users/clients", email)] == [target["id"]]


def test_client_sorts(rsb: Sandbox, rhttp: requests.Session) -> None:
    got = list_all(rhttp, rsb, "users/clients", [("sort", "organization_name_asc")])
    orgs = [c["organization"].lower() for c in got]
    assert orgs == sorted(orgs)
    got = list_all(rhttp, rsb, "users/clients", [("sort", "organization_name_desc")])
    assert [c["organization"].lower() for c in got] == sorted(orgs, reverse=True)


def test_client_balances_follow_the_invoices(rsb: Sandbox, rhttp: requests.Session) -> None:
    invoices = [i for i in rsb.invoices.values() if i["vis_state"] != 1]
    params = [
        ("include[]", b) for b in ("outstanding_balance", "draft_balance", "grand_total_balance")
    ]
    clients = list_all(rhttp, rsb, "users/clients", params)
    checked = 0
    for client in clients:
        mine = [i for i in invoices if i["customerid"] == client["id"]]
        owed: dict[str, Decimal] = {}
        drafts: dict[str, Decimal] = {}
        for inv in mine:
            if inv["v3_status"] in ("draft", "created"):
                drafts[inv["currency_code"]] = drafts.get(inv["currency_code"], Decimal(0)) + money(
                    inv
                )
            elif money(inv, "outstanding") > 0:
                owed[inv["currency_code"]] = owed.get(inv["currency_code"], Decimal(0)) + money(
                    inv, "outstanding"
                )
        got = {
            b["amount"]["code"]: Decimal(b["amount"]["amount"])
            for b in client["outstanding_balance"]
        }
        assert got == owed
        got = {b["amount"]["code"]: Decimal(b["amount"]["amount"]) for b in client["draft_balance"]}
        assert got == drafts
        checked += bool(owed)
    assert checked > 5
    plain = result(rhttp.get(url(rsb, "users/clients", clients[0]["id"])))["client"]
    assert "outstanding_balance" not in plain


def test_client_create_update_and_soft_delete(wsb: Sandbox, whttp: requests.Session) -> None:
    r = whttp.post(
        url(wsb, "users/clients"), json={"client": {"email": "new@example.com", "p_city": "Oslo"}}
    )
    client = result(r)["client"]
    assert client["id"] == client["userid"] and client["email"] == "new@example.com"
    assert client["organization"] == "new@example.com" and client["p_city"] == "Oslo"
    assert client["signup_date"] and client["updated"] and client["vis_state"] == 0
    cid = client["id"]
    r = whttp.put(
        url(wsb, "users/clients", cid), json={"client": {"fname": "Ada", "currency_code": "cad"}}
    )
    client = result(r)["client"]
    assert (client["fname"], client["currency_code"]) == ("Ada", "CAD")
    r = whttp.put(url(wsb, "users/clients", cid), json={"client": {"currency_code": "dollars"}})
    assert r.status_code == 422 and error_of(r)["field"] == "currency_code"
    assert whttp.delete(url(wsb, "users/clients", cid)).status_code == 405  # not documented
    r = whttp.put(url(wsb, "users/clients", cid), json={"client": {"vis_state": 1, "fname": "X"}})
    assert r.status_code == 200 and r.json() == {"response": {}}
    stored = wsb.objects("clients")[cid]
    assert stored["vis_state"] == 1 and stored["fname"] == "Ada"
    assert cid not in {c["id"] for c in list_all(whttp, wsb, "users/clients")}


# --------------------------------------------------------------------------- payments


def test_seeded_payments_add_up_to_each_invoice(rsb: Sandbox) -> None:
    payments = rsb.objects("payments").values()
    by_invoice: dict[int, Decimal] = {}
    for pay in payments:
        by_invoice[pay["invoiceid"]] = by_invoice.get(pay["invoiceid"], Decimal(0)) + money(pay)
    for inv in rsb.invoices.values():
        assert money(inv, "paid") == by_invoice.get(inv["id"], Decimal(0))
    clients = rsb.objects("clients")
    invoices = rsb.invoices
    for pay in payments:
        inv = invoices[pay["invoiceid"]]
        assert pay["clientid"] == inv["customerid"] and pay["clientid"] in clients
        assert pay["amount"]["code"] == inv["currency_code"]


def test_payment_filters(rsb: Sandbox, rhttp: requests.Session) -> None:
    pays = sorted(rsb.objects("payments").values(), key=lambda p: p["id"])
    pay = pays[5]
    got = list_all(rhttp, rsb, "payments/payments", [("search[invoiceid]", str(pay["invoiceid"]))])
    assert {p["id"] for p in got} == {p["id"] for p in pays if p["invoiceid"] == pay["invoiceid"]}
    got = list_all(rhttp, rsb, "payments/payments", [("search[clientid]", str(pay["clientid"]))])
    assert {p["id"] for p in got} == {p["id"] for p in pays if p["clientid"] == pay["clientid"]}
    got = list_all(
        rhttp, rsb, "payments/payments", [("search[customerids][]", str(pay["clientid"]))]
    )
    assert {p["id"] for p in got} == {p["id"] for p in pays if p["clientid"] == pay["clientid"]}
    limit = money(pay)
    got = list_all(rhttp, rsb, "payments/payments", [("search[amount_min]", str(limit))])
    assert {p["id"] for p in got} == {p["id"] for p in pays if money(p) >= limit}
    got = list_all(rhttp, rsb, "payments/payments", [("search[logids][]", str(pay["id"]))])
    assert [p["id"] for p in got] == [pay["id"]]
    got = list_all(rhttp, rsb, "payments/payments", [("search[payment_or_credit]", "credit")])
    assert {p["id"] for p in got} == {p["id"] for p in pays if p["from_credit"]} != set()
    got = list_all(rhttp, rsb, "payments/payments", [("search[from_credit]", "false")])
    assert {p["id"] for p in got} == {p["id"] for p in pays if not p["from_credit"]}
    got = list_all(rhttp, rsb, "payments/payments", [("search[currency]", "cad")])
    assert {p["id"] for p in got} == {p["id"] for p in pays if p["amount"]["code"] == "CAD"}


def _unpaid(sb: Sandbox) -> Obj:
    return next(
        i for i in sorted(sb.invoices.values(), key=lambda i: i["id"])
        if i["vis_state"] == 0 and i["payment_status"] == "unpaid" and i["v3_status"] == "sent"
    )  # fmt: skip


def test_payments_drive_the_invoice(wsb: Sandbox, whttp: requests.Session) -> None:
    inv = _unpaid(wsb)
    total = money(inv)
    part = (total / 3).quantize(Decimal("0.01"))
    body = {
        "payment": {
            "invoiceid": inv["id"],
            "amount": {"amount": str(part)},
            "date": "2025-02-01",
            "type": "Cash",
        }
    }
    pay = result(whttp.post(url(wsb, "payments/payments"), json=body))["payment"]
    assert pay["id"] == pay["logid"] and pay["clientid"] == inv["customerid"]
    assert pay["amount"] == {"amount": str(part), "code": inv["currency_code"]}
    now = wsb.invoices[inv["id"]]
    assert money(now, "paid") == part and money(now, "outstanding") == total - part
    assert (now["payment_status"], now["v3_status"], now["status"]) == ("partial", "partial", 8)
    assert now["date_paid"] is None and now["updated"] > inv["updated"]
    rest = {"payment": {"invoiceid": inv["id"], "amount": str(total - part), "date": "2025-03-04"}}
    second = result(whttp.post(url(wsb, "payments/payments"), json=rest))["payment"]
    now = wsb.invoices[inv["id"]]
    assert money(now, "outstanding") == 0 and money(now, "paid") == total
    assert (now["payment_status"], now["v3_status"], now["status"]) == ("paid", "paid", 4)
    assert now["date_paid"] == "2025-03-04"
    # changing a payment's amount, then deleting payments, moves the invoice back
    whttp.put(url(wsb, "payments/payments", second["id"]), json={"payment": {"amount": "1.00"}})
    assert wsb.invoices[inv["id"]]["v3_status"] == "partial"
    r = whttp.put(url(wsb, "payments/payments", second["id"]), json={"payment": {"vis_state": 1}})
    assert r.status_code == 200
    assert money(wsb.invoices[inv["id"]], "paid") == part
    whttp.put(url(wsb, "payments/payments", pay["id"]), json={"payment": {"vis_state": 1}})
    now = wsb.invoices[inv["id"]]
    assert money(now, "paid") == 0 and (now["payment_status"], now["v3_status"]) == (
        "unpaid",
        "sent",
    )
    whttp.put(url(wsb, "payments/payments", pay["id"]), json={"payment": {"vis_state": 0}})
    assert wsb.invoices[inv["id"]]["v3_status"] == "partial"


@pytest.mark.parametrize(
    ("payment", "status", "errno", "field"),
    [
        ({"amount": "1", "date": "2025-01-01"}, 422, 1001, "invoiceid"),
        ({"invoiceid": "INV", "amount": "1"}, 422, 1001, "date"),
        ({"invoiceid": 1, "amount": "1", "date": "2025-01-01"}, 404, 1012, "invoiceid"),
        ({"invoiceid": "INV", "amount": "NaN", "date": "2025-01-01"}, 422, 1015, "amount"),
        ({"invoiceid": "INV", "amount": "1e30", "date": "2025-01-01"}, 422, 1015, "amount"),
        (
            {"invoiceid": "INV", "amount": "1", "date": "2025-01-01", "type": "Stripe"},
            422,
            1004,
            "type",
        ),
    ],
)
def test_payment_validation(
    wsb: Sandbox, whttp: requests.Session, payment: Obj, status: int, errno: int, field: str
) -> None:
    inv = _unpaid(wsb)
    payment = {k: (inv["id"] if v == "INV" else v) for k, v in payment.items()}
    before = wsb.objects("payments"), wsb.invoices
    r = whttp.post(url(wsb, "payments/payments"), json={"payment": payment})
    assert r.status_code == status
    err = error_of(r)
    assert (err["errno"], err["field"]) == (errno, field)
    assert (wsb.objects("payments"), wsb.invoices) == before


def test_payment_includes(rsb: Sandbox, rhttp: requests.Session) -> None:
    pay = next(iter(rsb.objects("payments").values()))
    got = result(
        rhttp.get(
            url(rsb, "payments/payments", pay["id"]),
            params=[("include[]", "invoice"), ("include[]", "client")],
        )
    )["payment"]
    assert got["invoice"]["id"] == pay["invoiceid"] and "lines" not in got["invoice"]
    assert got["client"]["id"] == pay["clientid"]


# --------------------------------------------------------------------------- estimates


def test_estimate_create_with_lines_and_http_delete(wsb: Sandbox, whttp: requests.Session) -> None:
    cid = next(iter(wsb.objects("clients")))
    body = {
        "estimate": {
            "customerid": cid,
            "create_date": "2025-01-10",
            "currency_code": "CAD",
            "lines": [
                {
                    "name": "Design",
                    "qty": 2.5,
                    "unit_cost": {"amount": "100"},
                    "taxName1": "HST",
                    "taxAmount1": 13,
                },
                {"name": "Hosting", "qty": "1", "unit_cost": "9.99"},
            ],
        }
    }
    est = result(
        whttp.post(url(wsb, "estimates/estimates"), json=body, params={"include[]": "lines"})
    )["estimate"]
    assert est["id"] == est["estimateid"] and est["status"] == 1 and est["ui_status"] == "draft"
    lines = est["lines"]
    assert [ln["amount"]["amount"] for ln in lines] == ["250.00", "9.99"]
    assert all(ln["estimateid"] == est["id"] and "lineid" not in ln for ln in lines)
    assert est["amount"] == {
        "amount": str(Decimal("250.00") + Decimal("32.50") + Decimal("9.99")),
        "code": "CAD",
    }
    assert est["organization"] == wsb.objects("clients")[cid]["organization"]
    r = whttp.put(
        url(wsb, "estimates/estimates", est["id"]),
        json={"estimate": {"lines": [{"name": "Only", "qty": 1, "unit_cost": "5"}]}},
    )
    assert result(r)["estimate"]["amount"]["amount"] == "5.00"
    r = whttp.put(
        url(wsb, "estimates/estimates", est["id"]),
        json={"estimate": {"lines": [{"name": "x", "taxNumber1": "123"}]}},
    )
    assert r.status_code == 422 and error_of(r)["field"] == "lines[0].taxNumber1"
    assert whttp.delete(url(wsb, "estimates/estimates", est["id"])).json() == {"response": {}}
    assert wsb.objects("estimates")[est["id"]]["vis_state"] == 1  # soft [?]
    r = whttp.post(url(wsb, "estimates/estimates"), json={"estimate": {"customerid": cid}})
    assert r.status_code == 422 and (error_of(r)["errno"], error_of(r)["field"]) == (
        1001,
        "create_date",
    )


def test_estimate_filters_and_invoices_include(rsb: Sandbox, rhttp: requests.Session) -> None:
    ests = [e for e in rsb.objects("estimates").values() if e["vis_state"] != 1]
    got = list_all(rhttp, rsb, "estimates/estimates", [("search[statusid]", "6")])
    assert {e["id"] for e in got} == {e["id"] for e in ests if e["status"] == 6}
    cid = ests[0]["customerid"]
    got = list_all(rhttp, rsb, "estimates/estimates", [("search[customerid]", str(cid))])
    assert {e["id"] for e in got} == {e["id"] for e in ests if e["customerid"] == cid}
    linked = [i for i in rsb.invoices.values() if i["estimateid"] and i["vis_state"] != 1]
    assert linked, "the seed links some invoices to estimates"
    inv = linked[0]
    est = result(
        rhttp.get(
            url(rsb, "estimates/estimates", inv["estimateid"]), params={"include[]": "invoices"}
        )
    )["estimate"]
    assert inv["id"] in {i["id"] for i in est["invoices"]}
    assert est["customerid"] == inv["customerid"] and est["status"] == 6


# --------------------------------------------------------------------------- corrections


@pytest.mark.parametrize("mode", ["empty", "object"])
@pytest.mark.parametrize("path", ["invoices/invoices", "users/clients", "estimates/estimates"])
def test_vis_state_reply_is_selectable(
    wsb: Sandbox, whttp: requests.Session, mode: str, path: str
) -> None:
    res = ROUTES[path]
    wsb.vis_state_reply = mode
    oid = max(o["id"] for o in wsb.objects(res.name).values() if o.get("vis_state") == 0)
    r = whttp.put(url(wsb, path, oid), json={res.single: {"vis_state": 2}})
    assert r.status_code == 200
    if mode == "empty":
        assert r.json() == {"response": {}}
    else:
        assert r.json()["response"]["result"][res.single]["vis_state"] == 2
    assert wsb.objects(res.name)[oid]["vis_state"] == 2


def test_vis_state_reply_refuses_unknown_modes() -> None:
    with pytest.raises(ValueError, match="'empty', 'object'"):
        Sandbox(vis_state_reply="full")


def test_http_delete_on_invoices_is_soft(wsb: Sandbox, whttp: requests.Session) -> None:
    iid = max(i["id"] for i in wsb.invoices.values() if i["vis_state"] == 0)
    r = whttp.delete(url(wsb, "invoices/invoices", iid))
    assert r.status_code == 200 and r.json() == {"response": {}}
    assert wsb.invoices[iid]["vis_state"] == 1


def test_wire_variety_of_the_live_api(rsb: Sandbox) -> None:
    invs = list(rsb.invoices.values())
    lines = [ln for i in invs for ln in i["lines"]]
    assert any(isinstance(i["discount_value"], int) for i in invs)  # numeric discount_value
    assert any(isinstance(i["discount_value"], str) for i in invs)
    assert any(ln["taxNumber1"] is None for ln in lines) and any(
        ln["taxNumber1"] == "" for ln in lines
    )
    assert any("." in ln["qty"] for ln in lines)  # fractional qty
    for inv in invs:  # money with more than two decimals, extra invoice keys
        assert inv["net_paid_amount"]["amount"].split(".")[1].__len__() == 3
        assert Decimal(inv["net_paid_amount"]["amount"]) == money(inv, "paid")
        assert "payment_details" in inv
    assert all(
        {"taskno", "date", "modern_project_id", "modern_time_entries"} <= set(ln) for ln in lines
    )


def test_orm_reads_the_wire_variety(rsb: Sandbox) -> None:
    """The ORM parses every seeded invoice and line, whatever variety the seed carries."""
    from freshbooks_orm import Invoice

    client = rsb.client()
    seen = 0
    for inv in Invoice.objects.using(client).include("lines").all():
        assert isinstance(inv.amount.amount, Decimal)
        for line in inv.lines:
            assert isinstance(line.qty, Decimal)
        seen += 1
    assert seen == sum(i["vis_state"] != 1 for i in rsb.invoices.values())


def test_seed_links_are_deterministic() -> None:
    a, b = Sandbox(invoices=50, seed=3), Sandbox(invoices=50, seed=3)
    for name in REGISTRY:
        assert a.objects(name) == b.objects(name)
    with pytest.raises(ValueError, match="known: clients, credit_notes, estimates"):
        a.objects("bills")


# --------------------------------------------------------------------------- the other resources


def test_taxes_duplicate_names_and_hard_http_delete(wsb: Sandbox, whttp: requests.Session) -> None:
    tax = result(whttp.post(url(wsb, "taxes/taxes"), json={"tax": {"name": "Eco", "amount": 2.5}}))[
        "tax"
    ]
    assert tax["id"] == tax["taxid"] and tax["amount"] == "2.5" and "vis_state" not in tax
    r = whttp.post(url(wsb, "taxes/taxes"), json={"tax": {"name": "eco "}})
    assert r.status_code == 422 and (error_of(r)["errno"], error_of(r)["field"]) == (1019, "name")
    r = whttp.post(url(wsb, "taxes/taxes"), json={"tax": {"amount": "5"}})
    assert r.status_code == 422 and error_of(r)["errno"] == 1001
    # no vis_state on taxes: the key is an ordinary unknown key, ignored
    r = whttp.put(
        url(wsb, "taxes/taxes", tax["id"]), json={"tax": {"vis_state": 1, "number": "N1"}}
    )
    assert result(r)["tax"]["number"] == "N1"
    assert whttp.delete(url(wsb, "taxes/taxes", tax["id"])).json() == {"response": {}}
    assert tax["id"] not in wsb.objects("taxes")
    assert whttp.get(url(wsb, "taxes/taxes", tax["id"])).status_code == 404
    got = list_all(whttp, wsb, "taxes/taxes", [("search[name]", "vat")])
    assert {t["name"] for t in got} == {"VAT", "UK VAT"}


def test_items(wsb: Sandbox, whttp: requests.Session) -> None:
    tax = next(iter(wsb.objects("taxes")))
    body = {
        "item": {
            "name": "Widget",
            "unit_cost": {"amount": "12.5", "code": "CAD"},
            "qty": 3,
            "tax1": tax,
        }
    }
    item = result(whttp.post(url(wsb, "items/items"), json=body))["item"]
    assert item["unit_cost"] == {"amount": "12.50", "code": "CAD"} and item["qty"] == "3"
    r = whttp.put(url(wsb, "items/items", item["id"]), json={"item": {"tax2": 999}})
    assert r.status_code == 422 and error_of(r)["field"] == "tax2"
    got = list_all(
        whttp,
        wsb,
        "items/items",
        [("search[unit_cost_min]", "12.50"), ("search[unit_cost_max]", "12.51")],
    )
    assert [i["id"] for i in got] == [item["id"]]
    # a null inventory never satisfies inventory_min/max (SQL semantics)
    got = list_all(whttp, wsb, "items/items", [("search[inventory_max]", "1000")])
    assert got and all(i["inventory"] is not None for i in got)
    assert item["id"] not in {i["id"] for i in got}
    assert whttp.delete(url(wsb, "items/items", item["id"])).status_code == 405
    whttp.put(url(wsb, "items/items", item["id"]), json={"item": {"vis_state": 1}})
    assert item["id"] not in {i["id"] for i in list_all(whttp, wsb, "items/items")}


def test_expense_categories_are_read_only(rsb: Sandbox, rhttp: requests.Session) -> None:
    cats = rsb.objects("expense_categories")
    cid = next(iter(cats))
    assert (
        rhttp.post(
            url(rsb, "expenses/categories"), json={"category": {"category": "X"}}
        ).status_code
        == 405
    )
    assert (
        rhttp.put(
            url(rsb, "expenses/categories", cid), json={"category": {"vis_state": 1}}
        ).status_code
        == 405
    )
    assert rhttp.delete(url(rsb, "expenses/categories", cid)).status_code == 405
    travel = next(c for c in cats.values() if c["category"] == "Travel")
    got = list_all(rhttp, rsb, "expenses/categories", [("search[parentid]", str(travel["id"]))])
    assert {c["category"] for c in got} == {
        "Airfare",
        "Hotel/Lodging/Accommodation",
        "Taxi & Parking",
    }
    # there is no categoryid Equals filter: ignored; categoryids (In) works
    assert len(
        list_all(rhttp, rsb, "expenses/categories", [("search[categoryid]", str(cid))])
    ) == len(cats)
    assert [
        c["id"]
        for c in list_all(rhttp, rsb, "expenses/categories", [("search[categoryids][]", str(cid))])
    ] == [cid]


def test_expenses(wsb: Sandbox, whttp: requests.Session) -> None:
    cat = next(iter(wsb.objects("expense_categories")))
    r = whttp.post(
        url(wsb, "expenses/expenses"),
        json={"expense": {"categoryid": cat, "staffid": 1, "amount": "10"}},
    )
    assert r.status_code == 422 and error_of(r)["field"] == "date"
    r = whttp.post(
        url(wsb, "expenses/expenses"),
        json={"expense": {"categoryid": 1, "staffid": 1, "amount": "10", "date": "2025-01-01"}},
    )
    assert r.status_code == 422 and error_of(r)["field"] == "categoryid"
    body = {
        "expense": {
            "categoryid": cat,
            "staffid": 1,
            "amount": {"amount": "42.10", "code": "EUR"},
            "date": "2025-01-02",
        }
    }
    exp = result(
        whttp.post(url(wsb, "expenses/expenses"), json=body, params={"include[]": "category"})
    )["expense"]
    assert exp["status"] == 0 and exp["category"]["id"] == cat and exp["amount"]["code"] == "EUR"
    inv = _unpaid(wsb)
    r = whttp.put(
        url(wsb, "expenses/expenses", exp["id"]), json={"expense": {"clientid": inv["customerid"]}}
    )
    assert result(r)["expense"]["status"] == 1
    r = whttp.put(
        url(wsb, "expenses/expenses", exp["id"]), json={"expense": {"invoiceid": inv["id"]}}
    )
    assert result(r)["expense"]["status"] == 2
    pay = {
        "payment": {
            "invoiceid": inv["id"],
            "amount": inv["outstanding"]["amount"],
            "date": "2025-01-05",
        }
    }
    result(whttp.post(url(wsb, "payments/payments"), json=pay))
    assert (
        result(whttp.get(url(wsb, "expenses/expenses", exp["id"])))["expense"]["status"] == 4
    )  # recouped
    others = list_all(
        whttp, wsb, "expenses/expenses", [("search[clientid_not]", str(inv["customerid"]))]
    )
    assert exp["id"] not in {e["id"] for e in others} and others


def test_credit_notes(wsb: Sandbox, whttp: requests.Session) -> None:
    client = next(iter(wsb.objects("clients").values()))
    lines = [{"name": "Refund", "qty": 1, "unit_cost": "30"}]
    note_body = {"clientid": client["id"], "currency_code": client["currency_code"], "lines": lines}
    body = {"credit_notes": note_body}
    r = whttp.post(url(wsb, "credit_notes/credit_notes"), json=body, params={"include[]": "lines"})
    note = result(r)[
        "credit_note"
    ]  # the Node SDK's wrapper key is accepted; answers say credit_note
    assert (
        note["id"] == note["creditid"]
        and note["status"] == "draft"
        and note["credit_type"] == "goodwill"
    )
    assert note["amount"]["amount"] == "30.00" and note["lines"][0]["creditid"] == note["id"]
    assert note["organization"] == client["organization"]
    bal = result(
        whttp.get(url(wsb, "users/clients", client["id"]), params={"include[]": "credit_balance"})
    )
    credit = {
        b["amount"]["code"]: Decimal(b["amount"]["amount"]) for b in bal["client"]["credit_balance"]
    }
    assert credit.get(client["currency_code"], Decimal(0)) >= Decimal(30)
    r = whttp.post(
        url(wsb, "credit_notes/credit_notes"),
        json={"credit_note": {"clientid": client["id"], "credit_type": "overpayment"}},
    )
    assert r.status_code == 422 and error_of(r)["field"] == "credit_type"
    got = list_all(
        whttp, wsb, "credit_notes/credit_notes", [("search[clientid]", str(client["id"]))]
    )
    assert note["id"] in {n["id"] for n in got} and all(n["clientid"] == client["id"] for n in got)


def test_invoice_profiles(rsb: Sandbox, rhttp: requests.Session) -> None:
    profiles = rsb.objects("invoice_profiles")
    invoices = rsb.invoices
    pid, profile = next(
        (p, v) for p, v in profiles.items() if any(i["parent"] == p for i in invoices.values())
    )
    includes = [("include[]", "lines"), ("include[]", "late-reminders")]
    got = result(rhttp.get(url(rsb, "invoice_profiles/invoice_profiles", pid), params=includes))
    prof = got["invoice_profile"]
    assert prof["occurrences_to_date"] == sum(i["parent"] == pid for i in invoices.values())
    assert prof["late-reminders"] == [] and prof["lines"][0]["profileid"] == pid
    assert prof["lines"][0]["lineid"] == 1
    # the client filter is called clientid although the field is customerid
    got = list_all(
        rhttp,
        rsb,
        "invoice_profiles/invoice_profiles",
        [("search[clientid]", str(profile["customerid"]))],
    )
    assert pid in {p["id"] for p in got} and all(
        p["customerid"] == profile["customerid"] for p in got
    )


def test_an_invoice_line_with_expenseid_rebills_the_expense(
    wsb: Sandbox, whttp: requests.Session
) -> None:
    exp = next(
        e for e in wsb.objects("expenses").values() if not e["invoiceid"] and e["vis_state"] == 0
    )
    client = next(iter(wsb.objects("clients")))
    line = {
        "type": 1,
        "expenseid": exp["id"],
        "name": "Rebilled",
        "qty": 1,
        "unit_cost": exp["amount"],
    }
    body = {"invoice": {"customerid": client, "create_date": "2025-03-03", "lines": [line]}}
    inv = result(whttp.post(url(wsb, "invoices/invoices"), json=body))["invoice"]
    stored = wsb.objects("expenses")[exp["id"]]
    assert stored["invoiceid"] == inv["id"] and stored["updated"] >= exp["updated"]
    assert result(whttp.get(url(wsb, "expenses/expenses", exp["id"])))["expense"]["status"] == 2


def test_writing_the_computed_due_date_is_403_errno_1038(
    wsb: Sandbox, whttp: requests.Session
) -> None:
    """The live API answered a due_date in a PUT/POST with 403 errno 1038 (mcp probe B13)."""
    iid = max(wsb.invoices)
    before = wsb.invoices
    r = whttp.put(
        url(wsb, "invoices/invoices", iid),
        json={"invoice": {"notes": "n", "due_date": "2030-01-01"}},
    )
    assert r.status_code == 403
    assert (error_of(r)["errno"], error_of(r)["field"]) == (1038, "due_date")
    client = next(iter(wsb.objects("clients")))
    body = {
        "invoice": {"customerid": client, "create_date": "2025-01-01", "due_date": "2025-02-01"}
    }
    assert whttp.post(url(wsb, "invoices/invoices"), json=body).status_code == 403
    assert wsb.invoices == before


def test_percent_encoded_brackets_are_the_same_filter(rsb: Sandbox) -> None:
    """Accounting query strings may be URL-encoded: search%5Bx%5D is search[x]."""
    inv = next(iter(rsb.invoices.values()))
    headers = {"Authorization": f"Bearer {rsb.access_token}"}
    plain = requests.get(
        f"{url(rsb, 'invoices/invoices')}?search[customerid]={inv['customerid']}", headers=headers
    )
    encoded = requests.get(
        f"{url(rsb, 'invoices/invoices')}?search%5Bcustomerid%5D={inv['customerid']}",
        headers=headers,
    )
    assert result(plain) == result(encoded)
    assert result(plain)["total"] < len(rsb.invoices)


def test_a_deleted_client_gets_no_new_invoices(wsb: Sandbox, whttp: requests.Session) -> None:
    cid = max(wsb.objects("clients"))
    body = {"invoice": {"customerid": cid, "create_date": "2025-01-01"}}
    assert whttp.post(url(wsb, "invoices/invoices"), json=body).status_code == 200
    whttp.put(url(wsb, "users/clients", cid), json={"client": {"vis_state": 1}})
    r = whttp.post(url(wsb, "invoices/invoices"), json=body)
    assert r.status_code == 422 and (error_of(r)["errno"], error_of(r)["field"]) == (
        1011,
        "customerid",
    )
    whttp.put(url(wsb, "users/clients", cid), json={"client": {"vis_state": 0}})  # restored
    assert whttp.post(url(wsb, "invoices/invoices"), json=body).status_code == 200


def test_qualified_ignore_filter_names_apply_to_one_resource(
    wsb: Sandbox, whttp: requests.Session
) -> None:
    pay = next(iter(wsb.objects("payments").values()))
    cid = str(pay["clientid"])
    narrowed_pay = list_all(whttp, wsb, "payments/payments", [("search[customerid]", cid)])
    narrowed_inv = list_all(whttp, wsb, "invoices/invoices", [("search[customerid]", cid)])
    wsb.ignore_filter("payments.customerid")
    assert len(list_all(whttp, wsb, "payments/payments", [("search[customerid]", cid)])) > len(
        narrowed_pay
    )
    assert list_all(whttp, wsb, "invoices/invoices", [("search[customerid]", cid)]) == narrowed_inv
    with pytest.raises(ValueError, match="unknown filter"):
        wsb.ignore_filter("payments.statusid")
