"""Nested items (invoice lines) as FreshBooks needs them written, and fields set over values the
server sent unreadable.

FreshBooks replaces a PUT's lines wholesale: a line sent with its ``lineid`` rewrites that line
of *this* invoice, a line without one is created, a line left out is deleted.  ``lineid`` is
unique within one invoice only (every invoice has a line 1), so a line that is not this
invoice's own -- a copy, another invoice's line, the same line a second time -- must go without
it, and a line compares equal only to itself.
"""

from __future__ import annotations

import copy
import datetime as dt
import pickle
from typing import Any

import pytest
from fake_client import FakeClient

from freshbooks_orm import Customer, Invoice, InvoiceLine
from freshbooks_orm.errors import FieldValueError, InvalidFieldValue
from freshbooks_orm.sandbox import Sandbox


@pytest.fixture
def sb(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("FRESHBOOKS_ORM_JOURNAL", str(tmp_path / "journal"))
    with Sandbox(invoices=12, seed=1) as sandbox:
        yield sandbox


def writes(sb: Any) -> list[Any]:
    return [r for r in sb.requests if r.method in ("PUT", "POST", "DELETE")]


def with_lines(sb: Any, n: int = 2) -> list[int]:
    return sorted(pk for pk, inv in sb.invoices.items() if len(inv.get("lines") or ()) >= n)


def server_lines(sb: Any, pk: int) -> list[tuple[Any, Any]]:
    return [(line.get("lineid"), line.get("name")) for line in sb.invoices[pk]["lines"]]


# --- 1. a nested list is never None --------------------------------------------------------------


@pytest.mark.parametrize("include", [True, False])
def test_assigning_none_to_lines_raises_before_any_request(sb: Any, include: bool) -> None:
    pk = with_lines(sb)[0]
    qs = Invoice.objects.using(sb.client())
    inv = (qs.include("lines") if include else qs).get(pk)
    before = server_lines(sb, pk)
    sb.requests.clear()
    with pytest.raises(InvalidFieldValue, match=r"Invoice\.lines: expected a list of InvoiceLine"):
        inv.lines = None
    assert not inv.is_dirty and inv.dirty_fields == frozenset()
    inv.save()  # nothing to send
    assert writes(sb) == []
    assert server_lines(sb, pk) == before


def test_assigning_none_to_a_new_objects_nested_list_raises() -> None:
    inv = Invoice(customerid=1)
    with pytest.raises(InvalidFieldValue, match=r"Invoice\.lines"):
        inv.lines = None
    assert inv.lines == [] and inv.to_payload() == {"customerid": 1}
    customer = Customer(organization="Acme")
    with pytest.raises(InvalidFieldValue, match=r"Customer\.contacts"):
        customer.contacts = None
    with pytest.raises(InvalidFieldValue, match=r"Invoice\.lines"):
        Invoice(customerid=1, lines=None)


def test_update_or_create_with_null_lines_sends_nothing(sb: Any) -> None:
    pk = with_lines(sb)[0]
    sb.requests.clear()
    with pytest.raises(InvalidFieldValue, match=r"Invoice\.lines"):
        Invoice.objects.using(sb.client()).update_or_create(id=pk, defaults={"lines": None})
    assert sb.requests == []  # not even the GET


def test_queryset_update_with_null_lines_sends_nothing(sb: Any) -> None:
    pk = with_lines(sb)[0]
    sb.requests.clear()
    with pytest.raises(InvalidFieldValue, match=r"Invoice\.lines"):
        Invoice.objects.using(sb.client()).filter(invoiceid=pk).update(lines=None)
    assert sb.requests == []


# --- 2. only this object's own lines go with their lineid ---------------------------------------


def loaded(sb: Any, pk: int) -> Invoice:
    return Invoice.objects.using(sb.client()).include("lines").get(pk)


def sent_lineids(inv: Invoice) -> list[Any]:
    return [line.get("lineid") for line in inv.to_payload()["lines"]]


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(lambda inv, other: copy.deepcopy(inv.lines[0]), id="deepcopy-of-own"),
        pytest.param(lambda inv, other: copy.copy(inv.lines[0]), id="copy-of-own"),
        pytest.param(lambda inv, other: inv.lines[0], id="same-line-twice"),
        pytest.param(lambda inv, other: other.lines[0], id="other-invoices-line"),
        pytest.param(lambda inv, other: pickle.loads(pickle.dumps(inv.lines[0])), id="pickled"),
    ],
)
def test_a_line_not_this_invoices_own_is_sent_as_a_new_line(sb: Any, extra: Any) -> None:
    pk, other_pk = with_lines(sb)[:2]
    inv, other = loaded(sb, pk), loaded(sb, other_pk)
    own = [line.lineid for line in inv.lines]
    assert own[0] == other.lines[0].lineid  # lineids are per invoice: both have line 1
    before, other_before = server_lines(sb, pk), server_lines(sb, other_pk)
    line = extra(inv, other)
    inv.lines.append(line)
    assert inv.dirty_fields == {"lines"}
    assert sent_lineids(inv) == [*own, None]
    payload = inv.to_payload()["lines"][-1]
    assert payload["name"] == line.name and "amount" not in payload
    sb.requests.clear()
    inv.save()
    [put] = writes(sb)
    assert [item.get("lineid") for item in put.json["invoice"]["lines"]] == [*own, None]
    after = server_lines(sb, pk)
    assert after[:-1] == before  # every own line kept, with its id and values
    assert after[-1][1] == line.name and after[-1][0] not in own
    assert server_lines(sb, other_pk) == other_before
    assert [line.lineid for line in inv.lines] == [lid for lid, _ in after]


def test_kept_own_lines_go_with_their_lineid_after_edits(sb: Any) -> None:
    pk = with_lines(sb, 3)[0]
    inv = loaded(sb, pk)
    own = [line.lineid for line in inv.lines]
    inv.lines.reverse()
    inv.lines[0].description = "edited"
    assert sent_lineids(inv) == own[::-1]
    del inv.lines[1]
    assert sent_lineids(inv) == [own[-1], *own[::-1][2:]]
    inv.lines = list(inv.lines)  # the same line objects in a new list
    assert sent_lineids(inv) == [own[-1], *own[::-1][2:]]


def test_replacing_an_own_line_by_its_copy_is_a_change_and_sends_a_new_line(sb: Any) -> None:
    pk = with_lines(sb)[0]
    inv = loaded(sb, pk)
    own = [line.lineid for line in inv.lines]
    inv.lines[0] = copy.deepcopy(inv.lines[0])
    assert inv.dirty_fields == {"lines"}  # dirty tracking agrees with what save() sends
    assert sent_lineids(inv) == [None, *own[1:]]
    inv.lines[0] = inv.lines[1]  # the same own line twice: once with its id
    assert sent_lineids(inv) == [own[1], None, *own[2:]]


def test_a_whole_copy_of_an_invoice_keeps_its_own_lines(sb: Any) -> None:
    pk = with_lines(sb)[0]
    inv = loaded(sb, pk)
    own = [line.lineid for line in inv.lines]
    for clone in (copy.deepcopy(inv), pickle.loads(pickle.dumps(inv)), copy.copy(inv)):
        assert not clone.is_dirty
        clone.lines[0].description = "edited"
        assert sent_lineids(clone) == own
        clone.lines.append(copy.deepcopy(clone.lines[0]))
        assert sent_lineids(clone) == [*own, None]


def test_create_never_sends_lineids(sb: Any) -> None:
    pk, other_pk = with_lines(sb)[:2]
    a, b = loaded(sb, pk), loaded(sb, other_pk)
    sb.requests.clear()
    new = Invoice.objects.using(sb.client()).create(
        customerid=a.customerid, create_date=dt.date(2024, 5, 1), lines=b.lines
    )
    [post] = writes(sb)
    assert post.method == "POST"
    sent = post.json["invoice"]["lines"]
    assert [line["name"] for line in sent] == [line.name for line in b.lines]
    assert all("lineid" not in line and "amount" not in line for line in sent)
    assert [line.name for line in new.lines] == [line.name for line in b.lines]
    unsaved = Invoice(customerid=1, lines=[a.lines[0], a.lines[0]])
    assert [line.get("lineid") for line in unsaved.to_payload()["lines"]] == [None, None]


def test_batch_apply_sends_a_foreign_line_as_new(sb: Any) -> None:
    pk, other_pk = with_lines(sb)[:2]
    other = loaded(sb, other_pk)
    before = server_lines(sb, pk)
    result = (
        Invoice.objects.using(sb.client())
        .filter(invoiceid=pk)
        .apply(lambda inv: inv.lines.append(other.lines[0]))
    )
    assert (result.done, result.failed) == (1, 0)
    after = server_lines(sb, pk)
    assert after[:-1] == before
    assert after[-1][1] == other.lines[0].name and after[-1][0] not in [i for i, _ in before]


def test_queryset_update_lines_replaces_them_with_new_lines(sb: Any) -> None:
    pk, other_pk = with_lines(sb)[:2]
    other = loaded(sb, other_pk)
    before_ids = [i for i, _ in server_lines(sb, pk)]
    Invoice.objects.using(sb.client()).filter(invoiceid=pk).update(lines=list(other.lines))
    after = server_lines(sb, pk)
    assert [name for _, name in after] == [line.name for line in other.lines]
    puts = [r for r in writes(sb) if r.method == "PUT"]
    assert all("lineid" not in line for line in puts[-1].json["invoice"]["lines"])
    assert before_ids  # the old lines were replaced, none rewritten through a foreign id


# --- 3. lines compare by identity ---------------------------------------------------------------


def test_lines_of_different_invoices_are_not_equal(sb: Any) -> None:
    invs = list(Invoice.objects.using(sb.client()).include("lines"))
    lines = [line for inv in invs for line in inv.lines]
    assert len(set(lines)) == len(lines)
    a, b = invs[0], invs[1]
    assert a.lines[0].lineid == b.lines[0].lineid
    assert a.lines[0] != b.lines[0]
    assert b.lines[0] not in a.lines
    with pytest.raises(ValueError):
        a.lines.remove(b.lines[0])
    assert not a.is_dirty
    assert a.lines[0] == a.lines[0] and a.lines[0] in a.lines
    assert copy.deepcopy(a.lines[0]) != a.lines[0]
    assert InvoiceLine(name="x") != InvoiceLine(name="x")


def test_resources_still_compare_by_id(sb: Any) -> None:
    pk = with_lines(sb)[0]
    assert loaded(sb, pk) == Invoice.objects.using(sb.client()).get(pk)
    assert len({loaded(sb, pk), loaded(sb, pk)}) == 1


# --- 4. a value the server sent unreadable can be overwritten -----------------------------------


@pytest.mark.parametrize(
    ("field", "bad", "good", "wire"),
    [
        ("due_offset_days", -5, 30, 30),
        ("currency_code", "US", "USD", "USD"),
        ("discount_value", "abc", "5", "5"),
    ],
)
def test_assigning_over_an_unreadable_server_value_saves_it(
    field: str, bad: Any, good: Any, wire: Any
) -> None:
    row = {"id": 7, "invoiceid": 7, "customerid": 1, "notes": "n", field: bad}

    def answer(method: str, path: str, params: Any, json: Any) -> Any:
        body = dict(row) if json is None else {**row, **json["invoice"]}
        return {"response": {"result": {"invoice": body}}}

    client = FakeClient({("GET", "/invoices/7"): answer, ("PUT", "/invoices/7"): answer})
    inv = Invoice.objects.using(client).get(7)
    with pytest.raises(FieldValueError, match=field):
        getattr(inv, field)
    assert not inv.is_dirty
    setattr(inv, field, good)
    assert inv.dirty_fields == {field}
    assert inv.to_payload() == {field: wire}
    inv.save()
    method, _path, _params, body = client.calls[-1]
    assert (method, body) == ("PUT", {"invoice": {field: wire}})
    assert not inv.is_dirty and getattr(inv, field) == inv._original(field)


def _saved_invoice() -> Invoice:
    lines = [
        {
            "lineid": n,
            "name": f"line {n}",
            "qty": "1",
            "unit_cost": {"amount": "5.00", "code": "USD"},
        }
        for n in (1, 2)
    ]
    return Invoice.from_wire({"id": 9, "customerid": 1, "lines": lines})


@pytest.mark.parametrize("form", ["two-tuple", "states"])
def test_older_snapshot_forms_keep_own_lineids_once(form: str) -> None:
    inv = _saved_invoice()
    items = tuple(inv.lines)
    if form == "two-tuple":  # 0.2 previews: (items, wire dicts)
        snapshot: Any = (items, tuple(i.__dict__["_raw"] for i in items))
    else:  # 0.1: the items' states, the id first
        snapshot = [item._state() for item in items]
    inv.__dict__["_snapshots"]["lines"] = snapshot
    twin = pickle.loads(pickle.dumps(inv))
    assert not twin.is_dirty
    twin.lines.append(twin.lines[0])
    twin.lines.append(_saved_invoice().lines[1] if form == "two-tuple" else InvoiceLine(name="x"))
    assert sent_lineids(twin) == [1, 2, None, None]
