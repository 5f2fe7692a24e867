"""Property: any combination of lookups, ``Q`` (``&``, ``|``, ``~``) and ``exclude()`` returns
exactly the rows a plain Python predicate over every object returns -- against the sandbox,
whatever the planner sends to the server and whatever it evaluates locally."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from freshbooks_orm import V3_STATUSES, Invoice, InvoiceStatus, Q
from freshbooks_orm.http.transport import RetryPolicy
from freshbooks_orm.sandbox import Sandbox


@pytest.fixture(scope="module")
def sb():
    with Sandbox(invoices=SIZE, seed=SEED) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def client(sb):
    with sb.client(retry=RetryPolicy(backoff=0.001, max_retry_after=0.01)) as c:
        yield c


@pytest.fixture(scope="module")
def everything(sb, client):
    return list(Invoice.objects.using(client))


SEED, SIZE = 21, 140
#: The data the sandbox serves, known before it starts, so that values hit the boundaries.
_DATA = [i for i in Sandbox(invoices=SIZE, seed=SEED).invoices.values() if i["vis_state"] != 1]
CUSTOMERS = st.one_of(
    st.sampled_from(sorted({i["customerid"] for i in _DATA})), st.integers(200000, 200030)
)
DATES = st.one_of(
    st.sampled_from(sorted({dt.date.fromisoformat(i["create_date"]) for i in _DATA})),
    st.dates(dt.date(2021, 1, 1), dt.date(2026, 1, 1)),
)
AMOUNTS = st.one_of(
    st.sampled_from(sorted({Decimal(i["amount"]["amount"]) for i in _DATA})),
    st.integers(0, 6000),
)
STATUSES = st.sampled_from(["draft", "sent", "viewed", "paid", "partial", "overdue", "disputed"])


def _amount(o):
    return o.amount.amount


# Each atom: a strategy of (lookup keyword arguments, plain Python predicate on an Invoice).
ATOMS = [
    STATUSES.map(lambda v: ({"v3_status": v}, lambda o: o.v3_status == v)),
    st.lists(STATUSES, min_size=1, max_size=3).map(
        lambda vs: ({"v3_status__in": vs}, lambda o: o.v3_status in vs)
    ),
    st.sampled_from(list(InvoiceStatus)).map(lambda v: ({"status": v}, lambda o: o.status == v)),
    st.lists(st.sampled_from(["draft", "sent", "paid", 8]), min_size=1, max_size=2).map(
        lambda vs: (
            {"status__in": vs},
            lambda o: (
                o.status in [InvoiceStatus[v.upper()] if isinstance(v, str) else v for v in vs]
            ),
        )
    ),
    AMOUNTS.map(lambda v: ({"amount__gt": v}, lambda o: _amount(o) > v)),
    AMOUNTS.map(lambda v: ({"amount__gte": v}, lambda o: _amount(o) >= v)),
    AMOUNTS.map(lambda v: ({"amount__lt": v}, lambda o: _amount(o) < v)),
    AMOUNTS.map(lambda v: ({"amount__lte": v}, lambda o: _amount(o) <= v)),
    st.tuples(AMOUNTS, AMOUNTS).map(
        lambda t: ({"amount__range": t}, lambda o: t[0] <= _amount(o) <= t[1])
    ),
    DATES.map(lambda d: ({"create_date__gte": d}, lambda o: o.create_date >= d)),
    DATES.map(lambda d: ({"create_date__lt": d}, lambda o: o.create_date < d)),
    DATES.map(lambda d: ({"create_date__gt": d}, lambda o: o.create_date > d)),
    DATES.map(lambda d: ({"date_min": d}, lambda o: o.create_date >= d)),
    st.integers(2021, 2026).map(
        lambda y: ({"create_date__year": y}, lambda o: o.create_date.year == y)
    ),
    st.integers(1, 12).map(
        lambda m: ({"create_date__month": m}, lambda o: o.create_date.month == m)
    ),
    CUSTOMERS.map(lambda c: ({"customerid": c}, lambda o: o.customerid == c)),
    st.lists(CUSTOMERS, min_size=1, max_size=4).map(
        lambda cs: ({"customerid__in": cs}, lambda o: o.customerid in cs)
    ),
    st.sampled_from(["USD", "CAD", "EUR", "GBP"]).map(
        lambda c: ({"currency_code": c}, lambda o: o.currency_code == c)
    ),
    st.sampled_from("0123456789").map(
        lambda d: ({"invoice_number__endswith": d}, lambda o: o.invoice_number.endswith(d))
    ),
    st.booleans().map(lambda b: ({"po_number__isnull": b}, lambda o: (o.po_number is None) == b)),
    st.sampled_from(["thank", "WIRE", "net", "x"]).map(
        lambda w: (
            {"notes__icontains": w},
            lambda o: o.notes is not None and w.lower() in o.notes.lower(),
        )
    ),
    st.booleans().map(lambda b: ({"paid": b}, lambda o: (o.outstanding.amount <= 0) == b)),
    st.sampled_from(["0000", "001", "12"]).map(
        lambda s: (
            {"invoice_number__contains": s},
            lambda o: s in o.invoice_number,
        )
    ),
]


def _leaf():
    return st.one_of(*ATOMS).map(lambda a: (Q(**a[0]), a[1]))


def _combine(children):
    def both(pair):
        (q1, p1), (q2, p2) = pair
        return st.sampled_from(
            [(q1 & q2, lambda o: p1(o) and p2(o)), (q1 | q2, lambda o: p1(o) or p2(o))]
        )

    negated = children.map(lambda c: (~c[0], lambda o, p=c[1]: not p(o)))
    return st.one_of(st.tuples(children, children).flatmap(both), negated)


QUERIES = st.recursive(_leaf(), _combine, max_leaves=4)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(where=QUERIES, excluded=st.one_of(st.none(), QUERIES), extra=st.one_of(st.none(), _leaf()))
def test_any_query_returns_exactly_what_a_python_predicate_selects(
    client, everything, where, excluded, extra
):
    q, predicate = where
    qs = Invoice.objects.using(client).filter(q)
    keep = predicate
    if excluded is not None:
        qs = qs.exclude(excluded[0])
        keep = lambda o, k=keep, e=excluded[1]: k(o) and not e(o)  # noqa: E731
    if extra is not None:
        qs = qs.filter(extra[0])
        keep = lambda o, k=keep, x=extra[1]: k(o) and x(o)  # noqa: E731
    expected = [o.id for o in everything if keep(o)]
    assert [o.id for o in qs] == expected
    assert qs.all().count() == len(expected)
    assert qs.all().exists() == bool(expected)


def test_the_sandbox_data_exercises_every_atom(everything):
    """The atoms are not vacuous: each kind of value selects some rows and leaves others."""
    assert {o.v3_status for o in everything} >= {"draft", "sent", "paid"}
    assert any(o.po_number is None for o in everything)
    assert any(o.po_number is not None for o in everything)
    assert len({o.customerid for o in everything}) > 5
    assert any(o.notes and "thank" in o.notes.lower() for o in everything)
    assert set(V3_STATUSES) >= {o.v3_status for o in everything}
    assert isinstance(everything[0].amount.amount, Decimal)
