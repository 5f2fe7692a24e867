"""FreshBooks' own Python SDK against the sandbox: proof that the sandbox speaks the real wire.

The SDK reads ``FRESHBOOKS_API_URL`` in ``Client.__init__``, so the env var is set before
each SDK client is built.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from freshbooks import Client as FreshBooksClient
from freshbooks import FilterBuilder, IncludesBuilder, PaginateBuilder, SortBuilder
from freshbooks.errors import FreshBooksError

from freshbooks_orm.sandbox import Sandbox

Inv = dict[str, Any]


@pytest.fixture
def sdk_sb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(invoices=120, seed=11, extra_accounts=("AbC12",)) as sb:
        monkeypatch.setenv("FRESHBOOKS_API_URL", sb.url)
        yield sb


@pytest.fixture
def sdk(sdk_sb: Sandbox) -> FreshBooksClient:
    return FreshBooksClient(client_id="x", access_token=sdk_sb.access_token, user_agent="test")


def live(sb: Sandbox) -> list[Inv]:
    return [i for i in sb.invoices.values() if i["vis_state"] != 1]


def sdk_list_all(sdk: FreshBooksClient, sb: Sandbox, builders: list[Any]) -> list[Inv]:
    out: list[Inv] = []
    page = 1
    while True:
        res = sdk.invoices.list(sb.account_id, builders=[*builders, PaginateBuilder(page, 100)])
        out.extend(inv.data for inv in res)
        if page >= res.pages.pages:
            return out
        page += 1


def test_list_default_page(sdk: FreshBooksClient, sdk_sb: Sandbox) -> None:
    res = sdk.invoices.list(sdk_sb.account_id)
    n = len(live(sdk_sb))
    assert res.pages.total == n and res.pages.per_page == 15 and res.pages.page == 1
    assert len(res) == 15
    first = res[0]
    assert first.id == max(i["id"] for i in live(sdk_sb))
    assert isinstance(first.create_date, dt.date)
    assert first.amount.amount == first.data["amount"]["amount"]
    assert "lines" not in first.data


def test_paginate_builder(sdk: FreshBooksClient, sdk_sb: Sandbox) -> None:
    res = sdk.invoices.list(sdk_sb.account_id, builders=[PaginateBuilder(2, 10)])
    expected = sorted((i["id"] for i in live(sdk_sb)), reverse=True)[10:20]
    assert [inv.id for inv in res] == expected
    assert tuple(res.pages) == (2, -(-len(live(sdk_sb)) // 10), 10, len(live(sdk_sb)))
    capped = sdk.invoices.list(sdk_sb.account_id, builders=[PaginateBuilder(1, 1000)])
    assert capped.pages.per_page == 100


@pytest.mark.parametrize(
    "case",
    ["equals", "in_list", "like", "between_amount", "between_dates", "bool_paid", "bool_out"],
)
def test_filter_builders(sdk: FreshBooksClient, sdk_sb: Sandbox, case: str) -> None:
    pool = sorted(live(sdk_sb), key=lambda i: i["id"])
    f = FilterBuilder()
    if case == "equals":
        cid = pool[4]["customerid"]
        f.equals("customerid", cid)

        def pred(i: Inv) -> bool:
            return bool(i["customerid"] == cid)
    elif case == "in_list":
        wanted = {pool[0]["id"], pool[9]["id"], pool[30]["id"]}
        f.in_list("invoiceid", sorted(wanted))  # the SDK pluralises to invoiceids

        def pred(i: Inv) -> bool:
            return i["id"] in wanted
    elif case == "like":
        f.like("invoice_number_like", "00001")

        def pred(i: Inv) -> bool:
            return "00001" in i["invoice_number"]
    elif case == "between_amount":
        f.between("total", 200, 2000)  # -> search[total_min] / search[total_max]

        def pred(i: Inv) -> bool:
            return Decimal(200) <= Decimal(i["amount"]["amount"]) < Decimal(2000)
    elif case == "between_dates":
        f.between("date", dt.date(2023, 1, 1), dt.date(2024, 6, 1))  # date_min / date_max

        def pred(i: Inv) -> bool:
            return "2023-01-01" <= i["create_date"] < "2024-06-01"
    elif case == "bool_paid":
        f.boolean("paid", False)  # the SDK sends a top-level "paid=False"

        def pred(i: Inv) -> bool:
            return i["payment_status"] not in ("paid", "auto-paid")
    else:
        f.boolean("outstanding", True)

        def pred(i: Inv) -> bool:
            return Decimal(i["outstanding"]["amount"]) > 0

    expected = {i["id"] for i in pool if pred(i)}
    assert 0 < len(expected) < len(pool)
    assert {i["id"] for i in sdk_list_all(sdk, sdk_sb, [f])} == expected


def test_sort_builder(sdk: FreshBooksClient, sdk_sb: Sandbox) -> None:
    got = sdk_list_all(sdk, sdk_sb, [SortBuilder().ascending("invoice_date")])
    assert [i["id"] for i in got] == [
        i["id"] for i in sorted(live(sdk_sb), key=lambda i: (i["create_date"], i["id"]))
    ]


def test_includes_and_get(sdk: FreshBooksClient, sdk_sb: Sandbox) -> None:
    target = max(sdk_sb.invoices.values(), key=lambda i: len(i["lines"]))
    inc = IncludesBuilder().include("lines")
    got = sdk.invoices.get(sdk_sb.account_id, target["id"], includes=inc)
    assert got.data == target
    assert len(got.lines) == len(target["lines"]) >= 2
    assert got.lines[0].unit_cost.amount == target["lines"][0]["unit_cost"]["amount"]
    plain = sdk.invoices.get(sdk_sb.account_id, target["id"])
    assert "lines" not in plain.data
    listed = sdk.invoices.list(sdk_sb.account_id, builders=[inc])
    assert all("lines" in inv.data for inv in listed)


def test_get_unknown_raises_1012(sdk: FreshBooksClient, sdk_sb: Sandbox) -> None:
    with pytest.raises(FreshBooksError) as exc:
        sdk.invoices.get(sdk_sb.account_id, 42)
    assert exc.value.status_code == 404 and exc.value.error_code == 1012


def test_create_update_delete(sdk: FreshBooksClient, sdk_sb: Sandbox) -> None:
    data = {
        "email": "test@example.com",
        "customerid": 200_001,
        "create_date": "2024-04-04",
        "lines": [
            {"type": 0, "name": "paperwork", "qty": 1, "taxAmount1": 0,
             "unit_cost": {"amount": "5000.00", "code": "USD"}},
            {"type": 0, "name": "TV Ads", "qty": 2, "taxName1": "GST", "taxAmount1": 5,
             "unit_cost": {"amount": "1500.00", "code": "USD"}},
        ],
    }  # fmt: skip
    created = sdk.invoices.create(sdk_sb.account_id, data)
    iid = created.id
    assert created.v3_status == "draft" and created.status == 1
    assert created.amount.amount == "8150.00"  # 5000 + 3000 + 150 GST
    assert created.outstanding.amount == "8150.00"
    assert "lines" not in created.data
    stored = sdk_sb.invoices[iid]
    assert [ln["name"] for ln in stored["lines"]] == ["paperwork", "TV Ads"]

    keep = ("lineid", "type", "name", "qty", "unit_cost", "taxAmount1")  # the whole line
    lines = [{k: ln[k] for k in keep} for ln in stored["lines"]][:1]
    updated = sdk.invoices.update(
        sdk_sb.account_id,
        iid,
        {"po_number": "PO-SDK", "lines": lines},
        includes=IncludesBuilder().include("lines"),
    )
    assert updated.po_number == "PO-SDK"
    assert updated.amount.amount == "5000.00"
    assert [ln["lineid"] for ln in updated.data["lines"]] == [stored["lines"][0]["lineid"]]

    before = sdk.invoices.list(sdk_sb.account_id).pages.total
    deleted = sdk.invoices.delete(sdk_sb.account_id, iid)  # the SDK uses HTTP DELETE here
    assert deleted.data == {}
    assert sdk_sb.requests[-1].method == "DELETE" and sdk_sb.requests[-1].status == 200
    assert sdk_sb.invoices[iid]["vis_state"] == 1
    assert sdk.invoices.list(sdk_sb.account_id).pages.total == before - 1
    assert sdk.invoices.get(sdk_sb.account_id, iid).vis_state == 1


def test_current_user(sdk: FreshBooksClient, sdk_sb: Sandbox) -> None:
    me = sdk.current_user()
    assert me.identity_id and me.full_name == "Sandy Box"
    accounts = [m.data["business"]["account_id"] for m in me.business_memberships]
    assert accounts == [sdk_sb.account_id, "AbC12"]


def test_sdk_refresh_access_token(sdk_sb: Sandbox) -> None:
    old_refresh = sdk_sb.refresh_token
    client = FreshBooksClient(
        client_id=sdk_sb.client_id,
        client_secret=sdk_sb.client_secret,
        redirect_uri=sdk_sb.redirect_uri,
        refresh_token=old_refresh,
        user_agent="test",
    )
    tokens = client.refresh_access_token()
    assert tokens.access_token and tokens.refresh_token != old_refresh
    delta = tokens.access_token_expires_at - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(hours=11) < delta <= dt.timedelta(hours=12)
    rec = sdk_sb.requests[-1]
    assert rec.path == "/auth/oauth/token" and rec.form is not None
    assert rec.form["grant_type"] == "refresh_token" and rec.form["refresh_token"] == "***"
    # the refreshed client can call the API
    assert client.invoices.list(sdk_sb.account_id).pages.total == len(live(sdk_sb))
    # reusing the old refresh token fails with invalid_grant (surfaced by the SDK as a 400)
    with pytest.raises(FreshBooksError) as exc:
        client.refresh_access_token(old_refresh)
    assert exc.value.status_code == 400


def test_sdk_authorization_code(sdk_sb: Sandbox) -> None:
    client = FreshBooksClient(
        client_id=sdk_sb.client_id,
        client_secret=sdk_sb.client_secret,
        redirect_uri=sdk_sb.redirect_uri,
        user_agent="test",
    )
    tokens = client.get_access_token(sdk_sb.authorization_code())
    assert tokens.access_token and client.refresh_token == tokens.refresh_token
    assert client.current_user().identity_id


# --------------------------------------------------------------------------- other resources


def objs(sb: Sandbox, name: str) -> list[Inv]:
    return [o for o in sb.objects(name).values() if o.get("vis_state") != 1]


def test_sdk_clients_list_filter_get(sdk: FreshBooksClient, sdk_sb: Sandbox) -> None:
    clients = sorted(objs(sdk_sb, "clients"), key=lambda c: c["id"])
    res = sdk.clients.list(sdk_sb.account_id)
    assert res.pages.total == len(clients) and res.pages.per_page == 15
    assert res[0].userid == res[0].id == clients[-1]["id"]
    wanted = [c["id"] for c in clients[:3]]
    got = sdk.clients.list(
        sdk_sb.account_id,
        builders=[FilterBuilder().in_list("userid", wanted), PaginateBuilder(1, 100)],
    )  # the SDK pluralises to search[userids][]
    assert sorted(c.id for c in got) == wanted
    word = clients[2]["organization"].split()[0]
    got = sdk.clients.list(
        sdk_sb.account_id,
        builders=[FilterBuilder().like("organization_like", word), PaginateBuilder(1, 100)],
    )
    assert {c.id for c in got} == {
        c["id"] for c in clients if word.lower() in c["organization"].lower()
    }
    one = sdk.clients.get(sdk_sb.account_id, clients[0]["id"])
    assert one.data == clients[0]
    assert one.signup_date.tzinfo is not None  # the SDK reads signup_date as UTC
    inc = IncludesBuilder().include("outstanding_balance")
    with_balance = sdk.clients.get(sdk_sb.account_id, clients[0]["id"], includes=inc)
    assert isinstance(with_balance.data["outstanding_balance"], list)


def test_sdk_clients_create_update_delete(sdk: FreshBooksClient, sdk_sb: Sandbox) -> None:
    created = sdk.clients.create(sdk_sb.account_id, {"email": "sdk@example.com", "fname": "Sue"})
    assert created.email == "sdk@example.com" and created.fname == "Sue" and created.vis_state == 0
    updated = sdk.clients.update(sdk_sb.account_id, created.id, {"organization": "SDK Ltd"})
    assert updated.organization == "SDK Ltd"
    deleted = sdk.clients.delete(sdk_sb.account_id, created.id)  # PUT vis_state 1
    assert deleted.data == {}
    rec = sdk_sb.requests[-1]
    assert rec.method == "PUT" and rec.json == {"client": {"vis_state": 1}}
    assert sdk_sb.objects("clients")[created.id]["vis_state"] == 1
    with pytest.raises(FreshBooksError) as exc:
        sdk.clients.get(sdk_sb.account_id, 77)
    assert exc.value.status_code == 404 and exc.value.error_code == 1012


def test_sdk_payments(sdk: FreshBooksClient, sdk_sb: Sandbox) -> None:
    inv = next(
        i for i in sorted(live(sdk_sb), key=lambda i: i["id"])
        if i["payment_status"] == "unpaid" and i["v3_status"] == "sent"
    )  # fmt: skip
    total = Decimal(inv["amount"]["amount"])
    data = {"invoiceid": inv["id"], "amount": {"amount": str(total)}, "date": "2025-05-05",
            "type": "Check"}  # fmt: skip
    pay = sdk.payments.create(sdk_sb.account_id, data)
    assert pay.logid == pay.id and pay.invoiceid == inv["id"] and pay.clientid == inv["customerid"]
    assert pay.amount.amount == str(total) and pay.amount.code == inv["currency_code"]
    assert pay.date == dt.date(2025, 5, 5)
    paid = sdk.invoices.get(sdk_sb.account_id, inv["id"])
    assert paid.v3_status == "paid" and paid.outstanding.amount == "0.00"
    listed = sdk.payments.list(
        sdk_sb.account_id, builders=[FilterBuilder().equals("invoiceid", inv["id"])]
    )
    assert [p.id for p in listed] == [pay.id]
    sdk.payments.update(sdk_sb.account_id, pay.id, {"note": "cheque 42"})
    assert sdk_sb.objects("payments")[pay.id]["note"] == "cheque 42"
    assert sdk.payments.delete(sdk_sb.account_id, pay.id).data == {}  # PUT vis_state 1
    after = sdk.invoices.get(sdk_sb.account_id, inv["id"])
    assert after.outstanding.amount == str(total) and after.payment_status == "unpaid"
    with pytest.raises(FreshBooksError) as exc:
        sdk.payments.create(sdk_sb.account_id, {"invoiceid": inv["id"], "date": "2025-05-05"})
    assert exc.value.status_code == 422 and exc.value.error_code == 1001


def test_sdk_estimates(sdk: FreshBooksClient, sdk_sb: Sandbox) -> None:
    estimates = objs(sdk_sb, "estimates")
    res = sdk.estimates.list(sdk_sb.account_id, builders=[PaginateBuilder(1, 100)])
    assert res.pages.total == len(estimates)
    target = max(estimates, key=lambda e: len(e["lines"]))
    got = sdk.estimates.get(
        sdk_sb.account_id, target["id"], includes=IncludesBuilder().include("lines")
    )
    assert got.data == target and got.estimateid == target["id"]
    assert got.lines[0].unit_cost.amount == target["lines"][0]["unit_cost"]["amount"]
    sent = sdk.estimates.list(
        sdk_sb.account_id,
        builders=[FilterBuilder().equals("statusid", 2), PaginateBuilder(1, 100)],
    )
    assert {e.id for e in sent} == {e["id"] for e in estimates if e["status"] == 2}
    data = {
        "customerid": 200_001,
        "create_date": "2025-02-02",
        "lines": [{"name": "Audit", "qty": 2, "unit_cost": {"amount": "300.00", "code": "USD"}}],
    }
    created = sdk.estimates.create(sdk_sb.account_id, data)
    assert created.amount.amount == "600.00" and created.ui_status == "draft"
    updated = sdk.estimates.update(sdk_sb.account_id, created.id, {"notes": "valid 30 days"})
    assert updated.notes == "valid 30 days"
    assert sdk.estimates.delete(sdk_sb.account_id, created.id).data == {}  # HTTP DELETE
    assert sdk_sb.requests[-1].method == "DELETE"
    assert sdk_sb.objects("estimates")[created.id]["vis_state"] == 1
