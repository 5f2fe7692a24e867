"""Query building: exact params, no I/O (a client with an unroutable base URL proves it)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from freshbooks_orm import (
    Client,
    InvalidFilterValue,
    Invoice,
    InvoiceStatus,
    UnknownFieldError,
    UnknownFilterError,
)
from freshbooks_orm.orm.query import page_window
from freshbooks_orm.resources.invoices import INVOICE_FILTERS, V3_STATUSES


def params(qs):
    return list(qs.query.list_params())


@pytest.fixture
def offline_client():
    class NoNetwork:
        def request(self, *a, **kw):  # pragma: no cover - the point is that it is never called
            raise AssertionError("query building must not send a request")

    return Client("tok", "zDmNq", base_url="https://api.example.invalid", session=NoNetwork())


# Every filter in the reference's table, with a value and the pairs it must produce.
FILTER_CASES = [
    ("invoiceid", 7, [("search[invoiceid]", "7")]),
    ("invoiceids", [1, 2], [("search[invoiceids][]", "1"), ("search[invoiceids][]", "2")]),
    ("invoice_number", "0000003", [("search[invoice_number]", "0000003")]),
    ("invoice_number_like", "00", [("search[invoice_number_like]", "00")]),
    ("notes", "late", [("search[notes]", "late")]),
    ("statusid", 2, [("search[statusid]", "2")]),
    ("statusids", [1, "paid"], [("search[statusids][]", "1"), ("search[statusids][]", "4")]),
    ("v3_status", "sent", [("search[v3_status]", "sent")]),
    ("currency_code", "CAD", [("search[currency_code]", "CAD")]),
    ("currency", "CAD", [("search[currency]", "CAD")]),
    ("date_min", dt.date(2024, 1, 2), [("search[date_min]", "2024-01-02")]),
    ("date_max", "2024-03-05T10:00:00", [("search[date_max]", "2024-03-05")]),
    ("total_min", Decimal("10.5"), [("search[total_min]", "10.5")]),
    ("total_max", 100, [("search[total_max]", "100")]),
    ("po_number", "PO-1", [("search[po_number]", "PO-1")]),
    ("customerid", 42, [("search[customerid]", "42")]),
    ("customerids", (1, 2), [("search[customerids][]", "1"), ("search[customerids][]", "2")]),
    ("parentid", 3, [("search[parentid]", "3")]),
    ("paid", True, [("search[paid]", "true")]),
    ("outstanding", False, [("search[outstanding]", "false")]),
    ("updated_min", dt.datetime(2024, 1, 2, 23, 59), [("search[updated_min]", "2024-01-02")]),
    ("updated_max", "2024-02-01", [("search[updated_max]", "2024-02-01")]),
    ("item_name", "Yard", [("search[item_name]", "Yard"), ("include[]", "lines")]),
    (
        "item_description",
        "work",
        [("search[item_description]", "work"), ("include[]", "lines")],
    ),
    ("projectid", 9, [("search[projectid]", "9")]),
    ("outstanding_min", "0.01", [("search[outstanding_min]", "0.01")]),
    ("vis_state", 1, [("search[vis_state]", "1")]),
]


def test_every_documented_filter_has_a_case():
    assert {name for name, _, _ in FILTER_CASES} == set(INVOICE_FILTERS)


@pytest.mark.parametrize(("name", "value", "expected"), FILTER_CASES)
def test_documented_filters_compile_to_exact_pairs(name, value, expected):
    assert params(Invoice.objects.filter(**{name: value})) == expected


@pytest.mark.parametrize(
    ("lookup", "value", "expected"),
    [
        ("create_date__gte", "2024-01-01", [("search[date_min]", "2024-01-01")]),
        ("create_date__lt", dt.date(2024, 2, 1), [("search[date_max]", "2024-02-01")]),
        ("updated__gte", "2024-01-01", [("search[updated_min]", "2024-01-01")]),
        ("updated__lt", "2024-01-09", [("search[updated_max]", "2024-01-09")]),
        ("amount__gte", 10, [("search[total_min]", "10")]),
        ("amount__lt", "99.99", [("search[total_max]", "99.99")]),
        (
            "customerid__in",
            [5, 6],
            [("search[customerids][]", "5"), ("search[customerids][]", "6")],
        ),
        ("id__in", [8], [("search[invoiceids][]", "8")]),
        ("id", 8, [("search[invoiceid]", "8")]),
        ("status__in", [InvoiceStatus.SENT], [("search[statusids][]", "2")]),
        ("invoice_number__contains", "12", [("search[invoice_number_like]", "12")]),
        ("notes__contains", "x", [("search[notes]", "x")]),
        ("po_number__contains", "PO", [("search[po_number]", "PO")]),
    ],
)
def test_django_lookups_map_onto_api_filters(lookup, value, expected):
    assert params(Invoice.objects.filter(**{lookup: value})) == expected


def test_unknown_filter_is_refused_with_the_closest_name(offline_client):
    with pytest.raises(UnknownFilterError) as info:
        Invoice.objects.using(offline_client).filter(v3status="sent")
    assert isinstance(info.value, TypeError)
    message = str(info.value)
    assert "'v3_status'" in message and "return every invoice" in message
    assert "date_min" in message  # the valid names are listed


@pytest.mark.parametrize("name", ["status_id", "create_date_min", "statuses", "statusid__in"])
def test_names_the_live_api_silently_ignores_are_refused(name):
    with pytest.raises(UnknownFilterError):
        Invoice.objects.filter(**{name: 1})


def test_a_field_without_an_api_filter_is_filtered_locally_never_sent():
    qs = Invoice.objects.filter(payment_status="paid")
    assert params(qs) == []  # search[payment_status] is ignored by the live API: never sent
    assert qs.query.filters == () and qs.explain().local == "payment_status__exact='paid'"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("v3_status", "snet"),
        ("date_min", "not a date"),
        ("date_max", 20240101),
        ("customerids", "1,2"),
        ("customerid", "abc"),
        ("paid", "yes"),
        ("statusid", "nonsense"),
        ("total_min", "ten"),
        ("invoice_number_like", ""),
    ],
)
def test_bad_values_raise_invalid_filter_value(name, value):
    with pytest.raises(InvalidFilterValue) as info:
        Invoice.objects.filter(**{name: value})
    assert isinstance(info.value, ValueError)
    assert name in str(info.value)


def test_v3_status_error_names_the_valid_choices():
    with pytest.raises(InvalidFilterValue) as info:
        Invoice.objects.filter(v3_status="snet")
    for status in V3_STATUSES:
        assert status in str(info.value)


def test_two_values_for_one_filter_merge_into_the_tightest():
    qs = Invoice.objects.filter(date_min="2024-01-01")
    assert params(qs.filter(create_date__gte="2024-02-01")) == [("search[date_min]", "2024-02-01")]
    assert params(qs.filter(date_min=dt.date(2024, 1, 1))) == [("search[date_min]", "2024-01-01")]


def test_chaining_returns_new_querysets_and_leaves_the_original_alone():
    base = Invoice.objects.filter(v3_status="sent")
    narrowed = base.filter(customerid=1).include("lines").order_by("-create_date")
    assert params(base) == [("search[v3_status]", "sent")]
    assert params(narrowed) == [
        ("search[v3_status]", "sent"),
        ("search[customerid]", "1"),
        ("include[]", "lines"),
        ("sort", "invoice_date_desc"),
    ]


def test_include_is_validated_against_the_documented_includes():
    with pytest.raises(InvalidFilterValue) as info:
        Invoice.objects.include("line")
    assert "'lines'" in str(info.value)
    qs = Invoice.objects.include("lines", "owner", "lines")
    assert params(qs) == [("include[]", "lines"), ("include[]", "owner")]


def test_order_by_create_date_is_sorted_by_the_server_others_locally():
    assert params(Invoice.objects.order_by("create_date")) == [("sort", "invoice_date_asc")]
    assert params(Invoice.objects.order_by("amount")) == []
    assert Invoice.objects.order_by("amount").explain().ordering.endswith("every matching row")
    with pytest.raises(UnknownFieldError) as info:
        Invoice.objects.order_by("amont")
    assert "'amount'" in str(info.value)


def test_url_shows_the_exact_first_request_without_io(offline_client):
    qs = Invoice.objects.using(offline_client).filter(customerids=[1, 2], v3_status="paid")
    assert qs.url == (
        "https://api.example.invalid/accounting/account/zDmNq/invoices/invoices"
        "?search%5Bcustomerids%5D%5B%5D=1&search%5Bcustomerids%5D%5B%5D=2"
        "&search%5Bv3_status%5D=paid&page=1&per_page=100"
    )
    # rows 0..44 in one request: a window's position is verified with the rows before it
    assert qs[30:45].url.endswith("page=1&per_page=45")
    assert qs[130:145].url.endswith("page=2&per_page=100")
    assert Invoice.objects.using(offline_client)[30:45].url.endswith("page=3&per_page=15")


def test_empty_in_list_matches_nothing_without_a_request(offline_client):
    qs = Invoice.objects.using(offline_client).filter(id__in=[])
    assert list(qs) == []
    assert qs.count() == 0
    assert not qs.exists()


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 1, (1, 1)),
        (5, 6, (6, 1)),
        (0, 100, (1, 100)),
        (30, 45, (3, 15)),
        (10, 20, (2, 10)),
        (95, 105, (7, 15)),
        (150, 250, None),  # 100 rows straddling every page size: two requests
        (0, 101, None),
    ],
)
def test_page_window_finds_one_page_when_one_fits(low, high, expected):
    window = page_window(low, high, 100)
    assert window == expected
    if window:
        page, per_page = window
        start = (page - 1) * per_page
        assert start <= low and high <= start + per_page


def test_slicing_a_queryset_then_filtering_is_refused():
    with pytest.raises(TypeError):
        Invoice.objects.all()[0:5].filter(v3_status="sent")


def test_negative_indexes_are_refused():
    with pytest.raises(ValueError):
        Invoice.objects.all()[-1]
    with pytest.raises(ValueError):
        Invoice.objects.all()[-5:]
