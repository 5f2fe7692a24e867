"""Objects that travel: models and querysets pickle and deep-copy; Money does arithmetic."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import apply, make_invoice, operations

from freshbooks_orm import Client, Invoice, InvoiceLine, Money, RetryPolicy, configure
from freshbooks_orm.sandbox import Sandbox

FAST = RetryPolicy(max_retries=2, backoff=0.001, max_backoff=0.01, max_retry_after=0.05)


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(invoices=12, seed=4) as sandbox:
        yield sandbox


@pytest.fixture
def client(sb: Sandbox) -> Iterator[Client]:
    with sb.client(retry=FAST) as c:
        yield c


def pickled(obj: Any) -> Any:
    return pickle.loads(pickle.dumps(obj))


COPIES = [pytest.param(pickled, id="pickle"), pytest.param(copy.deepcopy, id="deepcopy")]


# --- models ----------------------------------------------------------------------------------


def edited(client: Client) -> Invoice:
    inv = Invoice.objects.using(client).include("lines").first()
    assert inv is not None
    inv.po_number = "PO-travel"
    inv.lines[0].qty = (inv.lines[0].qty or 0) + 2
    inv.lines.append(InvoiceLine(name="Fee", qty=1, unit_cost=Money("5.00", inv.currency_code)))
    return inv


@pytest.mark.parametrize("clone", COPIES)
def test_a_modified_invoice_travels_with_its_changes(client: Client, clone: Any) -> None:
    inv = edited(client)
    payload = inv.to_payload()
    twin = clone(inv)
    assert type(twin) is Invoice and twin is not inv
    assert twin.dirty_fields == {"po_number", "lines"}
    assert twin.to_payload() == payload
    assert type(twin.lines) is type(inv.lines)
    twin.lines.append({"name": "coerced", "qty": 1})  # still the coercing line list
    assert isinstance(twin.lines[-1], InvoiceLine)
    assert inv.to_payload() == payload  # the original is untouched by changes to the copy


def test_a_pickle_holds_no_client_and_no_token(sb: Sandbox, client: Client) -> None:
    inv = edited(client)
    data = pickle.dumps(inv)
    assert sb.access_token.encode() not in data
    assert b"Client" not in data and b"Lock" not in data
    twin = pickle.loads(data)
    assert twin.__dict__["_client"] is None
    # An unpickled invoice saves through the client it is given (or the default one).
    sb.requests.clear()
    twin.save(using=client)
    assert [(r.method, r.status) for r in sb.requests] == [("PUT", 200)]
    assert not twin.is_dirty
    stored = sb.invoices[twin.id]
    assert stored["po_number"] == "PO-travel" and len(stored["lines"]) == len(twin.lines)


def test_an_unpickled_invoice_uses_the_default_client(sb: Sandbox, client: Client) -> None:
    inv = pickled(Invoice.objects.using(client).first())
    inv.notes = "default client"
    configure(client)
    try:
        inv.save()
    finally:
        configure(None)
    assert sb.invoices[inv.id]["notes"] == "default client"


def test_a_deep_copy_shares_the_client(client: Client) -> None:
    inv = Invoice.objects.using(client).first()
    twin = copy.deepcopy(inv)
    assert twin.__dict__["_client"] is client
    assert copy.copy(inv).__dict__["_client"] is client


def test_a_new_unsaved_invoice_travels() -> None:
    inv = Invoice(customerid=7, lines=[InvoiceLine(name="A", qty=2)])
    twin = pickled(inv)
    assert twin.pk is None and twin.to_payload() == inv.to_payload()


# --- querysets -------------------------------------------------------------------------------


@pytest.mark.parametrize("clone", COPIES)
def test_an_unevaluated_queryset_travels_without_a_request(
    sb: Sandbox, client: Client, clone: Any
) -> None:
    qs = Invoice.objects.using(client).filter(v3_status="draft").include("lines")[1:4]
    sb.requests.clear()
    twin = clone(qs)
    assert sb.requests == []
    assert twin.query == qs.query
    assert [i.id for i in twin.using(client)] == [i.id for i in qs]


def test_an_evaluated_queryset_pickles_its_rows_and_no_client(sb: Sandbox, client: Client) -> None:
    qs = Invoice.objects.using(client).all()
    rows = list(qs)
    data = pickle.dumps(qs)
    assert sb.access_token.encode() not in data
    sb.requests.clear()
    twin = pickle.loads(data)
    assert [i.id for i in twin] == [i.id for i in rows] and len(twin) == 12
    assert sb.requests == []  # answered from the travelled cache
    assert twin._client is None


def test_a_deep_copied_queryset_has_its_own_rows(client: Client) -> None:
    qs = Invoice.objects.using(client).all()
    list(qs)
    twin = copy.deepcopy(qs)
    assert twin._client is client
    twin[0].notes = "changed in the copy"
    assert qs[0].notes != "changed in the copy"


# --- Money -----------------------------------------------------------------------------------


def test_money_arithmetic() -> None:
    a, b = Money("10.50", "USD"), Money("3", "USD")
    assert a + b == Money("13.50", "USD")
    assert a - b == Money("7.50", "USD")
    assert -a == Money("-10.50", "USD") and +a == a
    assert abs(Money("-2.25", "USD")) == Money("2.25", "USD")
    assert a * 2 == 2 * a == Money("21.00", "USD")
    assert a * Decimal("0.5") == Money("5.25", "USD")
    assert a * 0.1 == Money("1.050", "USD")  # a float goes through repr: no binary noise
    assert a / 2 == Money("5.25", "USD")
    assert a / b == Decimal("3.5")
    assert sum([a, b]) == Money("13.50", "USD")
    assert sum([], Money("0", "EUR")) == Money("0", "EUR")
    assert b < a and b <= a and a > b and a >= b and a >= a
    assert sorted([a, b, -a]) == [-a, b, a]
    assert max([a, b]) is a


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a >= b,
        lambda a, b: a / b,
        lambda a, b: sum([a, b]),
    ],
)
def test_mixing_currencies_names_both(operation: Any) -> None:
    with pytest.raises(ValueError, match="'USD' and 'CAD'"):
        operation(Money("1", "USD"), Money("1", "CAD"))


@pytest.mark.parametrize(
    "operation",
    [
        lambda m: m + 1,
        lambda m: 1 - m,
        lambda m: m * m,
        lambda m: m * True,
        lambda m: m / "2",
        lambda m: m < 1,
        lambda m: 2 / m,
    ],
)
def test_money_refuses_plain_numbers_where_a_currency_is_needed(operation: Any) -> None:
    with pytest.raises(TypeError):
        operation(Money("1", "USD"))


def test_money_division_by_zero() -> None:
    with pytest.raises(ZeroDivisionError):
        Money("1", "USD") / 0


amounts = st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False)
codes = st.sampled_from(["USD", "CAD", "EUR"])


@given(st.lists(amounts, max_size=8), codes)
def test_sum_is_the_sum_of_the_amounts(values: list[Decimal], code: str) -> None:
    total = sum((Money(v, code) for v in values), Money(0, code))
    assert total == Money(sum(values, Decimal(0)), code)
    if values:
        assert sum(Money(v, code) for v in values) == total


@given(amounts, amounts, codes)
def test_money_behaves_like_its_amounts(x: Decimal, y: Decimal, code: str) -> None:
    a, b = Money(x, code), Money(y, code)
    assert a + b == b + a
    assert (a - b) + b == a
    negated = -a
    assert -negated == a and a + negated == Money(0, code)
    assert abs(a) == Money(abs(x), code)
    assert (a < b) == (x < y) and (a <= b) == (x <= y) and (a > b) == (x > y)
    assert a * 3 == a + a + a
    assert pickled(a) == a


@given(amounts, codes, codes)
def test_money_in_two_currencies_never_mixes(x: Decimal, c1: str, c2: str) -> None:
    if c1 == c2:
        return
    with pytest.raises(ValueError, match=f"{c1!r} and {c2!r}"):
        Money(x, c1) + Money(x, c2)


@settings(max_examples=100, deadline=None)
@given(
    n_lines=st.integers(0, 4),
    ops=operations,
    notes=st.one_of(st.none(), st.text(max_size=5)),
    clone=st.sampled_from([pickled, copy.deepcopy]),
)
def test_any_edited_invoice_travels_with_the_same_changes(
    n_lines: int, ops: list[Any], notes: str | None, clone: Any
) -> None:
    inv = make_invoice(n_lines)
    for op in ops:
        apply(inv, op)
    if notes is not None:
        inv.notes = notes
    before, payload = inv.dirty_fields, inv.to_payload()
    twin = clone(inv)
    assert twin.dirty_fields == before
    assert twin.to_payload() == payload
    # The copy tracks on its own: changing it leaves the original's changes as they were.
    twin.po_number = "changed in the copy"
    twin.lines.append(InvoiceLine(name="copy only", qty=1))
    assert {"po_number", "lines"} <= twin.dirty_fields
    assert inv.dirty_fields == before and inv.to_payload() == payload
