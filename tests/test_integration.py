"""The ORM against the embedded sandbox over a real loopback socket: results and request counts."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from freshbooks_orm import (
    ConfigurationError,
    Invoice,
    InvoiceLine,
    Money,
    NotFound,
    ValidationError,
    VisState,
    configure,
)
from freshbooks_orm.http.transport import RetryPolicy
from freshbooks_orm.sandbox import Sandbox


@pytest.fixture(scope="module")
def big():
    """A read-only sandbox shared by the tests that only query."""
    with Sandbox(invoices=250, seed=7) as sb:
        yield sb


@pytest.fixture
def sb():
    with Sandbox(invoices=40, seed=3) as sandbox:
        yield sandbox


def client_of(sandbox):
    return sandbox.client(retry=RetryPolicy(backoff=0.001, max_retry_after=0.01))


def gets(sandbox):
    return [r for r in sandbox.requests if r.method == "GET"]


def writes(sandbox):
    return [r for r in sandbox.requests if r.method in ("PUT", "POST", "DELETE")]


def query(r) -> dict:
    return dict(r.query)


def visible_ids(sandbox):
    return {i for i, inv in sandbox.invoices.items() if inv["vis_state"] != 1}


# --- reading ------------------------------------------------------------------------------------


def test_iteration_pages_at_100_with_the_fewest_requests(big):
    big.requests.clear()
    invoices = list(Invoice.objects.using(client_of(big)).all())
    expected = visible_ids(big)
    assert {i.id for i in invoices} == expected
    assert len(invoices) == len(expected)  # no row twice
    requests = gets(big)
    assert len(requests) == math.ceil(len(expected) / 100)
    assert [query(r)["page"] for r in requests] == [str(n) for n in range(1, len(requests) + 1)]
    assert all(query(r)["per_page"] == "100" for r in requests)


def test_count_exists_first_are_one_request_each(big):
    qs = Invoice.objects.using(client_of(big)).filter(v3_status="paid")
    expected = {i for i, inv in big.invoices.items() if inv["v3_status"] == "paid"} & visible_ids(
        big
    )
    # count() reads a full page (one request) so that its rows are verified before ``total``
    for call, check, per_page in [
        (qs.count, lambda v: v == len(expected), "100"),
        (qs.exists, lambda v: v is True, "1"),
        (qs.first, lambda v: v.id in expected, "1"),
    ]:
        big.requests.clear()
        assert check(call())
        assert len(big.requests) == 1
        assert query(big.requests[0])["per_page"] == per_page


def test_evaluated_queryset_answers_from_its_cache(big):
    qs = Invoice.objects.using(client_of(big)).filter(currency_code="USD")
    rows = list(qs)
    big.requests.clear()
    assert len(qs) == qs.count() == len(rows)
    assert qs.exists() == bool(rows)
    assert qs[0] is rows[0] and qs.first() is rows[0]
    assert big.requests == []


def test_slice_that_fits_one_page_is_one_request(big):
    client = client_of(big)
    everything = [i.id for i in Invoice.objects.using(client).all()]
    big.requests.clear()
    window = list(Invoice.objects.using(client).all()[30:45])
    assert [i.id for i in window] == everything[30:45]
    assert len(big.requests) == 1
    assert query(big.requests[0])["page"] == "3" and query(big.requests[0])["per_page"] == "15"


def test_slice_across_pages_uses_pages_of_100(big):
    client = client_of(big)
    everything = [i.id for i in Invoice.objects.using(client).all()]
    big.requests.clear()
    window = Invoice.objects.using(client).all()[150:230]
    assert [i.id for i in window] == everything[150:230]
    assert len(big.requests) == 2
    assert window.count() == 80


def test_index_is_one_request(big):
    client = client_of(big)
    everything = [i.id for i in Invoice.objects.using(client).all()]
    big.requests.clear()
    assert Invoice.objects.using(client).all()[57].id == everything[57]
    assert len(big.requests) == 1
    with pytest.raises(IndexError):
        Invoice.objects.using(client).all()[10_000]


def test_iterator_streams_without_caching(big):
    qs = Invoice.objects.using(client_of(big)).all()
    big.requests.clear()
    ids = [i.id for i in qs.iterator()]
    assert set(ids) == visible_ids(big)
    assert qs._cache is None
    assert len(big.requests) == math.ceil(len(ids) / 100)


def test_iterator_prefetch_keeps_order(big):
    client = client_of(big)
    plain = [i.id for i in Invoice.objects.using(client).order_by("create_date").iterator()]
    prefetched = [
        i.id for i in Invoice.objects.using(client).order_by("create_date").iterator(prefetch=3)
    ]
    assert prefetched == plain


def test_get_by_pk_is_one_get_of_the_resource(big):
    client = client_of(big)
    some_id = min(visible_ids(big))
    big.requests.clear()
    inv = Invoice.objects.using(client).get(some_id)
    assert inv.id == some_id
    assert [r.path for r in big.requests] == [
        f"/accounting/account/{big.account_id}/invoices/invoices/{some_id}"
    ]


def test_get_unknown_pk_raises_does_not_exist_with_the_server_details(big):
    with pytest.raises(Invoice.DoesNotExist) as info:
        Invoice.objects.using(client_of(big)).get(999_999_999)
    error = info.value
    assert isinstance(error, NotFound)
    assert error.status_code == 404 and error.errno == 1012


def test_get_by_filters(big):
    client = client_of(big)
    target = big.invoices[min(visible_ids(big))]
    inv = Invoice.objects.using(client).get(invoice_number=target["invoice_number"])
    assert inv.id == target["id"]
    with pytest.raises(Invoice.MultipleObjectsReturned):
        Invoice.objects.using(client).get(currency_code="USD")
    with pytest.raises(Invoice.DoesNotExist):
        Invoice.objects.using(client).get(invoice_number="no-such-number")


def test_filters_select_what_the_server_holds(big):
    client = client_of(big)
    rows = Invoice.objects.using(client).filter(
        v3_status="sent", create_date__gte="2023-01-01", amount__gte=100
    )
    expected = {
        i
        for i, inv in big.invoices.items()
        if inv["v3_status"] == "sent"
        and inv["create_date"] >= "2023-01-01"
        and Decimal(inv["amount"]["amount"]) >= 100
        and inv["vis_state"] != 1
    }
    assert expected, "the seed should hold some such invoices"
    assert {i.id for i in rows} == expected


def test_deleted_invoices_only_when_asked(big):
    client = client_of(big)
    deleted = {i for i, inv in big.invoices.items() if inv["vis_state"] == 1}
    assert deleted, "the seed holds deleted invoices"
    assert not deleted & {i.id for i in Invoice.objects.using(client).all()}
    asked = Invoice.objects.using(client).filter(vis_state=VisState.DELETED)
    assert {i.id for i in asked} == deleted


def test_order_by_create_date(big):
    client = client_of(big)
    asc = [i.create_date for i in Invoice.objects.using(client).order_by("create_date")]
    desc = [i.create_date for i in Invoice.objects.using(client).order_by("-create_date")]
    assert asc == sorted(asc) and desc == sorted(desc, reverse=True)


def test_include_lines_brings_lines_without_extra_requests(big):
    client = client_of(big)
    big.requests.clear()
    rows = list(Invoice.objects.using(client).include("lines")[:20])
    assert all(len(inv.lines) >= 1 for inv in rows)
    assert len(big.requests) == 1
    assert ("include[]", "lines") in big.requests[0].query


def test_lines_load_on_first_access_with_one_get(big):
    client = client_of(big)
    inv = Invoice.objects.using(client).first()
    assert "lines" not in inv.__dict__["_raw"]  # the list came without lines
    big.requests.clear()
    lines = inv.lines
    assert [line.lineid for line in lines] == [
        line["lineid"] for line in big.invoices[inv.id]["lines"]
    ]
    assert len(big.requests) == 1 and ("include[]", "lines") in big.requests[0].query
    _ = inv.lines
    assert len(big.requests) == 1


# --- writing ------------------------------------------------------------------------------------


def editable(sandbox, client):
    """An active invoice with at least two lines."""
    for inv in Invoice.objects.using(client).include("lines").filter(vis_state=0):
        if len(inv.lines) >= 2:
            return inv
    raise AssertionError("the seed should hold an invoice with two lines")


def test_clean_save_sends_nothing(sb):
    client = client_of(sb)
    inv = editable(sb, client)
    sb.requests.clear()
    inv.save()
    inv.notes = inv.notes
    inv.save()
    assert sb.requests == []


def test_field_change_puts_only_that_field(sb):
    client = client_of(sb)
    inv = editable(sb, client)
    before = sb.invoices[inv.id]
    sb.requests.clear()
    inv.po_number = "PO-42"
    inv.save()
    assert [(r.method, r.json) for r in sb.requests] == [
        ("PUT", {"invoice": {"po_number": "PO-42"}})
    ]
    after = sb.invoices[inv.id]
    assert after["po_number"] == "PO-42"
    assert after["lines"] == before["lines"]  # untouched lines stay as they were
    assert not inv.is_dirty
    assert inv.updated is not None and inv.updated.tzinfo is not None


def test_line_edit_sends_the_full_set_of_lines(sb):
    client = client_of(sb)
    inv = editable(sb, client)
    original = sb.invoices[inv.id]["lines"]
    sb.requests.clear()
    inv.lines[0].qty = Decimal("3")
    inv.save()
    (put,) = writes(sb)
    assert list(put.json["invoice"]) == ["lines"]
    sent = put.json["invoice"]["lines"]
    assert [line["lineid"] for line in sent] == [line["lineid"] for line in original]
    for line in sent:
        assert not {"amount", "updated", "taxNumber1", "taxNumber2"} & set(line)
    stored = sb.invoices[inv.id]["lines"]
    assert [line["lineid"] for line in stored] == [line["lineid"] for line in original]
    assert Decimal(stored[0]["qty"]) == 3
    for kept, old in zip(stored[1:], original[1:], strict=True):
        assert (kept["name"], kept["qty"], kept["unit_cost"]) == (
            old["name"],
            old["qty"],
            old["unit_cost"],
        )
    assert not inv.is_dirty
    assert inv.lines[0].qty == 3  # read back from the server's answer or a reload
    unit = Decimal(original[0]["unit_cost"]["amount"])
    assert inv.lines[0].amount.amount == (unit * 3).quantize(Decimal("0.01"))


def test_line_edit_on_an_invoice_loaded_without_lines_still_sends_them_all(sb):
    client = client_of(sb)
    target = editable(sb, client)
    inv = Invoice.objects.using(client).get(target.id)  # no include: no lines key
    count = len(sb.invoices[inv.id]["lines"])
    sb.requests.clear()
    inv.lines[-1].name = "Renamed"
    inv.save()
    put = writes(sb)[0]
    assert len(put.json["invoice"]["lines"]) == count
    assert len(sb.invoices[inv.id]["lines"]) == count


def test_appended_line_is_created_and_others_kept(sb):
    client = client_of(sb)
    inv = editable(sb, client)
    before = [line["lineid"] for line in sb.invoices[inv.id]["lines"]]
    currency = inv.currency_code
    inv.lines.append(InvoiceLine(name="Late fee", qty=1, unit_cost=Money("25.00", currency)))
    inv.save()
    stored = sb.invoices[inv.id]["lines"]
    assert [line["lineid"] for line in stored[:-1]] == before
    assert stored[-1]["name"] == "Late fee" and stored[-1]["lineid"] not in before
    assert [line.name for line in inv.lines][-1] == "Late fee"


def test_removed_line_is_removed(sb):
    client = client_of(sb)
    inv = editable(sb, client)
    kept = [line.lineid for line in inv.lines[1:]]
    del inv.lines[0]
    inv.save()
    assert [line["lineid"] for line in sb.invoices[inv.id]["lines"]] == kept


def test_delete_sends_vis_state_alone_and_hides_the_invoice(sb):
    client = client_of(sb)
    inv = editable(sb, client)
    inv.notes = "unsaved"
    sb.requests.clear()
    inv.delete()
    assert [(r.method, r.json) for r in writes(sb)] == [("PUT", {"invoice": {"vis_state": 1}})]
    assert sb.invoices[inv.id]["vis_state"] == 1
    assert sb.invoices[inv.id]["notes"] != "unsaved"
    assert inv.vis_state is VisState.DELETED and inv.dirty_fields == {"notes"}
    assert inv.id not in {i.id for i in Invoice.objects.using(client).all()}
    inv.restore()
    assert sb.invoices[inv.id]["vis_state"] == 0
    inv.save()  # the notes go now, in their own PUT
    assert writes(sb)[-1].json == {"invoice": {"notes": "unsaved"}}


def test_archive_keeps_the_invoice_in_default_lists(sb):
    client = client_of(sb)
    inv = editable(sb, client)
    inv.archive()
    assert sb.invoices[inv.id]["vis_state"] == 2
    assert inv.id in {i.id for i in Invoice.objects.using(client).all()}


def test_create_posts_fields_and_lines_and_takes_the_server_answer(sb):
    client = client_of(sb)
    customer = next(iter(sb.invoices.values()))["customerid"]
    sb.requests.clear()
    inv = Invoice.objects.using(client).create(
        customerid=customer,
        create_date="2024-05-01",
        currency_code="USD",
        lines=[
            InvoiceLine(name="Design", qty=2, unit_cost=Money("150.00", "USD")),
            {"name": "Hosting", "qty": 1, "unit_cost": {"amount": "20", "code": "USD"}},
        ],
    )
    (post,) = writes(sb)
    assert post.method == "POST"
    assert post.json["invoice"]["lines"][1] == {
        "name": "Hosting",
        "qty": 1,
        "unit_cost": {"amount": "20.00", "code": "USD"},
    }
    assert inv.id in sb.invoices and inv.v3_status == "draft"
    assert inv.amount == Money("320.00", "USD")
    assert not inv.is_dirty
    assert [line.name for line in inv.lines] == ["Design", "Hosting"]


def test_create_without_required_fields_is_refused_and_stays_unsaved(sb):
    client = client_of(sb)
    inv = Invoice(create_date="2024-05-01")
    with pytest.raises(ValidationError) as info:
        inv.save(using=client)
    assert info.value.status_code == 422 and info.value.field == "customerid"
    assert info.value.errno == 1001
    assert inv.pk is None and inv.dirty_fields == {"create_date"}


def test_failed_save_leaves_the_object_dirty_and_unchanged(sb):
    client = client_of(sb)
    inv = editable(sb, client)
    inv.po_number = "NEW"
    sb.fail_next(422, method="PUT")
    with pytest.raises(ValidationError):
        inv.save()
    assert inv.po_number == "NEW" and inv.dirty_fields == {"po_number"}
    inv.save()
    assert sb.invoices[inv.id]["po_number"] == "NEW"


def test_a_2xx_without_result_is_followed_by_a_get(sb):
    client = client_of(sb)
    inv = editable(sb, client)
    inv.terms = "Net 30"
    sb.fail_next(200, body={"response": {}}, method="PUT")
    sb.requests.clear()
    inv.save()
    assert [r.method for r in sb.requests] == ["PUT", "GET"]
    assert not inv.is_dirty


def test_objects_remember_the_client_they_came_from(sb):
    client = client_of(sb)
    inv = editable(sb, client)
    configure(None)
    inv.po_number = "REMEMBERED"
    inv.save()  # no default client configured: the loading client is used
    assert sb.invoices[inv.id]["po_number"] == "REMEMBERED"


def test_configure_sets_the_default_client(sb):
    configure(client_of(sb))
    try:
        assert Invoice.objects.count() == len(visible_ids(sb))
    finally:
        configure(None)


def test_missing_configuration_fails_at_first_use_naming_the_variables(monkeypatch):
    for name in ("FRESHBOOKS_ACCESS_TOKEN", "FRESHBOOKS_ACCOUNT_ID", "FRESHBOOKS_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    configure(None)
    qs = Invoice.objects.filter(v3_status="sent")  # building a query needs no credentials
    with pytest.raises(ConfigurationError) as info:
        qs.count()
    assert "FRESHBOOKS_ACCESS_TOKEN" in str(info.value)


def test_unknown_keys_from_the_server_are_kept_and_not_sent(sb):
    client = client_of(sb)
    inv = editable(sb, client)
    assert inv.extra, "the sandbox sends keys the reference does not list"
    inv.notes = "n"
    inv.save()
    assert set(writes(sb)[-1].json["invoice"]) == {"notes"}


def test_unknown_filter_sends_nothing(sb):
    client = client_of(sb)
    sb.requests.clear()
    with pytest.raises(TypeError):
        Invoice.objects.using(client).filter(stauts="sent").count()
    assert sb.requests == []
