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


def test_a_column_with_a_bad_value_still_gives_each_object_its_own_value() -> None:
    # the bad value is skipped, not shifted: the objects after it get their own row's value,
    # and a value assigned before the page fill is kept
    objs = Invoice._from_page(
        [row(1), row(2, create_date="2024-02-30"), row(3), row(4, create_date="2024-06-09")], None
    )
    objs[2].create_date = dt.date(2020, 1, 1)
    assert objs[0].create_date == dt.date(2024, 5, 1)
    assert "create_date" not in objs[1].__dict__
    assert objs[2].create_date == dt.date(2020, 1, 1)
    assert objs[3].__dict__["create_date"] == dt.date(2024, 6, 9)
    with pytest.raises(FieldValueError, match="2024-02-30"):
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


# --- a whole column parses exactly as its values one by one ---------------------------------


def _column_types() -> list[object]:
    from freshbooks_orm.orm.types import DECIMAL_STRING, ChoiceType
    from freshbooks_orm.resources.common import VIS_STATE

    return [
        STR,
        INT,
        IntType(0, 36500),
        BOOL,
        DECIMAL,
        DECIMAL_STRING,
        DATE,
        EASTERN_DATETIME,
        MONEY,
        CURRENCY,
        VIS_STATE,
        ChoiceType(("draft", "sent"), "status"),
    ]


def _same(a: object, b: object) -> bool:
    """Equal, of the same type and shown the same (Decimal('1.0') is not Decimal('1.00'))."""
    if isinstance(a, Money) and isinstance(b, Money):
        return _same(a.amount, b.amount) and a.code == b.code
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return repr(a) == repr(b) and a.tzinfo is b.tzinfo and a.fold == b.fold
    return type(a) is type(b) and repr(a) == repr(b)


canonical_values = st.one_of(
    st.none(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.booleans(),
    st.sampled_from(
        ["", "sent", "draft", "usd", "USD", "US", "0", "1", "-0.00", "12.50", "1e5", "1\n2"]
    ),
    decimals,
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["0000-00-00", "2024-02-30", "2024-05-01", "2024-05-01\n2024-05-02"]),
    st.datetimes().map(lambda d: d.replace(microsecond=0).isoformat(" ")),
    st.sampled_from(["2024-11-03 01:30:00", "2024-05-01 24:00:00", "2024-05-01T10:11:12"]),
    st.builds(
        lambda amount, code: {"amount": amount, "code": code},
        st.one_of(decimals, st.none(), st.integers(0, 10), st.just("1\n2")),
        st.sampled_from(["USD", "usd", "CAD", "US", "", 5]),
    ),
    st.sampled_from([{"amount": "1.00"}, {}, [], ["1.00", "USD"]]),
)


@given(st.lists(canonical_values, max_size=12), st.data())
def test_a_column_parses_as_its_values_one_by_one(raws: list, data: st.DataObject) -> None:
    from freshbooks_orm.orm.types import UNPARSED

    value_type = data.draw(st.sampled_from(_column_types()))
    # columns are mostly of one kind: draw one more column made of a single strategy's values
    for column in (raws, data.draw(st.lists(st.sampled_from(raws or [None]), max_size=12))):
        values, complete = value_type.parse_column(list(column))
        assert len(values) == len(column)
        expected = [outcome(value_type.parse, raw) for raw in column]
        for got, (status, want) in zip(values, expected, strict=True):
            if status == "ok":
                assert _same(got, want), (value_type, column)
            else:
                assert got is UNPARSED, (value_type, column)
        assert complete == all(status == "ok" for status, _ in expected)


@pytest.mark.parametrize(
    "column",
    [
        [{"amount": "10.00", "code": "USD"}, {"amount": "0.00", "code": "cad"}, None],
        ["2024-05-01", None, "2024-05-02"],
        ["2024-05-01 10:11:12", "2024-11-03 01:30:00"],
        ["1", "13.000", "-0.50"],
        [1, 2, None, 3],
    ],
)
def test_canonical_columns_take_the_one_pass_path(column: list) -> None:
    # the one-pass path is what makes a page's read cheap: canonical columns must not fall back
    from freshbooks_orm.orm import types

    kinds = {dict: MONEY, int: INT}
    value_type = kinds.get(type(column[0])) or (
        DATE if len(column[0]) == 10 else EASTERN_DATETIME if " " in column[0] else DECIMAL
    )
    calls = []
    original = types._one_by_one
    types._one_by_one = lambda parse, raws: calls.append(raws) or original(parse, raws)
    try:
        values, complete = value_type.parse_column(column)
    finally:
        types._one_by_one = original
    assert complete and calls == []
    assert all(_same(v, value_type.parse(r)) for v, r in zip(values, column, strict=True))


def test_a_page_reads_currency_codes_as_a_single_read_does() -> None:
    # the page used to keep "usd" as sent where reading the field alone gives "USD"
    objs = Invoice._from_page([row(1, currency_code="usd"), row(2, currency_code="CAD")], None)
    assert [o.currency_code for o in objs] == ["USD", "CAD"]
    assert Invoice.from_wire(row(1, currency_code="usd")).currency_code == "USD"


def test_a_saved_object_reads_its_new_state_not_its_page_row() -> None:
    objs = Invoice._from_page([row(1), row(2)], None)
    objs[0]._absorb(
        row(1, invoice_number="NEW", amount={"amount": "9.00", "code": "USD"}),
        sent=(),
        keep_dirty=False,
    )
    assert objs[1].invoice_number == "INV-2"  # fills the page's column
    assert objs[0].invoice_number == "NEW"
    assert objs[0].amount == Money("9.00", "USD")


def page_with_lines(count: int) -> list[Invoice]:
    rows = []
    for i in range(1, count + 1):
        lines = [
            {
                "lineid": n,
                "name": f"L{i}.{n}",
                "qty": "2",
                "unit_cost": {"amount": f"{n}.00", "code": "USD"},
            }
            for n in (1, 2)
        ]
        rows.append(row(i, lines=lines))
    return Invoice._from_page(rows, None)


def test_nested_lists_are_built_for_the_whole_page_and_their_items_share_a_page() -> None:
    objs = page_with_lines(3)
    assert objs[0].lines[1].name == "L1.2"
    # every invoice of the page has its lines, built from its own row, with its own snapshot
    assert all("lines" in o.__dict__ for o in objs)
    assert [[line.name for line in o.lines] for o in objs] == [
        [f"L{i}.1", f"L{i}.2"] for i in (1, 2, 3)
    ]
    items_page = objs[0].lines[0].__dict__["_page"]
    assert all(line.__dict__["_page"] is items_page for o in objs for line in o.lines)
    # reading a line field filled it for every line of the page, each from its own row
    assert [line.__dict__["name"] for o in objs for line in o.lines] == [
        f"L{i}.{n}" for i in (1, 2, 3) for n in (1, 2)
    ]
    assert all(o.dirty_fields == frozenset() for o in objs)
    objs[2].lines[0].qty = 5
    assert objs[2].dirty_fields == {"lines"}
    assert objs[0].dirty_fields == frozenset() and objs[1].dirty_fields == frozenset()
    assert objs[2].to_payload()["lines"][0]["qty"] == 5


def test_a_page_mate_without_its_list_loads_it_on_its_own_read_only() -> None:
    objs = Invoice._from_page([row(1, lines=[{"lineid": 1, "name": "a"}]), row(2)], None)
    objs[1].__dict__["_raw"]["id"] = None  # an unsaved object: no request, an empty list
    assert [line.name for line in objs[0].lines] == ["a"]
    assert "lines" not in objs[1].__dict__  # its row lacks the list: left for its own read
    assert list(objs[1].lines) == []


def test_releasing_a_page_releases_its_items_page() -> None:
    objs = page_with_lines(2)
    line = objs[0].lines[0]
    objs[0].__dict__["_page"].release()
    assert line.__dict__["_page"].dicts == []
    assert objs[1].lines[1].name == "L2.2"  # reads still right, one by one


def test_reading_lines_of_one_listed_invoice_sends_no_request_for_its_page_mates() -> None:
    with Sandbox(invoices=30, seed=5) as sb, sb.client() as client:
        invoices = list(Invoice.objects.using(client).all())  # listed without lines
        sb.requests.clear()
        assert len(invoices[3].lines) == len(sb.invoices[invoices[3].id]["lines"])
        assert len(sb.requests) == 1  # the one GET of that invoice, none for the others
        assert all("lines" not in inv.__dict__ for i, inv in enumerate(invoices) if i != 3)


TRICKY_COLUMNS = [
    ["1\n2"],
    ["1", "1\n2"],
    ["2024-05-01\n2024-05-02"],
    ["2024-05-01 10:11:12\n2024-05-01 10:11:12"],
    [{"amount": "1\n2", "code": "USD"}],
    [{"amount": "1.00", "code": "usd"}, {"amount": "2", "code": "US"}],
    [{"amount": "1.00", "code": "USD\n"}],
    [{"amount": "1.00", "code": "CAD"}, {"amount": None, "code": "CAD"}],
    ["0000-00-00", "2024-05-01"],
    ["2024-02-30"],
    [" 12.5", "1"],
    ["1_000"],
    ["+5"],
    ["12345678901234", "1"],
    ["0000000000000001"],
    ["1.12345678901"],
    ["1.", ".5"],
    ["-"],
    [True, 1],
    [1, 2**63],
    [-(2**63) - 1],
    [0, 36501],
    ["usd", "EUR"],
    ["", None],
    [None, None],
    [],
    [1, 99],
]


@pytest.mark.parametrize("column", TRICKY_COLUMNS, ids=repr)
def test_tricky_columns_parse_as_their_values_one_by_one(column: list) -> None:
    from freshbooks_orm.orm.types import UNPARSED

    for value_type in _column_types():
        values, complete = value_type.parse_column(list(column))
        expected = [outcome(value_type.parse, raw) for raw in column]
        for got, (status, want) in zip(values, expected, strict=True):
            assert _same(got, want) if status == "ok" else got is UNPARSED, value_type
        assert complete == all(status == "ok" for status, _ in expected)


def test_an_object_pickled_with_the_two_tuple_snapshot_still_tracks_its_lines() -> None:
    inv = with_lines()
    inv.lines  # noqa: B018
    items = tuple(inv.lines)
    inv.__dict__["_snapshots"]["lines"] = (items, tuple(i.__dict__["_raw"] for i in items))
    twin = pickle.loads(pickle.dumps(inv))
    assert twin.dirty_fields == frozenset()
    twin.lines[0].name = "changed"
    assert twin.dirty_fields == {"lines"}
