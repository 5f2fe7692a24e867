"""Models: parsing by declared type, serialising, dirty sets, read-only rules. No I/O."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from freshbooks_orm import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Money,
    NotFound,
    ReadOnlyFieldError,
    VisState,
)
from freshbooks_orm.orm.model import FieldKind
from freshbooks_orm.orm.types import EASTERN

DATA = Path(__file__).parent / "data"


def documented_invoice() -> dict:
    """The invoice of the reference's "Get Single Invoice" example."""
    body = json.loads((DATA / "get_invoice.json").read_text())
    return body["response"]["result"]["invoice"]


def recorded_line(lineid=1, **over) -> dict:
    """A line as live responses carry it: qty and taxes as strings, extra read-only keys."""
    line = {
        "lineid": lineid,
        "invoiceid": 2201278,
        "type": 0,
        "expenseid": 0,
        "name": "Yard work",
        "description": "Front lawn",
        "qty": "4",
        "unit_cost": {"amount": "10.00", "code": "USD"},
        "amount": {"amount": "40.00", "code": "USD"},
        "taxName1": "HST",
        "taxAmount1": "13",
        "taxName2": "",
        "taxAmount2": "0",
        "taxNumber1": "123",
        "taxNumber2": "",
        "compounded_tax": False,
        "retainer_id": None,
        "basecampid": 0,
        "updated": "2016-09-09 16:04:42",
    }
    line.update(over)
    return line


def with_lines(*lines) -> Invoice:
    raw = documented_invoice()
    raw["lines"] = list(lines) or [recorded_line(1), recorded_line(2, name="Hedges")]
    return Invoice.from_wire(raw)


# --- parsing ------------------------------------------------------------------------------------


def test_every_documented_key_is_declared():
    inv = Invoice.from_wire(documented_invoice())
    assert inv.extra == {}


def test_fields_parse_by_declared_type():
    inv = Invoice.from_wire(documented_invoice())
    assert inv.id == inv.invoiceid == 2201278
    assert inv.create_date == dt.date(2016, 9, 9)
    assert inv.due_date == dt.date(2016, 10, 9)
    assert inv.date_paid is None and inv.generation_date is None
    assert inv.amount == Money(Decimal("800.00"), "USD")
    assert isinstance(inv.amount.amount, Decimal)
    assert inv.outstanding == Money("800.00", "USD")
    assert inv.status is InvoiceStatus.SENT
    assert inv.vis_state is VisState.ACTIVE
    assert inv.discount_value == Decimal("0")
    assert inv.gmail is False and inv.show_attachments is True
    assert inv.invoice_number == "0000003"  # a string, even though it looks like a number
    assert inv.customerid == 2185379
    assert inv.po_number is None


def test_datetimes_are_aware_us_eastern():
    inv = Invoice.from_wire(documented_invoice())
    assert inv.updated == dt.datetime(2016, 9, 9, 16, 4, 42, tzinfo=EASTERN)
    assert inv.updated.utcoffset() == dt.timedelta(hours=-4)  # EDT in September
    assert inv.created_at.astimezone(dt.timezone.utc) == dt.datetime(
        2016, 9, 9, 18, 37, 59, tzinfo=dt.timezone.utc
    )
    winter = Invoice.from_wire({"id": 1, "updated": "2016-01-05 10:00:00"})
    assert winter.updated.utcoffset() == dt.timedelta(hours=-5)  # EST


def test_line_fields_parse_strings_by_declaration():
    line = with_lines().lines[0]
    assert line.qty == Decimal("4") and isinstance(line.qty, Decimal)
    assert line.taxAmount1 == Decimal("13")
    assert line.unit_cost == Money("10.00", "USD")
    assert line.amount == Money("40.00", "USD")
    assert line.extra["taxNumber1"] == "123"  # unknown keys kept
    assert "taxNumber1" not in attrs.fields_dict(InvoiceLine)


def test_unknown_keys_are_kept_and_never_crash():
    raw = documented_invoice() | {"uuid": "abc", "version": 3, "presentation": {"x": 1}}
    inv = Invoice.from_wire(raw)
    assert inv.extra == {"uuid": "abc", "version": 3, "presentation": {"x": 1}}
    inv.notes = "changed"
    assert inv.to_payload() == {"notes": "changed"}


def test_unknown_status_number_is_kept_as_int():
    inv = Invoice.from_wire({"id": 1, "status": 42})
    assert inv.status == 42


def test_hydration_parses_nothing_until_asked():
    raw = documented_invoice()
    raw["create_date"] = "not a date"  # would raise if parsed eagerly
    inv = Invoice.from_wire(raw)
    assert inv.id == 2201278
    with pytest.raises(ValueError):
        _ = inv.create_date


# --- field kinds --------------------------------------------------------------------------------


def test_every_field_has_a_kind_from_the_reference():
    kinds = {name: spec.kind for name, spec in Invoice._meta.fields.items()}
    assert kinds["amount"] is FieldKind.COMPUTED
    assert kinds["due_date"] is FieldKind.COMPUTED
    assert kinds["status"] is FieldKind.CREATE_ONLY
    assert kinds["created_at"] is FieldKind.CREATE_ONLY
    assert kinds["notes"] is FieldKind.WRITABLE
    assert kinds["lines"] is FieldKind.WRITABLE
    assert kinds["vis_state"] is FieldKind.STATE
    line_kinds = {name: spec.kind for name, spec in InvoiceLine._meta.fields.items()}
    assert {n for n, k in line_kinds.items() if k is FieldKind.COMPUTED} == {
        "lineid",
        "amount",
        "updated",
    }


@pytest.mark.parametrize("name", ["amount", "id", "invoiceid", "outstanding", "due_date"])
def test_assigning_a_computed_field_raises(name):
    inv = Invoice.from_wire(documented_invoice())
    with pytest.raises(ReadOnlyFieldError) as info:
        setattr(inv, name, None)
    assert isinstance(info.value, AttributeError)
    assert not inv.is_dirty


def test_create_only_fields_are_settable_on_new_invoices_only():
    new = Invoice(customerid=1, create_date="2024-01-01")
    new.status = InvoiceStatus.DRAFT
    new.ownerid = 1
    saved = Invoice.from_wire(documented_invoice())
    with pytest.raises(ReadOnlyFieldError):
        saved.status = InvoiceStatus.PAID
    with pytest.raises(ReadOnlyFieldError):
        saved.v3_status = "paid"


def test_vis_state_is_changed_only_by_delete_restore_archive():
    inv = Invoice.from_wire(documented_invoice())
    with pytest.raises(ReadOnlyFieldError) as info:
        inv.vis_state = 1
    assert "delete()" in str(info.value)


@pytest.mark.parametrize("name", ["lineid", "amount", "updated"])
def test_line_computed_fields_are_read_only(name):
    line = with_lines().lines[0]
    with pytest.raises(ReadOnlyFieldError):
        setattr(line, name, None)


def test_values_are_coerced_on_assignment():
    inv = Invoice.from_wire(documented_invoice())
    inv.create_date = "2016-10-01"
    assert inv.create_date == dt.date(2016, 10, 1)
    inv.deposit_amount = {"amount": "10", "code": "USD"}
    assert inv.deposit_amount == Money("10", "USD")
    with pytest.raises(TypeError):
        inv.customerid = "not a number"
    line = with_lines().lines[0]
    line.qty = 2.5
    assert line.qty == Decimal("2.5")


def test_each_model_has_its_own_does_not_exist():
    assert issubclass(Invoice.DoesNotExist, NotFound)
    assert issubclass(InvoiceLine.DoesNotExist, NotFound)
    assert Invoice.DoesNotExist is not InvoiceLine.DoesNotExist
    assert Invoice.MultipleObjectsReturned is not InvoiceLine.MultipleObjectsReturned


# --- dirty tracking -----------------------------------------------------------------------------


def test_loaded_objects_start_clean():
    inv = with_lines()
    assert inv.dirty_fields == frozenset()
    assert not inv.is_dirty
    assert inv.lines[0].dirty_fields == frozenset()
    assert inv.to_payload() == {}


def test_setting_an_equal_value_is_not_a_change():
    inv = Invoice.from_wire(documented_invoice())
    inv.notes = ""
    inv.create_date = dt.date(2016, 9, 9)
    inv.customerid = 2185379
    assert inv.dirty_fields == frozenset()
    inv.notes = "x"
    inv.notes = ""
    assert inv.dirty_fields == frozenset()


def test_changes_make_exactly_those_fields_dirty():
    inv = Invoice.from_wire(documented_invoice())
    inv.notes = "Thanks"
    inv.po_number = "PO-7"
    assert inv.dirty_fields == {"notes", "po_number"}
    assert inv.to_payload() == {"notes": "Thanks", "po_number": "PO-7"}


def _edit_in_place(inv):
    inv.lines[0].qty = 3


def _append(inv):
    inv.lines.append(InvoiceLine(name="Fee", qty=1, unit_cost=Money("5.00", "USD")))


def _append_dict(inv):
    inv.lines.append({"name": "Fee", "qty": 1, "unit_cost": {"amount": "5", "code": "USD"}})


def _remove(inv):
    del inv.lines[1]


def _reorder(inv):
    inv.lines.reverse()


def _replace(inv):
    inv.lines = [inv.lines[1]]


def _replace_item(inv):
    inv.lines[0] = InvoiceLine(name="New", qty=1, unit_cost=Money("1.00", "USD"))


@pytest.mark.parametrize(
    "change",
    [_edit_in_place, _append, _append_dict, _remove, _reorder, _replace, _replace_item],
)
def test_any_change_inside_lines_makes_lines_dirty(change):
    inv = with_lines()
    change(inv)
    assert inv.dirty_fields == {"lines"}


def test_lines_set_back_to_their_values_are_clean():
    inv = with_lines()
    inv.lines[0].qty = 3
    inv.lines[0].qty = Decimal("4.0")
    assert inv.dirty_fields == frozenset()


def test_dirty_lines_send_the_full_set_with_writable_fields_only():
    inv = with_lines()
    inv.lines[0].qty = 3
    inv.lines.append(InvoiceLine(name="Fee", qty=1, unit_cost=Money("5", "USD")))
    payload = inv.to_payload()
    assert list(payload) == ["lines"]
    first, second, new = payload["lines"]
    assert first["lineid"] == 1 and first["qty"] == 3
    assert second["lineid"] == 2 and second["name"] == "Hedges"
    assert "lineid" not in new
    assert new == {"name": "Fee", "qty": 1, "unit_cost": {"amount": "5.00", "code": "USD"}}
    for line in (first, second):
        assert not {"amount", "updated", "taxNumber1", "taxNumber2", "invoiceid"} & set(line)
        assert "expenseid" not in line  # only for expense lines (type 1)
        assert line["taxAmount1"] == 13 and line["unit_cost"] == {"amount": "10.00", "code": "USD"}


def test_expense_lines_keep_their_expenseid():
    inv = with_lines(recorded_line(1, type=1, expenseid=1918390))
    inv.lines[0].name = "TV Ads"
    assert inv.to_payload()["lines"][0]["expenseid"] == 1918390


def test_untouched_lines_never_travel():
    inv = with_lines()
    _ = inv.lines[0].name
    inv.notes = "only this"
    assert inv.to_payload() == {"notes": "only this"}


def test_new_invoice_sends_the_fields_set_and_its_lines():
    inv = Invoice(
        customerid=338441,
        create_date="2016-04-04",
        email="test@example.com",
        lines=[InvoiceLine(type=0, name="Paperwork", qty=1, unit_cost=Money("5000.00", "USD"))],
    )
    assert inv.dirty_fields == {"customerid", "create_date", "email", "lines"}
    assert inv.to_payload() == {
        "customerid": 338441,
        "create_date": "2016-04-04",
        "email": "test@example.com",
        "lines": [
            {
                "type": 0,
                "name": "Paperwork",
                "qty": 1,
                "unit_cost": {"amount": "5000.00", "code": "USD"},
            }
        ],
    }


def test_money_keeps_extra_precision_and_pads_to_cents():
    assert Money("5", "USD").to_wire() == {"amount": "5.00", "code": "USD"}
    assert Money("5.125", "USD").to_wire() == {"amount": "5.125", "code": "USD"}
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        Money("5", "USD").amount = Decimal(1)  # type: ignore[misc]


def test_datetime_round_trips_as_eastern_wall_time():
    inv = Invoice(customerid=1, create_date="2024-01-01")
    inv.created_at = dt.datetime(2024, 7, 1, 16, 0, tzinfo=dt.timezone.utc)
    assert inv.to_payload()["created_at"] == "2024-07-01 12:00:00"


def test_repr_is_short_and_loads_nothing():
    inv = Invoice.from_wire(documented_invoice())
    text = repr(inv)
    assert text.startswith("Invoice(id=2201278, invoice_number='0000003'")
    assert "lines" not in inv.__dict__


def test_equality_and_hash_follow_the_primary_key():
    a = Invoice.from_wire(documented_invoice())
    b = Invoice.from_wire(copy.deepcopy(documented_invoice()))
    b.notes = "different"
    assert a == b and hash(a) == hash(b)
    assert Invoice(customerid=1) != Invoice(customerid=1)
