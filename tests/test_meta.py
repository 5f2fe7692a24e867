"""The resource-generic core: ``_meta``, the registry, nested lists under any name, lifecycles.

Test models here are declared with ``register=False`` so they never join the registry that
the contract tests walk.  Requests go to a scripted ``FakeClient`` (no socket).
"""

from __future__ import annotations

import pytest
from fake_client import FakeClient

from freshbooks_orm import Invoice, InvoiceLine, UnsupportedOperationError, registry
from freshbooks_orm.orm.model import Model, computed, nested, resource, state, writable
from freshbooks_orm.orm.options import HTTP_DELETE, READ_ONLY, VIS_STATE, Options
from freshbooks_orm.orm.query import EqualsFilter, InFilter, ResourceSpec, encode_int
from freshbooks_orm.orm.registry import UnknownResourceError
from freshbooks_orm.orm.types import INT, STR
from freshbooks_orm.resources.common import VIS_STATE as VIS_TYPE

# --- declarations used by these tests --------------------------------------------------------


@resource(pk="contactid", repr_fields=("contactid", "email"))
class Contact(Model):
    contactid: int | None = computed(INT)
    email: str | None = writable(STR)
    fname: str | None = writable(STR)


PEOPLE = ResourceSpec(
    name="Person",
    path="people/people",
    single_key="person",
    list_key="people",
    filters={
        f.name: f for f in (EqualsFilter("personid", encode_int), InFilter("personids", encode_int))
    },
    includes=("friends",),
)


@resource(PEOPLE, name="people", pk="id", pk_filter="personid", register=False)
class Person(Model):
    """Contacts come with every GET; friends only with include[]=friends."""

    id: int | None = computed(INT)
    name: str | None = writable(STR)
    contacts: list[Contact] = nested(Contact)
    friends: list[Contact] = nested(Contact, include="friends")
    vis_state: int | None = state(VIS_TYPE)


@resource(PEOPLE, name="people", pk="id", pk_in_filter="personids", register=False)
class HardPerson(Model):
    """No state field: deleted with HTTP DELETE."""

    id: int | None = computed(INT)
    name: str | None = writable(STR)


@resource(PEOPLE, name="people", read_only=True, register=False)
class FixedPerson(Model):
    id: int | None = computed(INT)
    name: str | None = writable(STR)
    vis_state: int | None = state(VIS_TYPE)


def person(**over) -> dict:
    raw = {
        "id": 7,
        "name": "Ada",
        "vis_state": 0,
        "contacts": [
            {"contactid": 1, "email": "a@x.test", "fname": "A"},
            {"contactid": 2, "email": "b@x.test", "fname": "B"},
        ],
    }
    raw.update(over)
    return raw


# --- _meta and the registry --------------------------------------------------------------------


def test_every_model_has_one_documented_meta():
    meta = Invoice._meta
    assert isinstance(meta, Options)
    assert (meta.name, meta.pk, meta.pk_filter, meta.pk_in_filter) == (
        "invoices",
        "id",
        "invoiceid",
        "invoiceids",
    )
    assert meta.concurrency_field == "updated"
    assert meta.lifecycle is VIS_STATE and meta.lifecycle.delete_style == "PUT vis_state=1"
    assert list(meta.nested) == ["lines"] and meta.nested["lines"].item_model is InvoiceLine
    assert meta.nested["lines"].include == "lines"
    assert meta.state_field is not None and meta.state_field.wire == "vis_state"
    assert meta.resource is not None and "invoiceids" in meta.resource.filters
    assert meta.pk_lookups == {"pk", "id", "invoiceid"}
    assert set(meta.relations) >= {"customer", "payments"}
    assert InvoiceLine._meta.resource is None and InvoiceLine._meta.name is None


def test_meta_field_names_the_valid_fields():
    with pytest.raises(TypeError, match="Did you mean 'po_number'"):
        Invoice._meta.field("po_numbr")


def test_registry_is_filled_by_the_declaration():
    assert registry.get_model("invoices") is Invoice
    assert registry.get_model("Invoice") is Invoice  # the name 0.1 journals recorded
    assert "people" not in registry.names()  # register=False


def test_unknown_resource_names_the_valid_ones():
    with pytest.raises(UnknownResourceError, match="Did you mean 'invoices'") as err:
        registry.get_model("invoces")
    assert isinstance(err.value, LookupError) and "Resources: " in str(err.value)
    assert all(name in str(err.value) for name in registry.names())


def test_a_second_class_cannot_take_a_registered_name():
    with pytest.raises(TypeError, match="taken"):

        @resource(PEOPLE, name="invoices")
        class Impostor(Model):
            id: int | None = computed(INT)


# --- nested lists under any name -------------------------------------------------------------


def test_a_nested_list_under_another_name_is_dirty_on_any_change():
    p = Person.from_wire(person())
    assert p.dirty_fields == frozenset()
    p.contacts[1].email = "new@x.test"
    assert p.dirty_fields == {"contacts"}
    assert p.to_payload() == {
        "contacts": [
            {"contactid": 1, "email": "a@x.test", "fname": "A"},
            {"contactid": 2, "email": "new@x.test", "fname": "B"},
        ]
    }


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.contacts.append({"email": "c@x.test"}),
        lambda p: p.contacts.pop(0),
        lambda p: p.contacts.reverse(),
        lambda p: setattr(p, "contacts", []),
    ],
    ids=["added", "removed", "reordered", "replaced"],
)
def test_every_kind_of_change_to_a_nested_list_sends_the_whole_list(change):
    p = Person.from_wire(person())
    change(p)
    assert p.dirty_fields == {"contacts"}
    sent = p.to_payload()["contacts"]
    assert sent == [c.to_nested_payload() for c in p.contacts]


def test_a_nested_list_that_needs_an_include_is_loaded_on_first_access():
    client = FakeClient(
        {("GET", "/people/people/7"): {"response": {"result": {"person": person(friends=[])}}}}
    )
    client.answers[("GET", "/people/people/7")]["response"]["result"]["person"]["friends"] = [
        {"contactid": 9, "email": "f@x.test"}
    ]
    p = Person.from_wire(person(), client)
    assert p.contacts[0].email == "a@x.test" and client.calls == []  # came with the row
    assert [f.email for f in p.friends] == ["f@x.test"]
    assert [(m, path, params) for m, path, params, _ in client.calls] == [
        ("GET", "/accounting/account/AbC12/people/people/7", [("include[]", "friends")])
    ]
    assert p.dirty_fields == frozenset()
    p.friends.append(Contact(email="g@x.test"))
    assert p.dirty_fields == {"friends"}


def test_save_sends_the_changed_nested_list_with_its_include():
    answer = person()
    answer["contacts"] = answer["contacts"][:1]
    client = FakeClient({("PUT", "/people/people/7"): {"response": {"result": {"person": answer}}}})
    p = Person.from_wire(person(), client)
    del p.contacts[1]
    p.save()
    (method, _path, _params, body) = client.calls[-1]
    assert method == "PUT" and body == {
        "person": {"contacts": [{"contactid": 1, "email": "a@x.test", "fname": "A"}]}
    }
    assert p.dirty_fields == frozenset() and len(p.contacts) == 1


# --- lifecycles ---------------------------------------------------------------------------------


def test_state_resources_send_vis_state_alone():
    client = FakeClient()
    p = Person.from_wire(person(), client)
    p.name = "unsaved"
    p.delete()
    p.restore()
    p.archive()
    assert [c[3] for c in client.calls] == [
        {"person": {"vis_state": 1}},
        {"person": {"vis_state": 0}},
        {"person": {"vis_state": 2}},
    ]
    assert p.vis_state == 2 and p.dirty_fields == {"name"}


def test_resources_without_a_state_field_are_deleted_with_http_delete():
    assert HardPerson._meta.lifecycle is HTTP_DELETE
    assert HardPerson._meta.lifecycle.delete_style == "HTTP DELETE"
    client = FakeClient()
    p = HardPerson.from_wire({"id": 7, "name": "Ada"}, client)
    p.delete()
    assert [(c[0], c[1], c[3]) for c in client.calls] == [
        ("DELETE", "/accounting/account/AbC12/people/people/7", None)
    ]
    with pytest.raises(UnsupportedOperationError, match="cannot be restored"):
        p.restore()
    assert len(client.calls) == 1


def test_read_only_resources_refuse_every_write_before_any_request():
    assert FixedPerson._meta.lifecycle is READ_ONLY and FixedPerson._meta.read_only
    client = FakeClient()
    p = FixedPerson.from_wire({"id": 7, "name": "Ada", "vis_state": 0}, client)
    p.name = "Bob"
    for action in (p.save, p.delete, p.restore, p.archive):
        with pytest.raises(UnsupportedOperationError, match="read-only"):
            action()
    with pytest.raises(UnsupportedOperationError, match="read-only"):
        FixedPerson(name="x").save(using=client)  # type: ignore[arg-type]
    assert client.calls == []


def test_get_uses_the_declared_pk_filters():
    client = FakeClient(
        {("GET", "/people/people"): {"response": {"result": {"people": [person()], "total": 1}}}}
    )
    Person.objects.using(client).filter(personid=7).get(7)  # type: ignore[arg-type]
    # HardPerson does not declare what ``personid`` means, so its rows cannot be verified
    # against it: the query must say it accepts that (issue 12's planner refuses otherwise)
    HardPerson.objects.using(client).filter(personid=7).allow_unverified().get(pk=7)  # type: ignore[arg-type]
    params = [c[2] for c in client.calls]
    assert ("search[personid]", "7") in params[0]
    assert ("search[personids][]", "7") in params[1]
