"""Relations: what each one sends and how many requests it costs (scripted client, no socket).

The same counts are checked against the sandbox in ``test_resources_sandbox.py`` once it
serves the related resources.
"""

from __future__ import annotations

from typing import Any

import pytest
from fake_client import FakeClient

from freshbooks_orm import (
    CreditNote,
    Customer,
    Estimate,
    Expense,
    ExpenseCategory,
    InvalidFilterValue,
    Invoice,
    Payment,
    RecurringProfile,
    registry,
)
from freshbooks_orm.orm.relations import ToMany, ToOne

BASE = "/accounting/account/AbC12"


def clients_by_id(ids: list[int]) -> dict[int, dict[str, Any]]:
    return {i: {"id": i, "userid": i, "organization": f"Org {i}", "vis_state": 0} for i in ids}


class Server(FakeClient):
    """Answers list and single GETs from in-memory tables, honouring the id "In" filters."""

    def __init__(self, tables: dict[str, dict[int, dict[str, Any]]]) -> None:
        super().__init__()
        self.tables = tables

    def answer(self, method: str, path: str, params: Any = None, json: Any = None) -> Any:
        self.calls.append((method, path, list(params or ()), json))
        for name, rows in self.tables.items():
            meta = registry.get_model(name)._meta
            assert meta.resource is not None
            prefix = f"{BASE}/{meta.resource.path}"
            if path == prefix:
                wanted = {int(v) for k, v in params or () if k == f"search[{meta.pk_in_filter}][]"}
                found = [r for i, r in rows.items() if not wanted or i in wanted]
                return {
                    "response": {
                        "result": {meta.resource.list_key: found, "total": len(found), "pages": 1}
                    }
                }
            if path.startswith(prefix + "/"):
                row = rows.get(int(path.rsplit("/", 1)[1]))
                if row is None:
                    from freshbooks_orm import NotFound

                    raise NotFound("no such thing", status_code=404)
                return {"response": {"result": {meta.resource.single_key: row}}}
        raise AssertionError(f"unexpected {method} {path}")


def invoices(customer_ids: list[int]) -> dict[int, dict[str, Any]]:
    return {
        n: {"id": n, "invoiceid": n, "customerid": cid, "vis_state": 0}
        for n, cid in enumerate(customer_ids, start=1)
    }


# --- declarations -------------------------------------------------------------------------------

EXPECTED = {
    (Invoice, "customer"): ("customers", "customerid"),
    (Invoice, "payments"): ("payments", "invoiceid"),
    (Customer, "invoices"): ("invoices", "customerid"),
    (Customer, "estimates"): ("estimates", "customerid"),
    (Customer, "payments"): ("payments", "clientid"),
    (Customer, "expenses"): ("expenses", "clientid"),
    (Payment, "invoice"): ("invoices", "invoiceid"),
    (Estimate, "customer"): ("customers", "customerid"),
    (CreditNote, "customer"): ("customers", "clientid"),
    (Expense, "customer"): ("customers", "clientid"),
    (Expense, "category"): ("expense_categories", "categoryid"),
    (RecurringProfile, "customer"): ("customers", "customerid"),
}


@pytest.mark.parametrize("model, name", list(EXPECTED), ids=lambda x: getattr(x, "__name__", x))
def test_the_issue_relations_are_declared(model, name):
    relation = model._meta.relations[name]
    target, key = EXPECTED[(model, name)]
    assert relation.target == target
    if isinstance(relation, ToOne):
        assert relation.field == key and key in model._meta.fields
    else:
        assert isinstance(relation, ToMany)
        assert relation.filter == key


@pytest.mark.parametrize("model", registry.models(), ids=lambda m: m.__name__)
def test_every_declared_relation_points_at_real_fields_and_filters(model):
    for relation in model._meta.relations.values():
        target = relation.model._meta
        if isinstance(relation, ToOne):
            assert relation.field in model._meta.fields
        else:
            assert target.resource is not None
            target.resource.resolve(relation.filter)  # raises if the filter is not declared


# --- to-one ------------------------------------------------------------------------------------


def test_a_to_one_relation_is_one_get_on_first_access_then_cached():
    server = Server({"invoices": invoices([5]), "customers": clients_by_id([5])})
    inv = Invoice.objects.using(server).get(1)  # type: ignore[arg-type]
    before = len(server.calls)
    assert inv.customer is not None and inv.customer.organization == "Org 5"
    assert inv.customer is inv.customer
    assert [c[:2] for c in server.calls[before:]] == [("GET", f"{BASE}/users/clients/5")]


def test_a_to_one_relation_is_none_without_an_id_and_sends_nothing():
    server = Server({"invoices": invoices([0]), "customers": {}})
    inv = Invoice.objects.using(server).get(1)  # type: ignore[arg-type]
    before = len(server.calls)
    assert inv.customer is None
    expense = Expense.from_wire({"id": 3, "clientid": 0, "categoryid": None}, server)  # type: ignore[arg-type]
    assert expense.customer is None and expense.category is None
    assert len(server.calls) == before


def test_a_to_one_relation_follows_a_changed_id_and_assigning_sets_the_id():
    server = Server({"invoices": invoices([5]), "customers": clients_by_id([5, 6])})
    inv = Invoice.objects.using(server).get(1)  # type: ignore[arg-type]
    assert inv.customer.pk == 5  # type: ignore[union-attr]
    inv.customerid = 6
    assert inv.customer.pk == 6  # type: ignore[union-attr]
    other = Customer.from_wire(clients_by_id([5])[5], server)  # type: ignore[arg-type]
    inv.customer = other
    assert inv.customerid == 5 and inv.dirty_fields == frozenset()
    with pytest.raises(TypeError, match="takes a Customer"):
        inv.customer = inv  # type: ignore[assignment]


def test_an_embedded_related_object_costs_no_request():
    server = Server({})
    payment = Payment.from_wire(
        {"id": 1, "invoiceid": 9, "clientid": 4, "client": {"id": 4, "organization": "Emb"}},
        server,  # type: ignore[arg-type]
    )
    assert payment.customer.organization == "Emb"  # type: ignore[union-attr]
    assert server.calls == []


# --- to-many -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, path, param",
    [
        ("invoices", "invoices/invoices", ("search[customerid]", "5")),
        ("estimates", "estimates/estimates", ("search[customerid]", "5")),
        ("payments", "payments/payments", ("search[clientid]", "5")),
        ("expenses", "expenses/expenses", ("search[clientid]", "5")),
    ],
)
def test_a_to_many_relation_is_a_lazy_queryset(name, path, param):
    server = Server({})
    customer = Customer.from_wire({"id": 5}, server)  # type: ignore[arg-type]
    qs = getattr(customer, name)
    assert server.calls == []  # nothing sent until evaluated
    assert param in qs.query.list_params()
    assert qs.get_client() is server
    assert qs.url.startswith(f"{server.base_url}{BASE}/{path}?")


def test_a_to_many_relation_of_an_unsaved_object_raises():
    with pytest.raises(ValueError, match="not saved"):
        Customer(organization="New").invoices  # noqa: B018


# --- select_related ---------------------------------------------------------------------------


def test_select_related_costs_one_extra_request_per_page_not_one_per_row():
    customer_ids = [1, 2, 3, 1, 2, 0, 3, 3, 2, 1]
    server = Server({"invoices": invoices(customer_ids), "customers": clients_by_id([1, 2, 3])})
    rows = list(Invoice.objects.using(server).select_related("customer"))  # type: ignore[arg-type]
    assert len(server.calls) == 2
    (_, path, params, _) = server.calls[1]
    assert path == f"{BASE}/users/clients"
    assert [v for k, v in params if k == "search[userids][]"] == ["1", "2", "3"]
    assert ("per_page", "3") in params
    assert [r.customer.pk if r.customer else None for r in rows] == [
        c or None for c in customer_ids
    ]
    assert len(server.calls) == 2  # every customer came from the cache


def test_select_related_leaves_a_missing_related_object_to_its_own_get():
    server = Server({"invoices": invoices([1, 2]), "customers": clients_by_id([1])})
    rows = list(Invoice.objects.using(server).select_related("customer"))  # type: ignore[arg-type]
    assert len(server.calls) == 2
    with pytest.raises(Customer.DoesNotExist):
        rows[1].customer  # noqa: B018
    assert server.calls[-1][:2] == ("GET", f"{BASE}/users/clients/2")


def test_select_related_refuses_unknown_and_to_many_names_before_any_request():
    with pytest.raises(InvalidFilterValue, match="Did you mean 'customer'"):
        Invoice.objects.select_related("custmer")
    with pytest.raises(InvalidFilterValue, match="Valid: customer"):
        Invoice.objects.select_related("payments")


def test_select_related_survives_chaining_and_single_gets():
    server = Server({"invoices": invoices([7]), "customers": clients_by_id([7])})
    qs = Invoice.objects.select_related("customer").using(server).filter(customerid=7)  # type: ignore[arg-type]
    assert qs.related == ("customer",)
    inv = qs.all().get(1)
    assert len(server.calls) == 2 and inv.customer.pk == 7  # type: ignore[union-attr]
    assert len(server.calls) == 2


def test_select_related_on_expense_categories_uses_the_in_filter():
    server = Server(
        {
            "expenses": {
                1: {"id": 1, "categoryid": 10, "clientid": 0},
                2: {"id": 2, "categoryid": 11, "clientid": 0},
            },
            "expense_categories": {
                10: {"id": 10, "category": "Travel"},
                11: {"id": 11, "category": "Meals"},
            },
        }
    )
    rows = list(Expense.objects.using(server).select_related("category", "customer"))  # type: ignore[arg-type]
    assert len(server.calls) == 2  # no customer to fetch: clientid 0 everywhere
    assert [r.category.category for r in rows] == ["Travel", "Meals"]  # type: ignore[union-attr]
    assert ("search[categoryids][]", "10") in server.calls[1][2]
    assert ExpenseCategory._meta.pk_filter is None
