"""Query edge cases, each pinned against the sandbox (request counts too):

* conditions on ``vis_state`` that can match deleted rows (listed only for ``vis_state=1``);
* index and short-slice reads when the server may ignore a filter;
* a server filter whose field no row carries;
* empty ``Q`` objects; ``__in`` on text; several conditions on one list item; aggregates on
  fields that cannot be summed; ``__year`` outside 1..9999.
"""

from __future__ import annotations

import pytest

from freshbooks_orm import Invoice, Q
from freshbooks_orm.errors import InvalidFilterValue
from freshbooks_orm.sandbox import Sandbox


@pytest.fixture(scope="module")
def sb():
    with Sandbox(invoices=120, seed=1) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def client(sb):
    with sb.client() as c:
        yield c


@pytest.fixture
def objects(client, sb):
    sb.ignore_filters = set()
    sb.requests.clear()
    return Invoice.objects.using(client)


@pytest.fixture(scope="module")
def by_state(sb):
    stored = sb.invoices
    states = {s: {i for i, r in stored.items() if r["vis_state"] == s} for s in (0, 1, 2)}
    assert all(states.values()), "the seed must hold active, deleted and archived invoices"
    return states


def ids(qs):
    return {obj.id for obj in qs}


# --- 1. vis_state ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda o: o.filter(vis_state__in=[1]),
        lambda o: o.filter(vis_state__gte=1, vis_state__lt=2),
        lambda o: o.filter(vis_state__range=(1, 1)),
        lambda o: o.filter(vis_state__gt=0).exclude(vis_state=2),
        lambda o: o.filter(Q(vis_state=1) | Q(vis_state=1)),
        lambda o: o.filter(vis_state__in=[1, 2]).filter(vis_state=1),
    ],
    ids=["in-one", "gte-lt", "range", "gt-exclude", "or-same", "in-then-exact"],
)
def test_a_condition_only_deleted_rows_meet_asks_for_them(objects, sb, by_state, build):
    qs = build(objects)
    assert ids(qs) == by_state[1]
    (request,) = sb.requests  # one page: the deleted ones, listed only when asked for
    assert ("search[vis_state]", "1") in request.query
    assert qs._get_plan().exact


@pytest.mark.parametrize(
    "build",
    [
        lambda o: o.filter(vis_state__in=[1, 2]),
        lambda o: o.filter(Q(vis_state=1) | Q(vis_state=2)),
        lambda o: o.exclude(vis_state=0),
        lambda o: o.filter(vis_state__gte=1),
        lambda o: o.filter(Q(vis_state=1) | Q(v3_status="paid")),
    ],
    ids=["in", "or", "exclude", "gte", "or-other-field"],
)
def test_a_condition_deleted_and_other_rows_meet_is_refused_before_any_request(objects, sb, build):
    qs = build(objects)  # building it is fine (it may be narrowed further)
    for evaluate in (list, len, lambda q: q.count(), lambda q: q.first(), lambda q: q[0]):
        with pytest.raises(InvalidFilterValue) as info:
            evaluate(qs)
        assert ".filter(vis_state=1)" in str(info.value)
        assert ".exclude(vis_state=1)" in str(info.value)
    assert sb.requests == []
    assert "filter(vis_state=1)" in qs.explain().requests
    # the two parts the message names read every matching row
    assert ids(qs.filter(vis_state=1)) | ids(qs.exclude(vis_state=1)) == {
        i for i, row in sb.invoices.items() if _matches_loose(qs, row)
    }


def _matches_loose(qs, row):
    """Whether a stored row (any state) matches the queryset's condition."""
    from freshbooks_orm.orm.lookups import matches

    return matches(qs._get_plan().where, Invoice.from_wire(row))


@pytest.mark.parametrize(
    ("build", "states"),
    [
        (lambda o: o.exclude(vis_state=1), (0, 2)),
        (lambda o: o.filter(vis_state__in=[0, 2]), (0, 2)),
        (lambda o: o.filter(vis_state=2), (2,)),
        (lambda o: o.filter(vis_state__lt=1), (0,)),
        (lambda o: o.all(), (0, 2)),
    ],
    ids=["exclude-deleted", "in-active-archived", "archived", "lt", "all"],
)
def test_a_condition_no_deleted_row_meets_reads_the_default_list(objects, by_state, build, states):
    assert ids(build(objects)) == set().union(*(by_state[s] for s in states))


# --- 2. index and slice windows when a server filter may be ignored ------------------------------


@pytest.fixture(scope="module")
def big():
    with Sandbox(invoices=300, seed=1) as sandbox, sandbox.client() as c:
        yield sandbox, c


def _window(request):
    query = dict(request.query)
    return int(query["page"]), int(query["per_page"])


@pytest.fixture
def paid(big):
    sb, client = big
    sb.ignore_filters = set()
    everything = list(Invoice.objects.using(client).all())
    expected = [o.id for o in everything if o.v3_status == "paid"]
    assert len(expected) > 120
    sb.requests.clear()
    return Invoice.objects.using(client).filter(v3_status="paid"), expected


@pytest.mark.parametrize(
    ("key", "windows"),
    [
        (0, [(1, 1)]),
        (7, [(1, 8)]),
        (99, [(1, 100)]),
        (slice(30, 45), [(1, 45)]),
        (slice(0, 100), [(1, 100)]),
        (100, [(2, 100)]),
        (slice(105, 110), [(2, 100)]),
        (slice(99, 101), [(1, 100), (2, 100)]),
    ],
    ids=str,
)
def test_a_filtered_window_reads_the_rows_that_place_it(big, paid, key, windows):
    sb, _client = big
    qs, expected = paid
    got = qs[key]
    if isinstance(key, int):
        assert got.id == expected[key]
    else:
        assert [o.id for o in got] == expected[key]
    assert [_window(r) for r in sb.requests] == windows


def test_an_unfiltered_window_keeps_the_smallest_page(big):
    sb, client = big
    sb.requests.clear()
    qs = Invoice.objects.using(client).all()
    list(qs[30:45])
    qs[117]
    assert [_window(r) for r in sb.requests] == [(3, 15), (118, 1)]
    assert qs[30:45].url.endswith("page=3&per_page=15")


def test_a_window_is_never_placed_by_a_filter_the_server_ignored(big):
    """status=PAID sent as search[statusid], which the live API may ignore: every index and short
    slice is either the right row or FilterNotAppliedError, never a silently wrong row."""
    from freshbooks_orm import FilterNotAppliedError, InvoiceStatus

    sb, client = big
    everything = list(Invoice.objects.using(client).all())
    truth = [o.id for o in everything if o.status == InvoiceStatus.PAID]
    sb.ignore_filters = {"statusid"}
    try:
        qs = Invoice.objects.using(client).filter(status=InvoiceStatus.PAID)
        refused = 0
        for key in [*range(0, 30), slice(10, 12), slice(20, 22), slice(150, 152)]:
            try:
                got = qs[key].id if isinstance(key, int) else [o.id for o in qs[key]]
            except FilterNotAppliedError:
                refused += 1
                continue
            assert got == truth[key]
        assert refused  # the prefix holds rows of another status: the ignored filter shows
    finally:
        sb.ignore_filters = set()


# --- 3. a server filter whose field no row carries ------------------------------------------------


@pytest.fixture
def no_projectid():
    """Invoices as the seed doc shows them: no ``projectid`` key; a server ignoring the filter."""
    import copy

    with Sandbox(invoices=130, seed=4) as source:
        rows = [copy.deepcopy(r) for _, r in sorted(source.invoices.items()) if r["vis_state"] != 1]
    for row in rows:
        row.pop("projectid", None)
    with Sandbox(invoices=0, ignore_filters={"projectid"}) as sb:
        sb.store.load_objects("invoices", rows)
        with sb.client() as client:
            yield sb, client, rows


@pytest.mark.parametrize(
    "evaluate",
    [list, lambda q: q.count(), lambda q: q.first(), lambda q: q[3], lambda q: q.exists(),
     lambda q: list(q.iterator())],
    ids=["list", "count", "first", "index", "exists", "iterator"],
)  # fmt: skip
def test_a_filter_no_row_of_the_page_carries_is_unverifiable(no_projectid, evaluate):
    from freshbooks_orm import FilterNotAppliedError

    sb, client, _rows = no_projectid
    qs = Invoice.objects.using(client).filter(projectid=701)
    with pytest.raises(FilterNotAppliedError) as info:
        evaluate(qs)
    assert "'projectid'" in str(info.value) and "allow_unverified()" in str(info.value)
    assert (info.value.filter, info.value.parameter) == ("projectid", "search[projectid]=701")
    assert len(sb.requests) == 1  # one page read, nothing from it used


def test_allow_unverified_trusts_a_filter_no_row_carries(no_projectid):
    _sb, client, rows = no_projectid
    qs = Invoice.objects.using(client).filter(projectid=701).allow_unverified()
    assert len(qs) == len(rows)  # what the server answered, trusted as asked


def test_explain_says_a_filter_is_verified_only_on_rows_that_carry_it(no_projectid):
    _sb, client, _rows = no_projectid
    (server,) = Invoice.objects.using(client).filter(projectid=701).explain().server
    assert server[2].startswith("verified on every row that carries 'projectid'")
    assert "FilterNotAppliedError" in server[2]


def test_a_page_where_some_rows_carry_the_field_is_checked_on_those(no_projectid):
    """The leniency stays: rows missing the field are not held against the filter when another
    row of the page carries it (and matches)."""
    from freshbooks_orm import FilterNotAppliedError

    sb, client, rows = no_projectid
    listed = [o.id for o in Invoice.objects.using(client).all()]
    by_id = {r["id"]: r for r in rows}
    row = by_id[listed[0]]
    # one row of each page carries 701, the others nothing: trusted as before
    sb.store.load_objects("invoices", [dict(by_id[i], projectid=701) for i in listed[::100]])
    qs = Invoice.objects.using(client).filter(projectid=701)
    assert len(qs) == len(rows)
    sb.store.load_objects("invoices", [dict(row, projectid=5)])
    with pytest.raises(FilterNotAppliedError):
        list(Invoice.objects.using(client).filter(projectid=701))


def test_an_empty_page_is_not_unverifiable(no_projectid):
    sb, client, _rows = no_projectid
    sb.ignore_filters = set()
    assert list(Invoice.objects.using(client).filter(projectid=701)) == []


# --- 4. empty Q ---------------------------------------------------------------------------------


def _no_customers():
    import functools
    import operator

    return functools.reduce(operator.or_, (Q(customerid=c) for c in []), Q())


@pytest.mark.parametrize(
    "build",
    [
        lambda o: o.exclude(Q()),
        lambda o: o.filter(~Q()),
        lambda o: o.filter(~Q(Q())),
        lambda o: o.filter(Q(~Q(), Q())),
        lambda o: o.exclude(_no_customers()),
        lambda o: o.filter(~_no_customers()),
        lambda o: o.exclude(id__in=[]),
        lambda o: o.filter(~Q(id__in=[])),
    ],
    ids=["exclude-Q", "filter-not-Q", "not-Q-of-Q", "nested", "exclude-empty-or",
         "filter-not-empty-or", "exclude-in-empty", "not-in-empty"],
)  # fmt: skip
def test_an_empty_q_is_no_condition_even_negated(objects, sb, build):
    qs = build(objects)
    assert qs.conditions == "everything"
    assert ids(qs) == ids(objects.all())


@pytest.mark.parametrize(
    "build",
    [
        lambda o: o.none(),
        lambda o: o.filter(id__in=[]),
        lambda o: o.filter(Q(id__in=[]) | Q(id__in=[])),
        lambda o: o.exclude(~Q(id__in=[])),
        lambda o: o.filter(Q(Q(), id__in=[])),
    ],
    ids=["none", "in-empty", "or-of-empty-ins", "exclude-not-in-empty", "empty-child-dropped"],
)
def test_nothing_stays_nothing_without_a_request(objects, sb, build):
    qs = build(objects)
    assert list(qs) == [] and qs.count() == 0
    assert sb.requests == []


def test_an_empty_q_next_to_a_condition_is_dropped(objects):
    paid = ids(objects.filter(v3_status="paid"))
    assert ids(objects.filter(Q(v3_status="paid") | ~Q())) == paid
    assert ids(objects.filter(Q(Q(), v3_status="paid"))) == paid
    assert ids(objects.exclude(Q(~Q(), v3_status="paid"))) == ids(objects.all()) - paid


# --- 5. __in compares text exactly ----------------------------------------------------------------


def test_in_on_text_is_case_sensitive_like_exact(objects):
    pos = [o.po_number for o in objects.all() if o.po_number]
    po = next(p for p in pos if p.lower() != p)
    low = po.lower()
    assert ids(objects.filter(po_number__in=[low])) == set() == ids(objects.filter(po_number=low))
    assert po in {o.po_number for o in objects.exclude(po_number__in=[low])}
    assert {o.po_number for o in objects.filter(po_number__in=[po, "x"])} == {po}
    # the case-insensitive lookups still fold; isnull is untouched
    assert po in {o.po_number for o in objects.filter(po_number__iexact=low)}
    assert po in {o.po_number for o in objects.filter(po_number__istartswith=low[:3])}
    assert all(o.po_number is None for o in objects.filter(po_number__isnull=True))


def test_in_on_a_list_item_field_is_case_sensitive(objects):
    withlines = objects.include("lines")
    name = next(line.name for inv in withlines for line in inv.lines if line.name)
    assert ids(withlines.filter(lines__name__in=[name.upper()])) == (
        ids(withlines.filter(lines__name=name.upper()))
    )
    assert ids(withlines.filter(lines__name__in=[name])) == ids(withlines.filter(lines__name=name))
    assert ids(withlines.filter(lines__name__in=[name]))


# --- 8. __year beyond the years dates have ------------------------------------------------------


@pytest.mark.parametrize(
    "lookups",
    [
        {"create_date__year__gt": 9999},
        {"create_date__year__gte": 10000},
        {"create_date__year": 0},
        {"create_date__year": 10**6},
        {"create_date__year__lt": 1},
        {"create_date__year__lte": 0},
        {"create_date__year__range": (10000, 20000)},
        {"create_date__year__range": (2025, 2024)},
        {"create_date__year__in": [0, 10000]},
        {"updated__year__gt": 9999},
    ],
    ids=str,
)
def test_a_year_no_date_has_matches_nothing_without_a_request(objects, sb, lookups):
    qs = objects.filter(**lookups)
    assert list(qs) == [] and qs.count() == 0
    assert sb.requests == []
    assert ids(objects.exclude(**lookups)) == ids(objects.all())


@pytest.mark.parametrize(
    ("lookups", "keep"),
    [
        ({"create_date__year__gte": 0}, lambda d: True),
        ({"create_date__year__lte": 10000}, lambda d: True),
        ({"create_date__year__lt": 10000}, lambda d: True),
        ({"create_date__year__gt": 0}, lambda d: True),
        ({"create_date__year__range": (0, 2023)}, lambda d: d.year <= 2023),
        ({"create_date__year__range": (2024, 10**5)}, lambda d: d.year >= 2024),
        ({"create_date__year__in": [0, 2024]}, lambda d: d.year == 2024),
        ({"create_date__year__gte": 2024}, lambda d: d.year >= 2024),
    ],
    ids=str,
)
def test_a_year_bound_beyond_the_calendar_is_no_bound(objects, lookups, keep):
    expected = {o.id for o in objects.all() if o.create_date is not None and keep(o.create_date)}
    assert expected
    assert ids(objects.filter(**lookups)) == expected


# --- 7. aggregates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "aggregate",
    ["Sum('v3_status')", "Avg('v3_status')", "Sum('lines')", "Sum('create_date')",
     "Avg('create_date')", "Sum('invoice_number')", "Avg('auto_bill')", "Min('lines')",
     "Count(by_currency=True)", "Sum('customerid', by_currency=True)"],
)  # fmt: skip
def test_an_aggregate_over_a_field_it_cannot_take_is_refused_before_any_request(
    objects, sb, aggregate
):
    from freshbooks_orm.errors import UnsupportedOperationError
    from freshbooks_orm.orm.aggregates import Avg, Count, Min, Sum

    agg = eval(aggregate, {"Sum": Sum, "Avg": Avg, "Min": Min, "Count": Count})
    with pytest.raises(UnsupportedOperationError) as info:
        objects.include("lines").aggregate(agg)
    message = str(info.value)
    if "by_currency" in aggregate:
        assert "amount" in message and "outstanding" in message
    else:
        assert "Fields it takes: " in message
        named = message.split("Fields it takes: ")[1].rstrip(".").split(", ")
        assert "amount" in named and "outstanding" in named
        if not aggregate.startswith("Min"):
            assert not {"v3_status", "create_date", "lines", "invoice_number"} & set(named)
    assert sb.requests == []


def test_sum_and_avg_take_numbers_and_money(objects):
    from freshbooks_orm.orm.aggregates import Avg, Sum

    usd = objects.filter(currency_code="USD")
    result = usd.aggregate(Sum("amount"), Avg("discount_value"), Sum("due_offset_days"))
    assert result["amount__sum"].code == "USD"


@pytest.mark.parametrize(
    "build",
    [lambda o: o.none(), lambda o: o.filter(amount__lt=-(10**9)), lambda o: o.filter(id__in=[])],
    ids=["none", "no-match", "in-empty"],
)
def test_by_currency_over_no_rows_is_an_empty_dict(objects, build):
    from freshbooks_orm.orm.aggregates import Avg, Max, Sum

    qs = build(objects)
    assert qs.aggregate(
        Sum("amount", by_currency=True),
        m=Max("outstanding", by_currency=True),
        a=Avg("amount", by_currency=True),
    ) == {
        "amount__sum": {},
        "m": {},
        "a": {},
    }


# --- 6. several conditions on one list item -------------------------------------------------------


@pytest.fixture(scope="module")
def with_lines(sb, client):
    invoices = list(Invoice.objects.using(client).include("lines"))
    # a line name and a qty that occur together on no line of some invoice having both
    for inv in invoices:
        for line in inv.lines:
            other = next((x.qty for x in inv.lines if x.qty != line.qty), None)
            if other is not None and not any(
                x.name == line.name and x.qty == other for x in inv.lines
            ):
                return invoices, line.name, other
    raise AssertionError("the seed has no invoice with two different lines")


def _where(invoices, keep):
    return {inv.id for inv in invoices if keep(list(inv.lines))}


def test_conditions_on_lines_in_one_filter_call_hold_for_the_same_line(objects, sb, with_lines):
    invoices, name, qty = with_lines
    same = _where(invoices, lambda lines: any(x.name == name and x.qty == qty for x in lines))
    apart = _where(
        invoices,
        lambda lines: any(x.name == name for x in lines) and any(x.qty == qty for x in lines),
    )
    assert apart - same, "the case must tell the two readings apart"
    assert ids(objects.filter(lines__name=name, lines__qty=qty)) == same
    assert ids(objects.filter(Q(lines__name=name) & Q(lines__qty=qty))) == same
    assert ids(objects.filter(Q(lines__name=name), lines__qty__in=[qty])) == same
    # separate filter() calls: each may match a different line (Django too)
    assert ids(objects.filter(lines__name=name).filter(lines__qty=qty)) == apart
    # exclude(): as Django documents, the conditions need not hold for the same line
    everything = {inv.id for inv in invoices}
    assert ids(objects.exclude(lines__name=name, lines__qty=qty)) == everything - apart
    # a negation inside filter() speaks of every line
    no_qty = _where(
        invoices,
        lambda lines: any(x.name == name for x in lines) and not any(x.qty == qty for x in lines),
    )
    assert ids(objects.filter(~Q(lines__qty=qty), lines__name=name)) == no_qty


def test_one_line_conditions_send_a_superset_filter(objects, sb, with_lines):
    invoices, name, qty = with_lines
    word = name.split()[0].lower()
    qs = objects.filter(lines__name__icontains=word, lines__qty=qty, v3_status__in=["paid"])
    expected = {
        inv.id
        for inv in invoices
        if inv.v3_status == "paid"
        and any(word in x.name.lower() and x.qty == qty for x in inv.lines)
    }
    sb.requests.clear()
    assert ids(qs) == expected
    assert ids(objects.filter(lines__name__icontains=word, lines__qty=qty))  # not a vacuous case
    query = sb.requests[0].query
    assert ("search[item_name]", word) in query and ("include[]", "lines") in query
    assert "one lines item" in qs.explain().local


def test_a_row_without_items_meets_only_isnull(objects, with_lines):
    invoices, _name, qty = with_lines
    expected = _where(
        invoices,
        lambda lines: not lines or any(x.name is None and x.qty is None for x in lines),
    )
    assert ids(objects.filter(lines__name__isnull=True, lines__qty__isnull=True)) == expected
    assert not ids(objects.filter(lines__name__isnull=True, lines__qty=qty)) & _where(
        invoices, lambda lines: not lines
    )


@pytest.mark.parametrize(
    "lookups",
    [{"create_date__month": 13}, {"create_date__month__gt": 12}, {"create_date__day": 0},
     {"create_date__day__in": [32, 40]}, {"updated__month__lt": 1}],
    ids=str,
)  # fmt: skip
def test_a_month_or_day_no_date_has_matches_nothing_without_a_request(objects, sb, lookups):
    assert list(objects.filter(**lookups)) == []
    assert sb.requests == []


@pytest.mark.parametrize("value", [2024.5, 2024.0, "x", True, float("nan"), float("inf"), 10**30])
def test_a_year_that_is_not_a_whole_number_is_refused(objects, sb, value):
    with pytest.raises(InvalidFilterValue):
        objects.filter(create_date__year=value)
    assert sb.requests == []


@pytest.mark.parametrize("terms", [2, 3, 5])
def test_an_or_of_equalities_on_one_field_is_its_in_filter_however_many(objects, sb, terms):
    # Q(a) | Q(b) | Q(c) nests as (a | b) | c; flattened, it is still one "in" filter
    ids = sorted({row["customerid"] for row in sb.invoices.values()})[:terms]
    q = Q(customerid=ids[0])
    for cid in ids[1:]:
        q = q | Q(customerid=cid)
    got = sorted(inv.id for inv in objects.filter(q))
    assert len(sb.requests) == 1
    sent = [v for k, v in sb.requests[0].query if k == "search[customerids][]"]
    assert sorted(map(int, sent)) == ids
    assert got == sorted(i for i, row in sb.invoices.items()
                         if row["customerid"] in ids and row["vis_state"] != 1)  # fmt: skip
