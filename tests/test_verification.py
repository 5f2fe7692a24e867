"""Every row the server returns is verified: a filter the API ignores raises, never "everything".

The sandbox drops chosen wire filters (``Sandbox.ignore_filters``) as the live API drops keys it
does not honour.  For every documented filter of every resource the sandbox serves: honoured,
the query returns exactly the rows the filter's meaning selects; ignored, it raises
``FilterNotAppliedError`` naming the filter, the parameter and a row -- for iteration, count(),
get() and a batch, which then writes nothing.
"""

from __future__ import annotations

import collections
import datetime as dt
import statistics

import pytest
from test_planner import resources

from freshbooks_orm import FilterNotAppliedError, Invoice, InvoiceStatus
from freshbooks_orm.http.transport import RetryPolicy
from freshbooks_orm.orm.lookups import field_kind, matches
from freshbooks_orm.orm.planner import meanings
from freshbooks_orm.sandbox import Sandbox


@pytest.fixture(scope="module")
def sb():
    with Sandbox(invoices=150, seed=11) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def client(sb):
    with sb.client(retry=RetryPolicy(backoff=0.001, max_retry_after=0.01)) as c:
        yield c


@pytest.fixture(autouse=True)
def honour_everything(sb):
    sb.ignore_filters = set()
    yield
    sb.ignore_filters = set()


def served(model, sb):
    """Whether the sandbox serves ``model``'s list endpoint (it serves every resource now)."""
    return model._meta.resource.path.split("/")[0] in {p.split("/")[0] for p in SANDBOX_PATHS}


SANDBOX_PATHS = [
    "invoices/invoices", "users/clients", "payments/payments", "estimates/estimates",
    "credit_notes/credit_notes", "invoice_profiles/invoice_profiles", "expenses/expenses",
    "expenses/categories", "items/items", "taxes/taxes",
]  # fmt: skip


def everything(model, client):
    spec = model._meta.resource
    qs = model.objects.using(client)
    if "lines" in spec.includes:
        qs = qs.include("lines")
    return list(qs)


def _selective(rows, candidates, make_check):
    """The candidate value that selects the fewest rows but at least one (and not all)."""
    best = None
    for value in candidates:
        check = make_check(value)
        hits = sum(1 for r in rows if matches(check, r, lenient=True))
        if 0 < hits < len(rows) and (best is None or hits < best[1]):
            best = (value, hits)
    return None if best is None else best[0]


def choose_value(meaning, rows):
    """A value for the filter that some rows match and others do not (or, when the sandbox's
    data has no such value, one that no row matches)."""
    value = _choose(meaning, rows)
    if value is None:
        value = _matching_nothing(meaning, rows)
    return value


def _matching_nothing(meaning, rows):
    path = meaning.path
    if meaning.has_fixed:
        truths = {matches(meaning.cond(True), r, lenient=True) for r in rows}
        return truths != {True}
    kind = field_kind(path.type)
    values = [getattr(r, path.field) for r in rows]
    values = [v for v in values if v is not None]
    if path.transform == "date":
        values = [v.date() for v in values]
    if values and hasattr(values[0], "amount"):
        values = [v.amount for v in values]
    if path.item_field is not None or path.lookup in ("contains", "icontains"):
        return "zqxjv"
    if path.lookup in ("gte", "gt"):
        return max(values) + (dt.timedelta(days=1) if isinstance(values[0], dt.date) else 1)
    if path.lookup in ("lt", "lte"):
        return min(values)
    if kind == "bool" and values:
        return not values[0]
    absent = 987654321 if kind in ("int", "value") else None
    if kind == "int" or (kind == "value" and values and isinstance(values[0], int)):
        return (absent,) if path.lookup == "in" else absent
    return None


def _choose(meaning, rows):
    path = meaning.path
    if meaning.has_fixed:
        return _selective(rows, [True, False], meaning.cond)
    if path.item_field is not None:
        words = collections.Counter(
            getattr(item, path.item_field)[:4].lower()
            for r in rows
            for item in getattr(r, path.field) or ()
            if getattr(item, path.item_field)
        )
        return _selective(rows, [w for w, _ in words.most_common(30)], meaning.cond)
    values = [getattr(r, path.field) for r in rows]
    values = [v for v in values if v is not None]
    if path.transform == "date":
        values = [v.date() for v in values]
    if not values:
        return None
    kind = field_kind(meaning.path.type)
    if hasattr(values[0], "amount"):
        values = [v.amount for v in values]
    if path.lookup in ("gte", "gt", "lt", "lte"):
        ordered = sorted(values)
        candidates = [ordered[len(ordered) // 2], ordered[len(ordered) // 3]]
        return _selective(rows, candidates, meaning.cond)
    if path.lookup in ("contains", "icontains"):
        parts = collections.Counter(
            part for v in values for part in (str(v)[:3], str(v)[-2:]) if part.strip()
        )
        return _selective(rows, [p for p, _ in parts.most_common(30)], meaning.cond)
    distinct = list(dict.fromkeys(values))
    if path.lookup == "in":
        return _selective(rows, [(v,) for v in distinct[:30]], meaning.cond)
    del kind
    return _selective(rows, distinct[:30], meaning.cond)


def filter_cases():
    out = []
    for model in resources():
        for name in model._meta.resource.filters:
            out.append(pytest.param(model, name, id=f"{model.__name__}.{name}"))
    return out


@pytest.mark.parametrize(("model", "name"), filter_cases())
def test_every_documented_filter_is_verified_when_the_server_ignores_it(model, name, sb, client):
    if not served(model, sb):
        pytest.skip(f"the sandbox does not serve {model.__name__}")  # pragma: no cover
    spec = model._meta.resource
    meaning = meanings(model, spec)[name]
    if meaning is None:
        check_unverifiable(model, name, sb, client)
        return
    rows = everything(model, client)
    nulls: set = set()
    if name == "vis_state":  # deleted rows are listed only when asked for
        value = 1
        stored = sb.objects(spec.list_key if spec.list_key in sb.store.tables else "invoices")
        expected = {i for i, obj in stored.items() if obj.get("vis_state") == 1}
    else:
        value = choose_value(meaning, rows)
        assert value is not None, f"no selective value for {name} in the sandbox data"
        check = meaning.cond(value)
        expected = {r.pk for r in rows if matches(check, r, lenient=True)}
        if meaning.path.lookup in ("gt", "gte", "lt", "lte"):  # a null is neither above nor below
            nulls = {r.pk for r in rows if getattr(r, meaning.path.field) is None}
        else:
            nulls = set()
    key = name
    if name in model._meta.fields and meaning.path.field == name and not meaning.has_fixed:
        # a field of the filter's name: filter(name=...) is Django's exact match on the field;
        # the lookup that sends exactly this filter is the filter's own meaning
        lookup = "icontains" if meaning.path.lookup == "contains" else meaning.path.lookup
        key = f"{name}__{lookup}"
    qs = model.objects.using(client).filter(**{key: value})
    assert name in {s.name for s in qs._get_plan().server}
    # honoured: exactly the rows the filter's meaning selects
    got = {r.pk for r in qs}
    assert expected <= got <= expected | nulls
    assert len(expected) < len(rows) + len(expected)  # some row is excluded
    # ignored: the server answers with everything; the client refuses it
    sb.ignore_filters = {name}
    sb.requests.clear()
    with pytest.raises(FilterNotAppliedError) as info:
        list(qs.all())
    error = info.value
    assert error.filter == name
    assert f"[{name}]" in error.parameter or error.parameter.startswith(name)
    assert error.row_id is not None and error.row_id not in expected
    assert name in str(error) and str(error.row_id) in str(error)
    assert len(sb.requests) == 1  # the first page already gave it away
    with pytest.raises(FilterNotAppliedError):
        qs.all().count()


def check_unverifiable(model, name, sb, client):
    """A filter without a declared meaning is refused before any request unless allowed."""
    from freshbooks_orm import UnverifiableFilterError
    from freshbooks_orm.orm.query import BoolFilter, InFilter, SearchBoolFilter

    flt = model._meta.resource.filters[name]
    if isinstance(flt, (BoolFilter, SearchBoolFilter)):
        candidates = [True]
    elif isinstance(flt, InFilter):
        candidates = [[1]]
    else:
        candidates = ["x", "USD", "invoice", 1]
    for value in candidates:
        try:
            qs = model.objects.using(client).filter(**{name: value})
            break
        except ValueError:
            continue
    assert "NOT verifiable" in str(qs.explain())
    sb.requests.clear()
    for evaluate in (list, lambda q: q.count(), lambda q: q.first(), lambda q: q.delete()):
        with pytest.raises(UnverifiableFilterError) as info:
            evaluate(qs.all())
        assert name in str(info.value) and "allow_unverified" in str(info.value)
    assert sb.requests == []
    list(qs.allow_unverified())  # sent when asked for
    assert len(sb.requests) >= 1


def test_a_status_filter_the_api_ignores_deletes_nothing(sb, client):
    """The issue's example: ``filter(status=DRAFT).delete()`` must not delete every invoice."""
    sb.ignore_filters = {"statusid"}
    sb.requests.clear()
    qs = Invoice.objects.using(client).filter(status=InvoiceStatus.DRAFT)
    with pytest.raises(FilterNotAppliedError) as info:
        qs.delete(journal=None, progress=False)
    assert info.value.filter == "statusid" and info.value.parameter == "search[statusid]=1"
    assert [r.method for r in sb.requests] == ["GET"]
    with pytest.raises(FilterNotAppliedError):
        qs.update(po_number="X", dry_run=True)


def test_get_and_in_bulk_verify_too(sb, client):
    sb.ignore_filters = {"customerid"}
    some = next(iter(Invoice.objects.using(client)))
    with pytest.raises(FilterNotAppliedError):
        Invoice.objects.using(client).get(customerid=some.customerid, v3_status=some.v3_status)
    sb.ignore_filters = {"invoiceids"}
    with pytest.raises(FilterNotAppliedError):
        Invoice.objects.using(client).in_bulk([some.id])


def test_a_correct_answer_is_never_refused(sb, client):
    """Filters honoured: verification passes on every page (no false alarm), results exact."""
    qs = Invoice.objects.using(client).filter(
        status__in=[InvoiceStatus.PAID, InvoiceStatus.SENT],
        create_date__gte=dt.date(2020, 1, 1),
        paid=True,
    )
    expected = {
        i
        for i, inv in sb.invoices.items()
        if inv["vis_state"] != 1
        and inv["status"] in (2, 4)
        and inv["create_date"] >= "2020-01-01"
        and inv["payment_status"] in ("paid", "auto-paid")
    }
    assert {r.id for r in qs} == expected
    assert qs.count() == len(expected)


def test_verification_happens_before_any_row_of_the_page_is_yielded(sb, client):
    sb.ignore_filters = {"v3_status"}
    seen = []
    with pytest.raises(FilterNotAppliedError):
        for inv in Invoice.objects.using(client).filter(v3_status="draft").iterator():
            seen.append(inv)
    assert seen == []


def test_rows_missing_the_field_are_not_held_against_the_filter():
    """Verification checks only rows that carry the filter's field."""
    qs = Invoice.objects.filter(customerid=5)
    plan = qs._get_plan()
    assert plan.contradiction(Invoice.from_wire({"id": 1})) is None
    assert plan.contradiction(Invoice.from_wire({"id": 1, "customerid": 6})).name == "customerid"
    assert plan.contradiction(Invoice.from_wire({"id": 1, "customerid": 5})) is None


def test_median_helper_is_deterministic():
    assert statistics.median([1, 2, 3]) == 2
