"""Strict input: every value the API cannot take is refused before any request, by a typed error
that names the field or filter, the value and what would be accepted. No I/O."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs
import pytest

from freshbooks_orm import (
    InvalidFieldValue,
    InvalidFilterValue,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Money,
    ReadOnlyFieldError,
    UnknownFieldError,
)
from freshbooks_orm.cli import main
from freshbooks_orm.errors import UsageError
from freshbooks_orm.orm.model import Model, resource, writable
from freshbooks_orm.orm.types import EASTERN, STR, to_date, to_datetime

REDUCED_DATES = ["2024", "2024-03", "20240301", "March 2024", "5", "2024-W09", "2024-061", "", " "]
ARABIC_DIGITS = "".join(chr(0x660 + int(c)) if c.isdigit() else c for c in "2024-01-01")
MALFORMED_DATES = [*REDUCED_DATES, "2024-3-1", "tomorrow", "2024-03-01 at noon", ARABIC_DIGITS]
IMPOSSIBLE_DATES = ["2024-02-30", "2023-02-29", "2024-13-01", "2024-03-01T25:00"]
BAD_DATES = [*MALFORMED_DATES, *IMPOSSIBLE_DATES]
NOT_FINITE = ["NaN", "nan", "sNaN", "-sNaN", "Infinity", "-Infinity", "inf", "-inf", "1e999999999"]
NOT_FINITE_OBJECTS = [float("nan"), float("inf"), -float("inf"), Decimal("NaN"), Decimal("-Inf")]
HUGE_INT = 10**5000
HUGE = pytest.param(HUGE_INT, id="10**5000")
OUT_OF_RANGE = ["1e30", "-1e13", 10**13, HUGE, Decimal("1e-999999"), "0.00000000001"]


def params(qs):
    return list(qs.query.filter_params)


# --- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", BAD_DATES)
@pytest.mark.parametrize("name", ["date_min", "date_max", "updated_min", "create_date__gte"])
def test_date_filters_refuse_reduced_and_impossible_dates(name, text):
    with pytest.raises(InvalidFilterValue) as info:
        Invoice.objects.filter(**{name: text})
    message = str(info.value)
    assert name in message and repr(text) in message
    if text in MALFORMED_DATES:
        assert "YYYY-MM-DD" in message  # names the accepted forms
    else:
        assert "range" in message or "must be" in message  # says what is impossible about it


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("2024-03-01", "2024-03-01"),
        (" 2024-03-01 ", "2024-03-01"),
        ("2024-03-01T10:00", "2024-03-01"),
        ("2024-03-01 10:00:00", "2024-03-01"),
        ("2024-03-01T10:00:00.123456", "2024-03-01"),
        ("2024-03-01T02:00:00Z", "2024-02-29"),  # an instant: converted to US/Eastern first
        ("2024-03-01T02:00:00+00:00", "2024-02-29"),
        ("2024-03-01T23:00:00-05:00", "2024-03-01"),
        (dt.date(2024, 3, 1), "2024-03-01"),
        (dt.datetime(2024, 3, 1, 23, 59), "2024-03-01"),
        (dt.datetime(2024, 3, 1, 2, tzinfo=dt.timezone.utc), "2024-02-29"),
    ],
)
def test_date_filters_accept_full_iso_dates(value, sent):
    assert params(Invoice.objects.filter(date_min=value)) == [("search[date_min]", sent)]


@pytest.mark.parametrize("text", BAD_DATES)
def test_date_fields_refuse_reduced_dates_naming_field_and_forms(text):
    inv = Invoice()
    with pytest.raises(InvalidFieldValue) as info:
        inv.create_date = text
    assert isinstance(info.value, ValueError) and isinstance(info.value, UsageError)
    message = str(info.value)
    assert "Invoice.create_date" in message
    assert "YYYY-MM-DD" in message if text in MALFORMED_DATES else "not a valid date" in message
    assert inv.create_date is None  # nothing half-assigned
    with pytest.raises(InvalidFieldValue, match=r"Invoice.create_date"):
        Invoice(create_date=text)


@pytest.mark.parametrize("text", REDUCED_DATES)
def test_datetime_fields_refuse_reduced_dates(text):
    with pytest.raises(InvalidFieldValue, match=r"Invoice.updated"):
        Invoice(updated=text)


def test_datetime_fields_convert_offsets_and_read_naive_as_eastern():
    inv = Invoice(updated="2024-01-01T10:00:00Z")
    assert inv.updated == dt.datetime(2024, 1, 1, 10, tzinfo=dt.timezone.utc)
    assert Invoice.from_wire({"updated": "2024-01-01T10:00:00Z"}).updated == dt.datetime(
        2024, 1, 1, 5, tzinfo=EASTERN
    )
    assert Invoice(updated="2024-01-01 10:00:00").updated == dt.datetime(
        2024, 1, 1, 10, tzinfo=EASTERN
    )
    assert to_datetime("2024-01-01").tzinfo is EASTERN
    assert to_date(dt.datetime(2024, 1, 1, 3, tzinfo=dt.timezone.utc)) == dt.date(2023, 12, 31)


def test_cli_filter_refuses_a_bare_year(capsys):
    assert main(["invoices", "list", "--filter", "date_min=2024"]) == 2
    err = capsys.readouterr().err
    assert "date_min" in err and "YYYY-MM-DD" in err and err.count("\n") == 1


# --- numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [*NOT_FINITE, *NOT_FINITE_OBJECTS, *OUT_OF_RANGE])
def test_decimal_filters_refuse_non_finite_and_out_of_range(value):
    with pytest.raises(InvalidFilterValue, match="total_min"):
        Invoice.objects.filter(total_min=value)


@pytest.mark.parametrize("value", [*NOT_FINITE, *NOT_FINITE_OBJECTS, *OUT_OF_RANGE])
@pytest.mark.parametrize(
    ("model", "name"),
    [(InvoiceLine, "qty"), (InvoiceLine, "taxAmount1"), (Invoice, "discount_value")],
)
def test_decimal_fields_refuse_non_finite_and_out_of_range(model, name, value):
    obj = model()
    with pytest.raises(InvalidFieldValue) as info:
        setattr(obj, name, value)
    assert f"{model.__name__}.{name}" in str(info.value)
    assert getattr(obj, name) is None


@pytest.mark.parametrize("value", [*NOT_FINITE, *NOT_FINITE_OBJECTS, *OUT_OF_RANGE])
def test_money_amounts_are_finite_and_storable(value):
    with pytest.raises(ValueError):
        Money(value, "USD")
    line = InvoiceLine()
    with pytest.raises(InvalidFieldValue, match=r"InvoiceLine.unit_cost"):
        line.unit_cost = {"amount": value, "code": "USD"}


def test_large_but_storable_money_goes_to_the_wire():
    assert Money("9999999999999.99", "USD").to_wire() == {
        "amount": "9999999999999.99",
        "code": "USD",
    }
    assert Money(Decimal("0.1") + Decimal("0.2"), "USD").to_wire()["amount"] == "0.30"


@pytest.mark.parametrize("value", [HUGE, "9" * 5000, 2**63, "1e3", 1.5, "1.0", True, None])
def test_id_filters_refuse_what_is_not_a_storable_integer(value):
    if value is None:  # Django's meaning: ``invoiceid=None`` is ``invoiceid__isnull=True``
        assert Invoice.objects.filter(invoiceid=value).query.filters == ()
    else:
        with pytest.raises(InvalidFilterValue, match="invoiceid"):
            Invoice.objects.filter(invoiceid=value)
    with pytest.raises(InvalidFilterValue, match="customerids"):
        Invoice.objects.filter(customerids=[1, value])


@pytest.mark.parametrize("value", [10**9, -1, HUGE, "1e9"])
def test_due_offset_days_is_bounded(value):
    with pytest.raises(InvalidFieldValue, match=r"Invoice.due_offset_days"):
        Invoice(due_offset_days=value)
    assert Invoice(due_offset_days=30).due_offset_days == 30


@pytest.mark.parametrize("value", [float("inf"), float("nan"), Decimal("1.5"), True, HUGE])
def test_enum_fields_and_filters_refuse_non_integers(value):
    with pytest.raises(InvalidFieldValue, match=r"Invoice.status"):
        Invoice(status=value)
    with pytest.raises(InvalidFilterValue, match="status"):
        Invoice.objects.filter(status=value)
    assert Invoice(status="draft").status is InvoiceStatus.DRAFT


def test_cli_set_refuses_nan_before_any_request(capsys):
    argv = ["invoices", "update", "--filter", "v3_status=draft", "--set", "discount_value=NaN"]
    assert main(argv) == 2  # no credentials were needed: refused before a client exists
    err = capsys.readouterr().err
    assert "discount_value" in err and "finite" in err and err.count("\n") == 1
    assert err.count("bad value for") == 1  # named once, not wrapped twice


# --- currency codes -------------------------------------------------------------------------------


def test_currency_codes_are_three_letters_upper_cased():
    assert Money("1", "usd").code == "USD"
    assert Invoice(currency_code=" eur ").currency_code == "EUR"
    assert params(Invoice.objects.filter(currency_code="cad")) == [("search[currency_code]", "CAD")]
    for bad in ["US", "USDD", "US Dollar", "U$D", "", "ÜSD", 840]:
        with pytest.raises((ValueError, TypeError)):
            Money("1", bad)
        with pytest.raises(InvalidFieldValue, match=r"Invoice.currency_code"):
            Invoice(currency_code=bad)
        with pytest.raises(InvalidFilterValue, match="currency_code"):
            Invoice.objects.filter(currency_code=bad)


# --- models refuse what they cannot send ---------------------------------------------------------


def test_assigning_a_name_that_is_not_a_field_raises_with_the_closest_field():
    inv = Invoice.from_wire({"id": 1, "po_number": "PO-1"})
    with pytest.raises(AttributeError) as info:
        inv.po_numbr = "PO-X"
    assert isinstance(info.value, UnknownFieldError)
    assert "Did you mean 'po_number'?" in str(info.value)
    assert not inv.is_dirty and "po_numbr" not in vars(inv)
    with pytest.raises(UnknownFieldError, match="qty"):
        InvoiceLine().qtty = 1


def test_private_and_declared_attributes_still_work():
    @resource()
    class Thing(Model):
        label: str | None = writable(STR)
        note = "class default"  # a plain class attribute: instances may override it

        @property
        def shout(self) -> str:
            return (self.label or "").upper()

        @shout.setter
        def shout(self, value: str) -> None:
            self.label = value.lower()

    thing = Thing()
    thing._cache = {"anything": 1}
    thing.note = "mine"
    thing.shout = "HELLO"
    assert (thing._cache, thing.note, thing.label) == ({"anything": 1}, "mine", "hello")
    inv = Invoice()
    inv._scratch = 1
    assert inv._scratch == 1


@pytest.mark.parametrize("name", ["amount", "id", "outstanding", "vis_state"])
def test_constructor_and_create_refuse_read_only_fields(name):
    with pytest.raises(ReadOnlyFieldError, match=f"Invoice.{name}"):
        Invoice(**{name: 1})
    with pytest.raises(ReadOnlyFieldError, match=f"Invoice.{name}"):
        Invoice.objects.create(customerid=1, **{name: 1})  # raises before any client is needed
    with pytest.raises(ReadOnlyFieldError):
        InvoiceLine(lineid=3)


def test_constructor_refuses_unknown_names_with_the_closest_field():
    with pytest.raises(UnknownFieldError, match="Did you mean 'po_number'"):
        Invoice(po_numbr="x")
    with pytest.raises(TypeError):  # still the built-in a caller of a constructor expects
        Invoice(po_numbr="x")


def line_dicts():
    return [{"name": "a", "qty": 1}, {"name": "b", "qty": 2}, {"name": "c", "qty": "NaN"}]


@pytest.mark.parametrize(
    "change",
    [
        lambda lines: lines.extend(line_dicts()),
        lambda lines: lines.__iadd__(line_dicts()),
        lambda lines: lines.__setitem__(slice(0, 1), line_dicts()),
        lambda lines: lines.extend([InvoiceLine(name="ok"), "not a line"]),
        lambda lines: lines.extend([{"name": "ok"}, {"amount": {"amount": "1", "code": "USD"}}]),
        lambda lines: lines.append(None),
    ],
)
def test_line_list_changes_are_all_or_nothing(change):
    inv = Invoice.from_wire({"id": 1, "lines": [{"lineid": 7, "name": "kept", "qty": "1"}]})
    before = list(inv.lines)
    with pytest.raises((InvalidFieldValue, ReadOnlyFieldError)):
        change(inv.lines)
    assert list(inv.lines) == before and not inv.is_dirty


def test_line_list_augmented_assignment_on_the_attribute():
    inv = Invoice.from_wire({"id": 1, "lines": []})
    with pytest.raises(InvalidFieldValue, match=r"InvoiceLine.qty"):
        inv.lines += line_dicts()
    assert inv.lines == []
    inv.lines += line_dicts()[:2]
    assert [line.name for line in inv.lines] == ["a", "b"]


def test_error_classes_are_the_builtins_callers_catch():
    assert issubclass(InvalidFieldValue, ValueError) and issubclass(InvalidFieldValue, TypeError)
    assert issubclass(UnknownFieldError, TypeError)
    assert issubclass(UnknownFieldError, AttributeError)
    assert attrs.has(Invoice)


# --- the command line's exit codes --------------------------------------------------------------


def test_cli_bad_primary_key_and_unknown_run_are_usage_errors(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("FRESHBOOKS_ORM_JOURNAL", str(tmp_path / "journal.sqlite3"))
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", "a-token-that-is-never-used")
    monkeypatch.setenv("FRESHBOOKS_ACCOUNT_ID", "zDmNq")
    assert main(["invoices", "show", "abc"]) == 2
    assert "positive integer" in capsys.readouterr().err
    assert main(["runs", "show", "nosuchrun"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nosuchrun" in err


@pytest.mark.parametrize("exc", [TypeError("boom"), KeyError("k"), AttributeError("a\nb")])
def test_cli_unexpected_exception_is_one_line_pointing_to_debug(exc, capsys, monkeypatch):
    from freshbooks_orm import cli

    def broken(ctx):
        raise exc

    monkeypatch.setitem(cli.COMMANDS, ("runs", "list"), broken)
    assert main(["runs", "list"]) == cli.EXIT_INTERNAL == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--debug" in err and type(exc).__name__ in err
    assert main(["runs", "list", "--debug"]) == 70
    assert "Traceback" in capsys.readouterr().err


def test_cli_help_documents_exit_codes(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "exit codes" in out and "70" in out and "130" in out
