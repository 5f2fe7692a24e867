"""Fast reads keep their meaning: values parsed a page at a time, the fast paths of the value
types, and the raw-dict snapshot of nested lists.  Correctness only; timings live in bench/."""

from __future__ import annotations

import copy
import datetime as dt
import pickle
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from freshbooks_orm import FieldValueError, Invoice, InvoiceLine, Money
from freshbooks_orm.orm.types import (
    BOOL,
    CURRENCY,
    DATE,
    DECIMAL,
    EASTERN,
    EASTERN_DATETIME,
    INT,
    MONEY,
    STR,
    IntType,
    to_currency,
    to_date,
    to_datetime,
    to_decimal,
)
from freshbooks_orm.sandbox import Sandbox


def row(i: int, **over: object) -> dict:
    data = {
        "id": i,
        "invoice_number": f"INV-{i}",
        "amount": {"amount": f"{i}.50", "code": "USD"},
        "create_date": "2024-05-01",
        "updated": "2024-05-02 10:11:12",
        "v3_status": "sent",
    }
    data.update(over)
    return data


# --- a page parses a field for all its objects ------------------------------------------------


def test_reading_one_object_of_a_page_parses_the_field_for_the_whole_page() -> None:
    objs = Invoice._from_page([row(i) for i in range(1, 6)], None)
    assert "amount" not in objs[3].__dict__
    assert objs[0].amount == Money("1.50", "USD")
    # the others now hold their own value, parsed from their own row
    assert [o.__dict__["amount"] for o in objs] == [Money(f"{i}.50", "USD") for i in range(1, 6)]
    assert objs[4].create_date == dt.date(2024, 5, 1)
    assert objs[2].updated == dt.datetime(2024, 5, 2, 10, 11, 12, tzinfo=EASTERN)


def test_a_bad_value_in_a_page_is_reported_by_its_own_object_only() -> None:
    objs = Invoice._from_page([row(1), row(2, create_date="2024-02-30"), row(3)], None)
    assert objs[0].create_date == dt.date(2024, 5, 1)
    assert objs[2].create_date == dt.date(2024, 5, 1)
    with pytest.raises(FieldValueError, match="create_date"):
        objs[1].create_date  # noqa: B018


def test_an_assigned_value_is_not_overwritten_by_its_page() -> None:
    objs = Invoice._from_page([row(1), row(2)], None)
    objs[1].invoice_number = "MINE"
    assert objs[0].invoice_number == "INV-1"
    assert objs[1].invoice_number == "MINE"
    assert objs[1].dirty_fields == {"invoice_number"}
    assert objs[0].dirty_fields == frozenset()


def test_page_mates_do_not_travel_with_a_copy_or_a_pickle() -> None:
    objs = Invoice._from_page([row(1), row(2)], None)
    for twin in (copy.copy(objs[0]), copy.deepcopy(objs[0]), pickle.loads(pickle.dumps(objs[0]))):
        assert "_page" not in twin.__dict__
        assert twin.amount == Money("1.50", "USD")
        assert "amount" not in objs[1].__dict__  # the copy's read parsed only its own value


def test_iterator_lets_go_of_each_page_and_reads_stay_right() -> None:
    with Sandbox(invoices=230, seed=11) as sb, sb.client() as client:
        expected = {
            iid: inv["invoice_number"] for iid, inv in sb.invoices.items() if inv["vis_state"] != 1
        }
        seen = {}
        kept = []
        for inv in Invoice.objects.using(client).iterator():
            seen[inv.id] = inv.invoice_number
            kept.append(inv)
        assert seen == expected
        # a streamed page is released once consumed: later reads parse alone, still right
        assert all(not inv.__dict__["_page"].dicts for inv in kept)
        assert {inv.id: inv.invoice_number for inv in kept} == expected
        listed = list(Invoice.objects.using(client).all())
        assert {inv.id: inv.amount for inv in listed} == {inv.id: inv.amount for inv in kept}


def test_an_object_kept_from_a_loop_does_not_keep_its_page_mates() -> None:
    with Sandbox(invoices=150, seed=12) as sb, sb.client() as client:
        qs = Invoice.objects.using(client).all()
        pages = set()
        for inv in qs:
            pages.add(id(inv.__dict__["_page"]))
            assert inv.__dict__["_page"].dicts  # during the loop, reads are page-wide
            inv.amount  # noqa: B018
        assert len(pages) == 2
        kept = qs[0]
        assert kept.__dict__["_page"].dicts == []  # the loop is over: the page let go
        assert kept.create_date == dt.date.fromisoformat(sb.invoices[kept.id]["create_date"])


# --- the fast paths give exactly what the general path gives ------------------------------------

decimals = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.from_regex(r"-?[0-9]{1,15}(\.[0-9]{0,12})?", fullmatch=True),
    st.sampled_from(["1e5", "1E-20", " 12.5", "12.5 ", "1_000.5", "0E+20", "-0.00", "", "abc"]),
)


def outcome(fn, value):  # type: ignore[no-untyped-def]
    try:
        return ("ok", fn(value))
    except Exception as exc:  # the type and message are what is compared
        return (type(exc), str(exc))


@given(decimals, st.sampled_from(["USD", "usd", "CAD", "US", "", " EUR"]))
def test_money_and_decimal_fast_paths_match_the_general_path(amount: str, code: str) -> None:
    def general_money(raw: dict) -> Money:
        return Money(to_decimal(raw["amount"]), to_currency(raw["code"]))

    raw = {"amount": amount, "code": code}
    fast, slow = outcome(MONEY.parse, raw), outcome(general_money, raw)
    if amount == "":
        assert fast[0] != "ok"  # an empty amount is refused, never a Money
    else:
        assert fast == slow
        if fast[0] == "ok":
            assert str(fast[1].amount) == str(slow[1].amount)  # same digits, same exponent
    got = outcome(DECIMAL.parse, amount)
    want = ("ok", None) if amount == "" else outcome(to_decimal, amount)
    assert got[0] == want[0]
    if got[0] == "ok" and got[1] is not None:
        assert str(got[1]) == str(want[1])


@given(
    st.one_of(
        st.dates().map(lambda d: d.isoformat()),
        st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),
        st.sampled_from(
            ["0000-00-00", "2024-1-01", "20240101", "2024-W01-1", "\uff12\uff10\uff12\uff14-01-01"]
        ),
    )
)
def test_date_fast_path_matches_the_general_path(text: str) -> None:
    got = outcome(DATE.parse, text)
    want = ("ok", None) if text == "0000-00-00" else outcome(to_date, text)
    assert got[0] == want[0]
    if got[0] == "ok":
        assert got[1] == want[1] and type(got[1]) is type(want[1])


@given(
    st.one_of(
        st.datetimes().map(lambda d: d.replace(microsecond=0).isoformat(" ")),
        st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}", fullmatch=True),
        st.sampled_from(["2024-03-10 02:30:00", "2024-11-03 01:30:00", "2024-05-01 24:00:00"]),
    )
)
def test_datetime_fast_path_matches_the_general_path(text: str) -> None:
    def general(raw: str) -> dt.datetime:
        return to_datetime(raw).astimezone(EASTERN)

    got, want = outcome(EASTERN_DATETIME.parse, text), outcome(general, text)
    assert got[0] == want[0]
    if got[0] == "ok":
        assert got[1] == want[1] and got[1].tzinfo is want[1].tzinfo
        assert got[1].utcoffset() == want[1].utcoffset() and got[1].fold == want[1].fold


@given(st.one_of(st.integers(), st.booleans(), st.text(max_size=5), st.none()))
def test_scalar_fast_paths_match_the_general_path(value: object) -> None:
    narrow = IntType(0, 36500)
    for value_type in (INT, narrow, BOOL, STR, CURRENCY):
        got = outcome(value_type.parse, value)
        want = outcome(lambda v, t=value_type: None if v is None else t.coerce(v), value)
        if value_type is STR and isinstance(value, int) and not isinstance(value, bool):
            want = ("ok", str(value))  # liberal on read: a number where text is declared
        if value_type is CURRENCY and value == "":
            want = ("ok", None)
        assert got == want, value_type


# --- nested lists: the snapshot is the raw line dicts ------------------------------------------


def with_lines() -> Invoice:
    lines = [
        {"lineid": n, "name": f"L{n}", "qty": "2", "unit_cost": {"amount": "5.00", "code": "USD"}}
        for n in (1, 2, 3)
    ]
    return Invoice.from_wire(row(7, lines=lines))


def test_first_access_to_lines_parses_no_line_field() -> None:
    inv = with_lines()
    lines = inv.lines
    assert len(lines) == 3
    declared = set(InvoiceLine._meta.fields)
    assert all(not declared & set(line.__dict__) for line in lines)
    assert inv.dirty_fields == frozenset()


def test_line_changes_are_still_tracked() -> None:
    inv = with_lines()
    inv.lines[1].qty = Decimal("2")  # the same value: not a change
    assert inv.dirty_fields == frozenset()
    inv.lines[1].qty = 3
    assert inv.dirty_fields == {"lines"}
    inv = with_lines()
    inv.lines[0] = InvoiceLine(name="L1", qty=2, unit_cost=Money("5.00", "USD"))
    assert inv.dirty_fields == {"lines"}  # a new line (no lineid) replaced a saved one
    inv = with_lines()
    inv.lines.reverse()
    assert inv.dirty_fields == {"lines"}
    inv = with_lines()
    inv.lines.pop()
    assert inv.dirty_fields == {"lines"}
    inv = with_lines()
    twin = copy.deepcopy(inv)
    twin.lines[2].name = "changed"
    assert twin.dirty_fields == {"lines"} and inv.dirty_fields == frozenset()
