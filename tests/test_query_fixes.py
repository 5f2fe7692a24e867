"""Query-layer fixes from the 2026-11 audit, each pinned against the sandbox (request counts too).

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
def test_a_condition_deleted_and_other_rows_meet_is_refused_before_any_request(
    objects, sb, build
):
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
