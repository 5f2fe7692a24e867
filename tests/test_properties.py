"""Property-based tests of dirty tracking and the line invariants (hypothesis, no I/O)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from freshbooks_orm import Invoice, InvoiceLine, Money

READ_ONLY_LINE_KEYS = {"amount", "updated", "taxNumber1", "taxNumber2", "invoiceid"}


def make_invoice(n_lines: int) -> Invoice:
    return Invoice.from_wire(
        {
            "id": 1,
            "notes": "",
            "po_number": None,
            "lines": [
                {
                    "lineid": 100 + i,
                    "type": 0,
                    "name": f"line {i}",
                    "qty": str(i + 1),
                    "unit_cost": {"amount": "10.00", "code": "USD"},
                    "amount": {"amount": f"{10 * (i + 1)}.00", "code": "USD"},
                    "taxNumber1": "x",
                    "updated": "2024-01-01 10:00:00",
                }
                for i in range(n_lines)
            ],
        }
    )


quantities = st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("qty"), st.integers(0, 10), quantities),
        st.tuples(st.just("name"), st.integers(0, 10), st.sampled_from(["a", "line 0", "b"])),
        st.tuples(st.just("append"), st.just(0), quantities),
        st.tuples(st.just("remove"), st.integers(0, 10), st.just(None)),
        st.tuples(st.just("reverse"), st.just(0), st.just(None)),
    ),
    max_size=8,
)


def apply(inv: Invoice, op: tuple) -> None:
    kind, index, value = op
    lines = inv.lines
    if kind == "append":
        lines.append(InvoiceLine(name="new", qty=value, unit_cost=Money("1.00", "USD")))
    elif kind == "reverse":
        lines.reverse()
    elif lines:
        line_index = index % len(lines)
        if kind == "qty":
            lines[line_index].qty = value
        elif kind == "name":
            lines[line_index].name = value
        elif kind == "remove":
            del lines[line_index]


@settings(max_examples=200, deadline=None)
@given(n_lines=st.integers(0, 5), ops=operations)
def test_lines_are_dirty_exactly_when_they_differ_and_then_travel_whole(n_lines, ops):
    inv = make_invoice(n_lines)
    original = [
        (line.lineid, line.name, line.qty, line.unit_cost) for line in make_invoice(n_lines).lines
    ]
    for op in ops:
        apply(inv, op)
    current = [(line.lineid, line.name, line.qty, line.unit_cost) for line in inv.lines]
    payload = inv.to_payload()
    if current == original:
        assert "lines" not in inv.dirty_fields
        assert payload == {}
    else:
        assert inv.dirty_fields == {"lines"}
        sent = payload["lines"]
        assert len(sent) == len(inv.lines)  # never a partial set
        for line, wire in zip(inv.lines, sent, strict=True):
            assert wire.get("lineid") == line.lineid  # kept ids, new lines without one
            assert not READ_ONLY_LINE_KEYS & set(wire)
            assert Decimal(str(wire["qty"])) == line.qty


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.tuples(st.sampled_from(["notes", "po_number", "terms"]), st.text(max_size=5)),
        max_size=6,
    )
)
def test_scalar_fields_are_dirty_exactly_when_they_differ(values):
    inv = make_invoice(0)
    original = {"notes": "", "po_number": None, "terms": None}
    current = dict(original)
    for name, value in values:
        setattr(inv, name, value)
        current[name] = value
    expected = {name for name in original if current[name] != original[name]}
    assert inv.dirty_fields == expected
    assert set(inv.to_payload()) == expected
