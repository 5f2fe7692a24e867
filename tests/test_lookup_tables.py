"""Every resource's lookup table, pinned: the lookups each filter answers to, in order.

Most of these are derived (``ResourceSpec.with_derived_lookups``: the primary-key aliases and
``updated__gte``/``updated__lt``), the rest declared by the resource; either way the planner,
``filter()``, the CLI and the docs' resource reference read the same table, so a change here is
a change users see.  (The order of the lookups of one filter matters: the planner reads the
first one that names a field.)
"""

from __future__ import annotations

import pytest

from freshbooks_orm import registry
from freshbooks_orm.orm.query import DateFilter, EqualsFilter, InFilter, ResourceSpec

#: resource -> filter -> the lookups that name it, in declaration order
LOOKUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "credit_notes": {
        "date_min": ("create_date__gte",),
        "date_max": ("create_date__lt",),
    },
    "customers": {
        "userid": ("id", "pk"),
        "userids": ("id__in", "pk__in", "userid__in"),
        "fname_like": ("fname__contains",),
        "lname_like": ("lname__contains",),
        "note_like": ("note__contains",),
        "organization_like": ("organization__contains",),
        "updated_min": ("updated__gte",),
        "updated_max": ("updated__lt",),
    },
    "estimates": {
        "estimateid": ("id", "pk"),
        "estimateids": ("id__in", "pk__in", "estimateid__in"),
        "estimate_number_like": ("estimate_number__contains",),
        "notes": ("notes__contains",),
        "statusid": ("status",),
        "statusids": ("status__in",),
        "customerids": ("customerid__in",),
        "updated_min": ("updated__gte",),
        "updated_max": ("updated__lt",),
    },
    "expense_categories": {
        "categoryids": ("id__in", "pk__in", "categoryid__in"),
        "name": ("category__contains",),
    },
    "expenses": {
        "expenseid": ("id", "pk"),
        "expenseids": ("id__in", "pk__in", "expenseid__in"),
        "clientids": ("clientid__in",),
        "staffids": ("staffid__in",),
        "profileids": ("profileid__in",),
        "categoryids": ("categoryid__in",),
        "projectids": ("projectid__in",),
        "amount_min": ("amount__gte",),
        "amount_max": ("amount__lt",),
        "date_min": ("date__gte",),
        "date_max": ("date__lt",),
        "updated_min": ("updated__gte",),
        "updated_max": ("updated__lt",),
    },
    "invoices": {
        "invoiceid": ("id", "pk"),
        "invoiceids": ("id__in", "pk__in", "invoiceid__in"),
        "invoice_number_like": ("invoice_number__contains",),
        "notes": ("notes__contains",),
        "po_number": ("po_number__contains",),
        "statusid": ("status",),
        "statusids": ("status__in",),
        "customerids": ("customerid__in",),
        "parentid": ("parent",),
        "date_min": ("create_date__gte",),
        "date_max": ("create_date__lt",),
        "updated_min": ("updated__gte",),
        "updated_max": ("updated__lt",),
        "total_min": ("amount__gte",),
        "total_max": ("amount__lt",),
    },
    "items": {
        "itemid": ("id", "pk"),
        "itemids": ("id__in", "pk__in", "itemid__in"),
        "description": ("description__contains",),
        "unit_cost_min": ("unit_cost__gte",),
        "unit_cost_max": ("unit_cost__lt",),
        "inventory_min": ("inventory__gte",),
        "inventory_max": ("inventory__lt",),
        "qty_min": ("qty__gte",),
        "qty_max": ("qty__lt",),
        "updated_min": ("updated__gte",),
        "updated_max": ("updated__lt",),
    },
    "payments": {
        "logid": ("id", "pk"),
        "logids": ("id__in", "pk__in", "logid__in"),
        "date_min": ("date__gte",),
        "date_max": ("date__lt",),
        "amount_min": ("amount__gte",),
        "amount_max": ("amount__lt",),
        "updated_min": ("updated__gte",),
        "updated_max": ("updated__lt",),
        "customerids": ("customerid__in",),
        "clientids": ("clientid__in",),
        "currency": ("currency_code",),
        "notes": ("note__contains",),
    },
    "recurring_profiles": {
        "profileid": ("id", "pk"),
        "profileids": ("id__in", "pk__in", "profileid__in"),
        "clientid": ("customerid",),
        "clientids": ("customerid__in",),
    },
    "taxes": {
        "taxid": ("id", "pk"),
        "taxids": ("id__in", "pk__in", "taxid__in"),
        "name": ("name__contains",),
        "number": ("number__contains",),
        "updated_min": ("updated__gte",),
        "updated_max": ("updated__lt",),
    },
}


def test_every_resource_is_pinned() -> None:
    assert sorted(LOOKUPS) == sorted(registry.names())


@pytest.mark.parametrize("name", sorted(LOOKUPS))
def test_lookup_table(name: str) -> None:
    spec = registry.get_model(name)._meta.resource
    assert spec is not None
    table: dict[str, list[str]] = {}
    for lookup, target in spec.lookups.items():
        table.setdefault(target, []).append(lookup)
    assert {t: tuple(keys) for t, keys in table.items()} == LOOKUPS[name]


def _spec(*filters: object, lookups: dict[str, str] | None = None) -> ResourceSpec:
    return ResourceSpec(
        name="Thing",
        path="things/things",
        single_key="thing",
        list_key="things",
        filters={f.name: f for f in filters},  # type: ignore[attr-defined]
        lookups=lookups or {},
    )


def test_derived_lookups_come_from_the_declared_filters() -> None:
    spec = _spec(
        EqualsFilter("thingid"),
        InFilter("thingids"),
        DateFilter("updated_min"),
        DateFilter("updated_max"),
        lookups={"name__contains": "thingid"},
    )
    assert dict(spec.with_derived_lookups("thingid", "thingids").lookups) == {
        "id": "thingid",
        "pk": "thingid",
        "id__in": "thingids",
        "pk__in": "thingids",
        "thingid__in": "thingids",
        "name__contains": "thingid",
        "updated__gte": "updated_min",
        "updated__lt": "updated_max",
    }


def test_a_declared_lookup_wins_and_a_lone_equals_filter_gets_none() -> None:
    spec = _spec(
        EqualsFilter("thingid"),
        DateFilter("updated_min"),
        DateFilter("updated_max"),
        EqualsFilter("touched_min"),
        lookups={"updated__gte": "touched_min"},
    )
    derived = spec.with_derived_lookups("thingid", None)
    assert dict(derived.lookups) == {"updated__gte": "touched_min", "updated__lt": "updated_max"}
    assert (
        spec.with_derived_lookups("thingid", None).with_derived_lookups("thingid", None) == derived
    )
    bare = _spec(EqualsFilter("thingid"))
    assert bare.with_derived_lookups("thingid", None) is bare
