"""One contract over the registry: every resource gets the same checks for free.

For every registered resource: each declared filter compiles to its exact query params, each
lookup resolves to a declared filter, each include is accepted and a wrong one refused, the
primary-key filters exist, a row with every declared key parses without leftovers, and what
``save()`` would send holds writable keys only.  (The create/get/update/delete round trip
through the sandbox is in ``test_resources_sandbox.py``.)
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from freshbooks_orm import InvalidFilterValue, Money, UnknownFilterError, registry
from freshbooks_orm.orm.fields import FieldKind
from freshbooks_orm.orm.query import (
    BoolFilter,
    InFilter,
    SearchBoolFilter,
    encode_currency,
    encode_date,
    encode_decimal,
    encode_int,
    encode_str,
)
from freshbooks_orm.orm.types import (
    BOOL,
    CURRENCY,
    DATE,
    DECIMAL,
    DECIMAL_STRING,
    EASTERN_DATETIME,
    INT,
    MONEY,
    STR,
    ChoiceType,
    EnumType,
    IntType,
)
from freshbooks_orm.resources.common import VisState

MODELS = registry.models()

#: (python value, its wire text) for the plain encoders
SAMPLES: dict[Any, tuple[Any, str]] = {
    encode_int: (42, "42"),
    encode_str: ("acme", "acme"),
    encode_decimal: (Decimal("12.50"), "12.50"),
    encode_date: (dt.date(2024, 3, 1), "2024-03-01"),
    encode_currency: ("cad", "CAD"),
}

#: filters with a restricted value set: (resource, filter) -> (value, wire text)
CHOICES: dict[tuple[str, str], tuple[Any, str]] = {
    ("invoices", "statusid"): ("draft", "1"),
    ("invoices", "statusids"): ("sent", "2"),
    ("invoices", "v3_status"): ("paid", "paid"),
    ("estimates", "statusid"): ("accepted", "5"),
    ("estimates", "statusids"): (5, "5"),
    ("payments", "type"): ("Bank Transfer", "Bank Transfer"),
    ("payments", "payment_or_credit"): ("credit", "credit"),
}


def sample(resource: str, flt: Any) -> tuple[Any, str]:
    if flt.name == "vis_state":
        return VisState.ARCHIVED, "2"
    if (resource, flt.name) in CHOICES:
        return CHOICES[(resource, flt.name)]
    try:
        return SAMPLES[flt.encode]
    except KeyError:
        raise AssertionError(
            f"{resource}.{flt.name} has a restricted encoder: add it to CHOICES"
        ) from None


def filter_cases() -> list[Any]:
    out = []
    for model in MODELS:
        spec = model._meta.resource
        assert spec is not None
        for name, flt in spec.filters.items():
            out.append(pytest.param(model, name, flt, id=f"{model._meta.name}-{name}"))
    return out


@pytest.mark.parametrize("model, name, flt", filter_cases())
def test_every_filter_compiles_to_its_exact_params(model, name, flt):
    resource = model._meta.name
    if isinstance(flt, (BoolFilter, SearchBoolFilter)):
        value, wires = True, ["true"]
        key = name if isinstance(flt, BoolFilter) else f"search[{name}]"
        expected = [(key, "true")]
    else:
        one, wire = sample(resource, flt)
        if isinstance(flt, InFilter):
            value, expected = [one, one], [(f"search[{name}][]", wire)] * 2
        else:
            value, expected = one, [(f"search[{name}]", wire)]
        wires = [wire]
    assert wires
    qs = model.objects.filter(**{name: value})
    assert list(qs.query.filter_params) == expected
    with pytest.raises(InvalidFilterValue):
        model.objects.filter(**{name: object()})


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.name)
def test_every_lookup_resolves_to_a_declared_filter(model):
    spec = model._meta.resource
    for lookup, target in spec.lookups.items():
        assert target in spec.filters, f"{lookup} -> {target}"
        assert spec.resolve(lookup) is spec.filters[target]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.name)
def test_an_unknown_filter_is_refused_naming_the_valid_ones(model):
    with pytest.raises(UnknownFilterError, match="Valid filters: "):
        model.objects.filter(no_such_filter=1)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.name)
def test_includes_are_valid_and_others_refused(model):
    spec = model._meta.resource
    if spec.includes:
        qs = model.objects.include(*spec.includes)
        assert list(qs.query.include_params()) == [("include[]", i) for i in spec.includes]
    with pytest.raises(InvalidFilterValue, match="has no include"):
        model.objects.include("no_such_include")
    for nested in model._meta.nested.values():
        assert nested.include is None or nested.include in spec.includes


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.name)
def test_primary_key_and_concurrency_declarations(model):
    meta = model._meta
    assert meta.pk in meta.fields and meta.fields[meta.pk].kind is FieldKind.COMPUTED
    assert meta.pk_filter or meta.pk_in_filter, "a resource must be selectable by id"
    if meta.pk_in_filter:
        assert isinstance(meta.resource.filters[meta.pk_in_filter], InFilter)
    if meta.concurrency_field:
        spec = meta.field_by_wire(meta.concurrency_field)
        assert spec is not None and spec.kind is not FieldKind.WRITABLE
    state = meta.state_field
    if meta.lifecycle.state is not None:
        assert state is not None and state.wire == meta.lifecycle.state
    if meta.read_only:
        assert not meta.sendable_names or all(
            meta.fields[n].kind is not FieldKind.WRITABLE for n in meta.fields
        )


WIRE_SAMPLES: dict[Any, Any] = {
    STR: "text",
    CURRENCY: "USD",
    INT: 7,
    BOOL: True,
    DECIMAL: "4.5",
    DECIMAL_STRING: "12.50",
    DATE: "2024-03-01",
    EASTERN_DATETIME: "2024-03-01 10:11:12",
    MONEY: {"amount": "10.00", "code": "USD"},
}


def wire_value(spec: Any) -> Any:
    if spec.is_nested:
        return [full_row(spec.item_model)]
    if spec.type in WIRE_SAMPLES:
        return WIRE_SAMPLES[spec.type]
    if isinstance(spec.type, IntType):
        return 7
    if isinstance(spec.type, EnumType):
        return int(next(iter(spec.type.enum_cls)))
    if isinstance(spec.type, ChoiceType):
        return spec.type.choices[0]
    return "2024-03-01 10:11:12" if "date" in spec.name or spec.name.endswith("_at") else "x"


def full_row(model: Any) -> dict[str, Any]:
    return {spec.wire: wire_value(spec) for spec in model._meta.fields.values()}


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.name)
def test_a_row_with_every_declared_key_parses_and_sends_only_writable_keys(model):
    row = full_row(model)
    obj = model.from_wire(row)
    assert obj.extra == {}
    for name in model._meta.fields:
        getattr(obj, name)  # every field parses by its declared type
    assert obj.dirty_fields == frozenset()
    new = model()
    for name, spec in model._meta.fields.items():
        if spec.kind is FieldKind.WRITABLE and not spec.is_nested:
            setattr(new, name, getattr(obj, name))
    payload = new.to_payload()
    for key in payload:
        spec = model._meta.field_by_wire(key)
        assert spec is not None and spec.kind in (FieldKind.WRITABLE, FieldKind.CREATE_ONLY)
        assert not model._meta.lifecycle.travels_alone(key)
    for nested in model._meta.nested.values():
        sent = obj.to_payload([nested.name])[nested.wire]
        item = nested.item_model._meta
        for key in sent[0]:
            spec = item.field_by_wire(key)
            assert spec is not None
            assert spec.sendable or spec.name == item.pk


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.name)
def test_computed_and_state_fields_cannot_be_assigned(model):
    obj = model.from_wire({model._meta.fields[model._meta.pk].wire: 1})
    for name, spec in model._meta.fields.items():
        if spec.kind in (FieldKind.COMPUTED, FieldKind.STATE):
            with pytest.raises(AttributeError):
                setattr(obj, name, None)


def test_the_resources_of_the_issue_are_all_registered_and_exported():
    import freshbooks_orm

    expected = {
        "invoices": "Invoice",
        "customers": "Customer",
        "payments": "Payment",
        "estimates": "Estimate",
        "credit_notes": "CreditNote",
        "recurring_profiles": "RecurringProfile",
        "expenses": "Expense",
        "expense_categories": "ExpenseCategory",
        "items": "Item",
        "taxes": "Tax",
    }
    for name, cls_name in expected.items():
        assert registry.get_model(name) is getattr(freshbooks_orm, cls_name)
        assert cls_name in freshbooks_orm.__all__
    assert registry.get_model("credit-notes").__name__ == "CreditNote"


@pytest.mark.parametrize(
    "name, path, single, delete_style",
    [
        ("customers", "users/clients", "client", "PUT vis_state=1"),
        ("payments", "payments/payments", "payment", "PUT vis_state=1"),
        ("estimates", "estimates/estimates", "estimate", "HTTP DELETE"),
        ("credit_notes", "credit_notes/credit_notes", "credit_note", "PUT vis_state=1"),
        ("recurring_profiles", "invoice_profiles/invoice_profiles", "invoice_profile",
         "PUT vis_state=1"),
        ("expenses", "expenses/expenses", "expense", "PUT vis_state=1"),
        ("expense_categories", "expenses/categories", "category", "not supported (read-only)"),
        ("items", "items/items", "item", "PUT vis_state=1"),
        ("taxes", "taxes/taxes", "tax", "HTTP DELETE"),
    ],
)  # fmt: skip
def test_paths_keys_and_delete_styles_follow_the_reference(name, path, single, delete_style):
    meta = registry.get_model(name)._meta
    assert (meta.resource.path, meta.resource.single_key) == (path, single)
    assert meta.lifecycle.delete_style == delete_style


def test_credit_note_answers_are_read_under_either_key():
    from freshbooks_orm import CreditNote

    spec = CreditNote._meta.resource
    row = {"id": 1}
    assert spec.result({"response": {"result": {"credit_note": row}}}) == row
    assert spec.result({"response": {"result": {"credit_notes": row}}}) == row


def test_client_signup_date_is_utc_and_updated_is_eastern():
    from freshbooks_orm import Customer

    c = Customer.from_wire(
        {"id": 1, "signup_date": "2024-01-05 12:17:11", "updated": "2024-01-05 07:17:12"}
    )
    assert c.signup_date.utcoffset() == dt.timedelta(0)
    # the reference's example: 12:17:11 UTC and 07:17:12 EST are one second apart
    assert (c.signup_date - c.updated).total_seconds() == -1


def test_expense_tax_amounts_are_money_and_line_tax_amounts_are_percents():
    from freshbooks_orm import Estimate, Expense

    e = Expense.from_wire({"id": 1, "taxAmount1": {"amount": "1.30", "code": "USD"}})
    assert e.taxAmount1 == Money("1.30", "USD")
    est = Estimate.from_wire({"id": 1, "lines": [{"taxAmount1": "9.975", "taxNumber1": None}]})
    assert est.lines[0].taxAmount1 == Decimal("9.975")
    assert "taxNumber1" not in est.lines[0].to_nested_payload()


@pytest.mark.parametrize(
    "wire", ["3", "2024-03", "March 2024", "tomorrow", "2024-02-30 10:00:00", 1704457031]
)
def test_a_signup_date_that_is_not_a_full_date_is_a_typed_error_not_a_guess(wire):
    # dateutil's parser once filled a reduced or free-form value with today's date
    from freshbooks_orm import Customer, FieldValueError

    c = Customer.from_wire({"id": 1, "signup_date": wire})
    with pytest.raises(FieldValueError) as info:
        c.signup_date  # noqa: B018
    assert info.value.field == "signup_date"


def test_a_signup_date_with_an_offset_keeps_its_instant():
    from freshbooks_orm import Customer

    c = Customer.from_wire({"id": 1, "signup_date": "2024-01-05T07:17:11-05:00"})
    assert c.signup_date == dt.datetime(2024, 1, 5, 12, 17, 11, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("value", ["2024-03", "2024", "March 2024"])
def test_a_signup_date_filter_refuses_a_reduced_date_as_the_eastern_ones_do(value):
    from freshbooks_orm import Customer

    for key in ("signup_date__gte", "updated__gte"):
        with pytest.raises(InvalidFilterValue):
            Customer.objects.filter(**{key: value})


def test_a_signup_date_filter_compares_full_dates_in_utc():
    from fake_client import FakeClient

    from freshbooks_orm import Customer

    rows = [
        {"id": 1, "signup_date": "2024-03-05 12:00:00"},
        {"id": 2, "signup_date": "2024-02-29 23:30:00"},  # 18:30 on Feb 29 in New York
        {"id": 3, "signup_date": "2024-03-01 00:30:00"},
    ]
    page = {"clients": rows, "page": 1, "pages": 1, "per_page": 100, "total": 3}
    client = FakeClient({("GET", "/users/clients"): {"response": {"result": page}}})
    qs = Customer.objects.using(client).filter(signup_date__gte="2024-03-01T00:00:00Z")
    assert [c.id for c in qs] == [1, 3]


@pytest.mark.parametrize(
    ("model_name", "field", "relation"),
    [
        ("Expense", "clientid", "customer"),
        ("Expense", "projectid", None),
        ("Item", "tax1", None),
        ("Item", "tax2", None),
    ],
)
def test_an_id_whose_none_is_zero_is_sent_as_zero_not_null(model_name, field, relation):
    # the reference: expense clientid "0 = no client (not null)", item tax1/tax2 "0 = none"
    import freshbooks_orm

    model = getattr(freshbooks_orm, model_name)
    pk = model._meta.fields[model._meta.pk].wire
    obj = model.from_wire({pk: 1, field: 9})
    if relation is not None:
        setattr(obj, relation, None)
    else:
        setattr(obj, field, None)
    assert obj.to_payload() == {field: 0}
    # a value is sent as it is, and 0 as read stays 0
    obj = model.from_wire({pk: 1, field: 0})
    assert getattr(obj, field) == 0
    setattr(obj, field, 12)
    assert obj.to_payload() == {field: 12}


def test_a_payment_gateway_is_kept_as_sent_whatever_its_shape():
    # a name on a plain read [doc]; include("gateway") may put the related object there [?]
    from freshbooks_orm import Payment

    assert Payment.from_wire({"id": 1, "gateway": "stripe"}).gateway == "stripe"
    gateway = {"name": "stripe", "gatewayid": 4}
    p = Payment.from_wire({"id": 1, "gateway": gateway})
    assert p.gateway == gateway
    assert p.to_dict()["gateway"] == gateway
