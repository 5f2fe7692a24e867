"""The query planner, pure: the exact server params and local residual of every lookup kind.

No I/O: plans are built from declarations only.  The invoice table pins exact splits; the
generic tests run on every resource declared (every ``Model`` subclass with a list endpoint),
so resources added later are covered without a line here.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from freshbooks_orm import (
    InvalidFilterValue,
    Invoice,
    InvoiceStatus,
    MixedCurrencyError,
    Money,
    Q,
    UnknownFilterError,
)
from freshbooks_orm.orm.lookups import Cond, field_kind, lookups_for, matches
from freshbooks_orm.orm.planner import carried_key, meanings, pushable


def resources():
    """Every registered resource (the registry is filled as each resource is declared)."""
    from freshbooks_orm import registry

    return sorted(registry.models(), key=lambda c: c.__name__)


def split(qs):
    """(server params, residual text) of a queryset's plan."""
    plan = qs._get_plan()
    return list(plan.query.filter_params), (
        None if plan.residual is None else plan.residual.describe()
    )


# --- invoices: the exact split for each lookup kind ------------------------------------------

S = "search[{}]"
INVOICE_SPLITS = [
    # exact
    ({"customerid": 5}, [("search[customerid]", "5")], None),
    ({"status": "draft"}, [("search[statusid]", "1")], None),
    ({"status": InvoiceStatus.SENT}, [("search[statusid]", "2")], None),
    ({"v3_status": "sent"}, [("search[v3_status]", "sent")], None),
    ({"create_date": "2024-03-05"},
     [("search[date_min]", "2024-03-05"), ("search[date_max]", "2024-03-06")], None),
    ({"invoice_number": "0007"}, [("search[invoice_number]", "0007")],
     "invoice_number__exact='0007'"),  # case of the server's match is not documented
    ({"notes": "late"}, [("search[notes]", "late")], "notes__exact='late'"),
    ({"amount": 100}, [("search[total_min]", "100")], "amount__exact=100"),
    ({"payment_status": "paid"}, [], "payment_status__exact='paid'"),
    ({"pk": 7}, [("search[invoiceid]", "7")], None),
    ({"invoiceid": 7}, [("search[invoiceid]", "7")], None),
    ({"vis_state": 2}, [("search[vis_state]", "2")], None),
    # iexact
    ({"invoice_number__iexact": "AB"}, [("search[invoice_number_like]", "AB")],
     "invoice_number__iexact='AB'"),
    # gt / gte / lt / lte
    ({"amount__gt": 100}, [("search[total_min]", "100")], "amount__gt=100"),
    ({"amount__gte": "100.50"}, [("search[total_min]", "100.50")], None),
    ({"amount__lt": 100}, [("search[total_max]", "100")], None),
    ({"amount__lte": 100}, [], "amount__lte=100"),
    ({"create_date__gt": "2024-01-31"}, [("search[date_min]", "2024-02-01")], None),
    ({"create_date__lte": "2024-01-31"}, [("search[date_max]", "2024-02-01")], None),
    ({"outstanding__gt": 0}, [("search[outstanding_min]", "0")], None),
    ({"updated__gte": "2024-01-02"}, [("search[updated_min]", "2024-01-02")], None),
    ({"updated__gte": dt.datetime(2024, 1, 2, 15, 30)}, [("search[updated_min]", "2024-01-02")],
     "updated__gte=datetime..."),
    ({"customerid__gt": 5}, [], "customerid__gt=5"),
    ({"amount__gt": Money("10", "USD")}, [("search[total_min]", "10")],
     "amount__gt=Money(10 USD)"),
    # in
    ({"id__in": [3, 1, 3]}, [("search[invoiceids][]", "3"), ("search[invoiceids][]", "1")], None),
    ({"status__in": ["draft", 2]},
     [("search[statusids][]", "1"), ("search[statusids][]", "2")], None),
    ({"v3_status__in": ["sent", "viewed"]}, [], "v3_status__in=['sent', 'viewed']"),
    ({"customerid__in": [4]}, [("search[customerids][]", "4")], None),
    # range
    ({"create_date__range": ("2024-01-01", "2024-01-31")},
     [("search[date_min]", "2024-01-01"), ("search[date_max]", "2024-02-01")], None),
    ({"amount__range": (10, 20)}, [("search[total_min]", "10")], "amount__range=[10, 20]"),
    # isnull
    ({"date_paid__isnull": True}, [], "date_paid__isnull=True"),
    ({"po_number": None}, [], "po_number__isnull=True"),
    # text
    ({"po_number__contains": "PO"}, [("search[po_number]", "PO")], "po_number__contains='PO'"),
    ({"po_number__icontains": "po"}, [("search[po_number]", "po")], None),
    ({"invoice_number__startswith": "00"}, [("search[invoice_number_like]", "00")],
     "invoice_number__startswith='00'"),
    ({"invoice_number__istartswith": "a"}, [("search[invoice_number_like]", "a")],
     "invoice_number__istartswith='a'"),
    ({"notes__endswith": "x"}, [("search[notes]", "x")], "notes__endswith='x'"),
    ({"notes__iendswith": "x"}, [("search[notes]", "x")], "notes__iendswith='x'"),
    ({"fname__icontains": "an"}, [], "fname__icontains='an'"),
    ({"lines__name__icontains": "yard"}, [("search[item_name]", "yard")], None),
    ({"lines__name": "Yard"}, [("search[item_name]", "Yard")], "lines__name__exact='Yard'"),
    # year / month / day
    ({"create_date__year": 2024},
     [("search[date_min]", "2024-01-01"), ("search[date_max]", "2025-01-01")], None),
    ({"create_date__year__gte": 2024}, [("search[date_min]", "2024-01-01")], None),
    ({"create_date__year__lt": 2024}, [("search[date_max]", "2024-01-01")], None),
    ({"create_date__month": 3}, [], "create_date__month__exact=3"),
    ({"create_date__day__in": [1, 15]}, [], "create_date__day__in=[1, 15]"),
    ({"updated__year": 2024},
     [("search[updated_min]", "2024-01-01"), ("search[updated_max]", "2025-01-01")], None),
    ({"updated__date": "2024-05-06"},
     [("search[updated_min]", "2024-05-06"), ("search[updated_max]", "2024-05-07")], None),
    # wire names keep their documented meaning, with nothing local
    ({"date_min": "2024-01-01"}, [("search[date_min]", "2024-01-01")], None),
    ({"invoice_number_like": "00"}, [("search[invoice_number_like]", "00")], None),
    ({"paid": True}, [("search[paid]", "true")], None),
]  # fmt: skip


@pytest.mark.parametrize(("lookups", "params", "residual"), INVOICE_SPLITS, ids=str)
def test_invoice_split_per_lookup_kind(lookups, params, residual):
    got_params, got_residual = split(Invoice.objects.filter(**lookups))
    assert got_params == params
    if residual is not None and "datetime" in residual:
        assert got_residual is not None and got_residual.startswith("updated__gte=")
    else:
        assert got_residual == residual


@pytest.mark.parametrize(
    ("q", "params", "residual"),
    [
        # an OR of equalities on one field becomes its "in" filter
        (Q(customerid=1) | Q(customerid=2),
         [("search[customerids][]", "1"), ("search[customerids][]", "2")], None),
        (Q(status="draft") | Q(status__in=["sent"]),
         [("search[statusids][]", "1"), ("search[statusids][]", "2")], None),
        # no "in" filter on v3_status: local
        (Q(v3_status="sent") | Q(v3_status="viewed"), [],
         "v3_status__exact='sent' OR v3_status__exact='viewed'"),
        # mixed fields: local
        (Q(customerid=1) | Q(v3_status="sent"), [],
         "customerid__exact=1 OR v3_status__exact='sent'"),
        # negation is always local
        (~Q(customerid=1), [], "NOT customerid__exact=1"),
        (Q(amount__gte=10) & ~Q(v3_status="draft"), [("search[total_min]", "10")],
         "NOT v3_status__exact='draft'"),
    ],
    ids=str,
)  # fmt: skip
def test_q_objects_split(q, params, residual):
    assert split(Invoice.objects.filter(q)) == (params, residual)


def test_exclude_is_a_local_negation_and_chains_with_filter():
    qs = Invoice.objects.filter(v3_status="sent").exclude(customerid__in=[1, 2])
    assert split(qs) == ([("search[v3_status]", "sent")], "NOT customerid__in=[1, 2]")
    # exclude of several lookups excludes rows matching all of them (Django's rule)
    qs = Invoice.objects.exclude(customerid=1, v3_status="sent")
    assert split(qs)[1] == "NOT (customerid__exact=1 AND v3_status__exact='sent')"


def test_several_conditions_on_one_filter_merge_into_the_tightest_value():
    qs = Invoice.objects.filter(amount__gte=10).filter(amount__gt=20, amount__lt=50)
    assert split(qs) == (
        [("search[total_min]", "20"), ("search[total_max]", "50")],
        "amount__gt=20",
    )
    qs = Invoice.objects.filter(id__in=[1, 2, 3]).filter(pk__in=[2, 3, 4])
    assert split(qs) == ([("search[invoiceids][]", "2"), ("search[invoiceids][]", "3")], None)


def test_contradictions_and_empty_lists_match_nothing_without_a_request():
    for qs in (
        Invoice.objects.filter(customerid=1).filter(customerid=2),
        Invoice.objects.filter(id__in=[1]).filter(id__in=[2]),
        Invoice.objects.filter(id__in=[]),
        Invoice.objects.none(),
        Invoice.objects.filter(Q(id__in=[]) | Q(customerid__in=[])),
    ):
        plan = qs._get_plan()
        assert plan.empty
        assert qs.explain().urls == ()
    # OR with an empty branch keeps the other branch
    assert split(Invoice.objects.filter(Q(id__in=[]) | Q(customerid=3))) == (
        [("search[customerid]", "3")],
        None,
    )


def test_item_filters_add_the_include_that_lets_rows_be_verified():
    plan = Invoice.objects.filter(item_name="yard")._get_plan()
    assert plan.added_includes == ("lines",)
    assert ("include[]", "lines") in plan.query.list_params()


@pytest.mark.parametrize(
    ("lookups", "error"),
    [
        ({"amont__gt": 1}, UnknownFilterError),
        ({"amount__gtt": 1}, UnknownFilterError),
        ({"amount__icontains": "1"}, UnknownFilterError),  # not a text field
        ({"v3_status__year": 2024}, UnknownFilterError),
        ({"lines__nme": "x"}, UnknownFilterError),
        ({"create_date__gt": "soon"}, InvalidFilterValue),
        ({"status": "drafty"}, InvalidFilterValue),
        ({"amount__range": (1,)}, InvalidFilterValue),
        ({"customerid__in": 5}, InvalidFilterValue),
        ({"date_paid__isnull": "yes"}, InvalidFilterValue),
        ({"create_date__year": "x"}, InvalidFilterValue),
    ],
    ids=str,
)
def test_bad_names_and_values_raise_before_any_request(lookups, error):
    with pytest.raises(error):
        Invoice.objects.filter(**lookups)
    with pytest.raises(error):
        Invoice.objects.exclude(**lookups)


def test_unknown_lookup_names_the_closest_and_the_valid_ones():
    with pytest.raises(UnknownFilterError) as info:
        Invoice.objects.filter(amount__gtt=1)
    text = str(info.value)
    assert "'gt'" in text and "gte" in text and "range" in text
    with pytest.raises(UnknownFilterError) as info:
        Invoice.objects.filter(amont=1)
    assert "'amount'" in str(info.value)


def test_explain_says_where_each_part_runs(offline_client=None):
    text = str(
        Invoice.objects.filter(amount__gt=100, item_name="yard")
        .exclude(v3_status="draft")
        .order_by("-amount")
        .explain()
    )
    assert "search[total_min]=100" in text and "verified on every row" in text
    assert "include[]=lines added" in text
    assert "NOT v3_status__exact='draft'" in text
    assert "-amount: locally, after reading every matching row" in text
    assert "every page the server filters match" in text
    exact = Invoice.objects.filter(v3_status="sent").explain()
    assert exact.exact and exact.local is None and "1 request" in exact.requests


def test_money_in_another_currency_raises_when_compared():
    row = Invoice.from_wire({"id": 1, "amount": {"amount": "50.00", "code": "CAD"}})
    cond = Invoice.objects.filter(amount__gt=Money(10, "USD"))._get_plan().residual
    with pytest.raises(MixedCurrencyError) as info:
        matches(cond, row)
    assert "USD" in str(info.value) and "CAD" in str(info.value)
    bare = Invoice.objects.filter(amount__gt=10)._get_plan().residual
    assert matches(bare, row)


# --- every resource: soundness of every pushdown -----------------------------------------------


def _sample_values(kind, type_):
    if kind == "int":
        return [1, 2, 7]
    if kind == "decimal":
        return [Decimal("0"), Decimal("7.5"), Decimal("100")]
    if kind == "money":
        return [Money("0.00", "USD"), Money("7.50", "USD"), Money("100.00", "USD")]
    if kind == "date":
        return [dt.date(2023, 12, 31), dt.date(2024, 1, 1), dt.date(2024, 6, 15)]
    if kind == "datetime":
        return [type_.coerce(dt.datetime(2024, 1, 1, 0, 0)), type_.coerce("2024-06-15 13:45:00")]
    if kind == "enum":
        return list(type_.enum_cls)[:3]
    if kind == "choice":
        return list(type_.choices)[:3]
    if kind == "bool":
        return [True, False]
    if kind == "str":
        return ["Alpha", "alphabet", "Beta"]
    return []


def _lookup_value(kind, lookup, values):
    if lookup == "in":
        return values[:2]
    if lookup == "range":
        return (values[0], values[-1])
    if lookup == "isnull":
        return True
    return values[1] if len(values) > 1 else values[0]


def _field_cases(model):
    for name, fspec in model._meta.fields.items():
        kind = field_kind(fspec.type)
        if kind in ("list", "value"):
            continue
        values = _sample_values(kind, fspec.type)
        if not values:
            continue
        for lookup in lookups_for(kind):
            yield name, kind, fspec, lookup, values


def _rows(model, name, fspec, values):
    rows = []
    for value in [*values, None]:
        rows.append(model.from_wire({fspec.wire: fspec.type.to_wire(value)}))
    return rows


CASES = [
    pytest.param(model, name, lookup, id=f"{model.__name__}.{name}__{lookup}")
    for model in resources()
    for name, _k, _f, lookup, _v in _field_cases(model)
]


@pytest.mark.parametrize(("model", "name", "lookup"), CASES)
def test_every_lookup_on_every_field_plans_soundly(model, name, lookup):
    """Server filters never exclude a matching row; an exact plan is the condition itself."""
    fspec = model._meta.fields[name]
    kind = field_kind(fspec.type)
    values = _sample_values(kind, fspec.type)
    value = _lookup_value(kind, lookup, values)
    qs = model.objects.filter(**{f"{name}__{lookup}": value})
    plan = qs._get_plan()
    for row in _rows(model, name, fspec, values):
        wanted = matches(plan.where, row)
        passes = plan.contradiction(row) is None
        if wanted:
            assert passes, f"{name}__{lookup}={value!r}: a server filter excludes a matching row"
        if plan.residual is None and not plan.empty and plan.server:
            # an exact plan: what the server filters keep is exactly what the query matches
            strict = all(
                matches(s.check, row) for s in plan.server if s.check is not None
            ) and all(s.check is not None for s in plan.server)
            raw = row.__dict__["_raw"]
            if all(carried_key(s.check) in raw for s in plan.server if s.check is not None):
                assert strict == wanted or kind in ("str", "choice"), (name, lookup, value)


@pytest.mark.parametrize("model", resources(), ids=lambda m: m.__name__)
def test_every_documented_filter_has_a_meaning_or_is_reported_unverifiable(model):
    spec = model._meta.resource
    table = meanings(model, spec)
    assert set(table) == set(spec.filters)
    for name, meaning in table.items():
        if meaning is None:
            continue
        assert meaning.path.field in model._meta.fields, name
    assert all(m.filter.name in spec.filters for m in pushable(model, spec))


@pytest.mark.parametrize("model", resources(), ids=lambda m: m.__name__)
def test_every_documented_filter_verifies_its_rows(model):
    """A row contradicting a filter's meaning fails its check; a row satisfying it passes."""
    spec = model._meta.resource
    for name, meaning in meanings(model, spec).items():
        if meaning is None:
            continue
        fspec = model._meta.fields[meaning.path.field]
        if meaning.path.item_field is not None:
            continue  # list filters: see the sandbox tests
        kind = field_kind(fspec.type)
        values = _sample_values(kind, fspec.type)
        if not values:
            continue
        check = meaning.cond(True) if meaning.has_fixed else None
        if check is None:
            value = _lookup_value(kind, meaning.path.lookup, values)
            if meaning.path.transform == "date":
                value = values[-1].date()
            check = meaning.cond(value)
        rows = _rows(model, meaning.path.field, fspec, values)
        results = [matches(check, r, lenient=True) for r in rows]
        assert any(results) and not all(results), (name, results)


def test_resources_are_discovered():
    assert Invoice in resources()


def test_q_combines_like_django():
    q = Q(a=1) & Q(b=2)
    assert q.connector == "AND" and len(q.children) == 2
    assert (Q(a=1) | Q(b=2)).connector == "OR"
    assert (~Q(a=1)).negated and not (~~Q(a=1)).negated
    assert Q() & Q(a=1) == Q(a=1)
    with pytest.raises(TypeError):
        Q(a=1) & {"b": 2}
    assert list(itertools.islice(iter(Q(a=1, b=2).children), 2)) == [("a", 1), ("b", 2)]
    assert isinstance(Cond, type)


# --- every resource: the exact split of each documented lookup -----------------------------------


def _declared_lookup_cases():
    for model in resources():
        spec = model._meta.resource
        table = meanings(model, spec)
        for name, meaning in table.items():
            if meaning is None or not meaning.simple:
                continue
            path = meaning.path
            if path.item_field is not None:
                continue
            kind = field_kind(path.type)
            values = _sample_values(kind, path.type)
            if not values:
                continue
            lookup = "icontains" if path.lookup == "contains" else path.lookup
            if path.transform == "date":
                key, value = f"{path.field}__date__{lookup}", values[-1].date()
            else:
                key, value = f"{path.field}__{lookup}", _lookup_value(kind, lookup, values)
            yield pytest.param(model, name, key, value, id=f"{model.__name__}.{key}->{name}")


@pytest.mark.parametrize(("model", "name", "key", "value"), list(_declared_lookup_cases()))
def test_each_filters_own_lookup_sends_exactly_that_filter(model, name, key, value):
    """``<field>__<lookup>`` that a filter means is sent as that filter alone; nothing is left
    to evaluate locally unless text case (or a money value's currency) needs checking."""
    plan = model.objects.filter(**{key: value})._get_plan()
    assert [s.name for s in plan.server] == [name] or (
        # several filters may mean the same (invoices' id/invoiceid); one of them is sent
        len(plan.server) == 1 and meanings(model, model._meta.resource)[plan.server[0].name].path
        == meanings(model, model._meta.resource)[name].path
    )
    kind = field_kind(meanings(model, model._meta.resource)[name].path.type)
    if kind not in ("str", "choice", "money"):
        assert plan.residual is None, plan.residual.describe()
    expected = model._meta.resource.filters[plan.server[0].name].pairs(plan.server[0].value)
    assert tuple(plan.query.filter_params) == tuple(expected)
