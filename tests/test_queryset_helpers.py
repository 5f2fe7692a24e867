"""Django's read and write helpers against the sandbox: results and request counts.

values, values_list, in_bulk, get_or_create, update_or_create, latest, earliest, last, none,
aggregate, order_by/reverse, exclude and Q -- and how many requests each sends, with and
without a local residual.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest

from freshbooks_orm import (
    Avg,
    Count,
    Invoice,
    Max,
    Min,
    MixedCurrencyError,
    Money,
    Q,
    Sum,
    UncertainWriteError,
    UnknownFieldError,
)
from freshbooks_orm.http.transport import RetryPolicy
from freshbooks_orm.sandbox import Sandbox

FAST = RetryPolicy(backoff=0.001, max_retry_after=0.01)


@pytest.fixture(scope="module")
def sb():
    with Sandbox(invoices=230, seed=5) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def client(sb):
    with sb.client(retry=FAST) as c:
        yield c


@pytest.fixture
def objects(sb, client):
    sb.requests.clear()
    return Invoice.objects.using(client)


@pytest.fixture(scope="module")
def rows(sb):
    """Every listed invoice, as the ORM reads it (oracle for the expectations)."""
    with sb.client(retry=FAST) as c:
        return list(Invoice.objects.using(c).all())


def gets(sb):
    return [r for r in sb.requests if r.method == "GET"]


# --- request counts with and without a residual ---------------------------------------------------


def test_exact_plan_count_exists_first_are_one_request(objects, sb, rows):
    qs = objects.filter(v3_status="paid", amount__gte=100)
    expected = [r for r in rows if r.v3_status == "paid" and r.amount.amount >= 100]
    assert qs.explain().exact
    for call in (qs.count, qs.exists, qs.first):
        sb.requests.clear()
        call()
        assert len(gets(sb)) == 1
    assert qs.count() == len(expected)


def test_residual_reads_every_matching_page_and_only_those(objects, sb, rows):
    qs = objects.filter(amount__gt=100).exclude(v3_status="paid")
    expected = [r.id for r in rows if r.amount.amount > 100 and r.v3_status != "paid"]
    server_matches = sum(1 for r in rows if r.amount.amount >= 100)
    assert not qs.explain().exact
    sb.requests.clear()
    assert [r.id for r in qs] == expected
    assert len(gets(sb)) == math.ceil(server_matches / 100)
    sb.requests.clear()
    assert qs.all().count() == len(expected)
    assert len(gets(sb)) == math.ceil(server_matches / 100)
    # first() and exists() stop at the first page holding a match
    sb.requests.clear()
    assert qs.all().first().id == expected[0]
    assert qs.all().exists()
    assert len(gets(sb)) == 2
    # a slice is cut locally from the matching rows
    assert [r.id for r in qs[3:7]] == expected[3:7]


def test_local_ordering_reads_everything_then_sorts(objects, sb, rows):
    usd = [r for r in rows if r.currency_code == "USD"]
    qs = objects.filter(currency_code="USD").order_by("-amount", "invoice_number")
    expected = sorted(usd, key=lambda r: r.invoice_number)
    expected = sorted(expected, key=lambda r: r.amount.amount, reverse=True)
    sb.requests.clear()
    assert [r.id for r in qs] == [r.id for r in expected]
    assert len(gets(sb)) == math.ceil(len(usd) / 100)
    assert [r.id for r in qs.reverse()] == [r.id for r in reversed(expected)]
    assert qs.first().id == expected[0].id
    with pytest.raises(MixedCurrencyError):
        list(objects.order_by("amount"))


def test_count_exists_aggregate_ignore_an_ordering_no_slice_depends_on(objects, sb, rows):
    # Ordering by money across currencies cannot be done, but count(), exists() and aggregate()
    # do not depend on order (as in Django): they answer, with the unordered request count.
    qs = objects.filter(amount__gte=100).order_by("-amount")
    expected = [r for r in rows if r.amount.amount >= 100]
    assert len({r.currency_code for r in expected}) > 1
    sb.requests.clear()
    assert qs.count() == len(expected)
    assert len(gets(sb)) == 1  # exact once the ordering is dropped: one verified request
    sb.requests.clear()
    assert qs.exists()
    assert len(gets(sb)) == 1
    assert qs.aggregate(n=Count())["n"] == len(expected)
    local = objects.exclude(v3_status="paid").order_by("amount")
    assert local.count() == sum(1 for r in rows if r.v3_status != "paid")
    # a slice does pick rows by the ordering, so it still needs it
    with pytest.raises(MixedCurrencyError):
        local[:5].count()


def test_server_ordering_and_clearing_it(objects, sb, rows):
    qs = objects.order_by("create_date")
    assert qs.query.sort == "invoice_date_asc"
    assert qs.reverse().query.sort == "invoice_date_desc"
    assert qs.order_by().query.sort is None
    sb.requests.clear()
    first = qs.first()
    assert first.create_date == min(r.create_date for r in rows)
    assert len(gets(sb)) == 1


def test_q_or_of_equalities_is_one_in_filter(objects, sb, rows):
    a, b = rows[0].customerid, rows[5].customerid
    qs = objects.filter(Q(customerid=a) | Q(customerid=b))
    assert qs.explain().exact
    assert {r.id for r in qs} == {r.id for r in rows if r.customerid in (a, b)}
    assert ("search[customerids][]", str(a)) in gets(sb)[0].query


# --- the helpers -----------------------------------------------------------------------------


def test_values_and_values_list(objects, rows):
    qs = objects.filter(v3_status="sent")
    sent = [r for r in rows if r.v3_status == "sent"]
    assert list(qs.values("id", "amount")) == [{"id": r.id, "amount": r.amount} for r in sent]
    assert list(qs.values_list("id", flat=True)) == [r.id for r in sent]
    named = list(qs.values_list("id", "invoice_number", named=True))
    assert named[0].invoice_number == sent[0].invoice_number
    assert list(qs.values_list("id", "customerid")) == [(r.id, r.customerid) for r in sent]
    assert set(next(iter(qs.values()))) >= {"id", "amount", "create_date"}
    with pytest.raises(UnknownFieldError):
        qs.values("amont")
    with pytest.raises(TypeError):
        qs.values_list("id", "amount", flat=True)


def test_in_bulk_is_one_request_per_100_ids(objects, sb, rows):
    ids = [r.id for r in rows[:150]]
    sb.requests.clear()
    found = objects.in_bulk(ids)
    assert set(found) == set(ids) and found[ids[0]].id == ids[0]
    requests = gets(sb)
    assert len(requests) == 2
    assert all(dict(r.query)["per_page"] == "100" for r in requests)
    assert objects.in_bulk([]) == {}
    assert objects.in_bulk([987654321]) == {}


def test_latest_earliest_last_and_none(objects, sb, rows):
    assert objects.latest("create_date").create_date == max(r.create_date for r in rows)
    assert objects.earliest("create_date").create_date == min(r.create_date for r in rows)
    usd = [r for r in rows if r.currency_code == "USD"]
    assert objects.filter(currency_code="USD").latest("amount").amount == max(
        r.amount for r in usd
    )
    sb.requests.clear()
    assert objects.last().id == rows[-1].id
    assert len(gets(sb)) <= 2
    with pytest.raises(Invoice.DoesNotExist):
        objects.filter(id__in=[987654321]).latest("create_date")
    with pytest.raises(ValueError):
        objects.latest()
    sb.requests.clear()
    nothing = objects.none()
    assert list(nothing) == [] and nothing.count() == 0 and not nothing.exists()
    assert nothing.first() is None and nothing.aggregate(Count()) == {"*__count": 0}
    assert sb.requests == []


def test_aggregate_per_currency(objects, sb, rows):
    usd = [r.amount.amount for r in rows if r.currency_code == "USD"]
    result = objects.filter(currency_code="USD").aggregate(
        Sum("amount"), Min("amount"), Max("amount"), Avg("amount"), n=Count()
    )
    assert result["amount__sum"] == Money(sum(usd, Decimal(0)), "USD")
    assert result["amount__min"] == Money(min(usd), "USD")
    assert result["amount__max"] == Money(max(usd), "USD")
    mean = sum(usd, Decimal(0)) / len(usd)
    assert result["amount__avg"] == Money(mean.quantize(Decimal("0.0001")), "USD")
    assert result["n"] == len(usd)
    with pytest.raises(MixedCurrencyError) as info:
        objects.aggregate(Sum("amount"))
    assert "USD" in str(info.value) and "EUR" in str(info.value)
    per = objects.aggregate(total=Sum("amount", by_currency=True))["total"]
    assert per["USD"] == result["amount__sum"] and set(per) > {"USD"}
    sb.requests.clear()
    assert objects.filter(v3_status="paid").aggregate(n=Count()) == {
        "n": sum(1 for r in rows if r.v3_status == "paid")
    }
    assert len(gets(sb)) == 1  # an exact Count is count()
    assert objects.aggregate(Max("create_date"))["create_date__max"] == max(
        r.create_date for r in rows
    )
    with pytest.raises(UnknownFieldError):
        objects.aggregate(Sum("amont"))


def test_get_with_a_residual(objects, rows):
    target = rows[7]
    found = objects.get(Q(invoice_number=target.invoice_number), amount__gt=-1)
    assert found.id == target.id
    with pytest.raises(Invoice.MultipleObjectsReturned):
        objects.get(amount__gt=-1)
    with pytest.raises(Invoice.DoesNotExist):
        objects.get(invoice_number="no such number")


# --- get_or_create / update_or_create ----------------------------------------------------------


@pytest.fixture
def wsb():
    with Sandbox(invoices=20, seed=8) as sandbox:
        yield sandbox


def test_get_or_create_finds_or_creates(wsb):
    with wsb.client(retry=FAST) as c:
        objects = Invoice.objects.using(c)
        existing = next(iter(objects))
        got, created = objects.get_or_create(invoice_number=existing.invoice_number)
        assert (got.id, created) == (existing.id, False)
        wsb.requests.clear()
        new, created = objects.get_or_create(
            invoice_number="GOC-1",
            defaults={"customerid": existing.customerid, "create_date": dt.date(2024, 5, 1)},
        )
        assert created and new.id and new.invoice_number == "GOC-1"
        assert [r.method for r in wsb.requests] == ["GET", "POST"]
        again, created = objects.get_or_create(invoice_number="GOC-1")
        assert (again.id, created) == (new.id, False)


def test_get_or_create_after_an_uncertain_post_looks_again(wsb):
    with wsb.client(retry=FAST) as c:
        objects = Invoice.objects.using(c)
        customer = next(iter(objects)).customerid
        defaults = {"customerid": customer, "create_date": dt.date(2024, 5, 1)}
        # the POST reaches the server, which creates the invoice, but the answer is lost
        wsb.fail_next(503, method="POST")
        before = len(wsb.invoices)
        with pytest.raises(UncertainWriteError):
            Invoice.objects.using(c).create(invoice_number="GOC-X", **defaults)
        # a 503 is injected before the store sees the POST: nothing was created, so
        # get_or_create re-checks, finds nothing, and raises the uncertain error
        assert len(wsb.invoices) == before
        wsb.fail_next(503, method="POST")
        wsb.requests.clear()
        with pytest.raises(UncertainWriteError):
            objects.get_or_create(invoice_number="GOC-2", defaults=defaults)
        assert [r.method for r in wsb.requests] == ["GET", "POST", "GET"]


def test_get_or_create_returns_the_object_an_uncertain_post_did_create(wsb, monkeypatch):
    with wsb.client(retry=FAST) as c:
        objects = Invoice.objects.using(c)
        customer = next(iter(objects)).customerid
        real_save = Invoice.save

        def save_then_lose_the_answer(self, using=None):
            real_save(self, using=using)  # the invoice is created ...
            raise UncertainWriteError("POST timed out")  # ... but the client never hears it

        monkeypatch.setattr(Invoice, "save", save_then_lose_the_answer)
        obj, created = objects.get_or_create(
            invoice_number="GOC-3", defaults={"customerid": customer, "create_date": "2024-05-01"}
        )
        monkeypatch.undo()
        assert created and obj.invoice_number == "GOC-3" and obj.id
        assert sum(1 for i in wsb.invoices.values() if i["invoice_number"] == "GOC-3") == 1


def test_update_or_create(wsb):
    with wsb.client(retry=FAST) as c:
        objects = Invoice.objects.using(c)
        existing = next(iter(objects))
        obj, created = objects.update_or_create(
            invoice_number=existing.invoice_number, defaults={"po_number": "PO-UOC"}
        )
        assert not created and obj.po_number == "PO-UOC"
        assert wsb.invoices[existing.id]["po_number"] == "PO-UOC"
        obj, created = objects.update_or_create(
            invoice_number="UOC-NEW",
            defaults={"po_number": "PO-1"},
            create_defaults={
                "po_number": "PO-NEW",
                "customerid": existing.customerid,
                "create_date": "2024-06-01",
            },
        )
        assert created and obj.po_number == "PO-NEW"


# --- batch writes run the whole query -------------------------------------------------------------


def test_batch_plans_only_rows_the_whole_query_matches(wsb, tmp_path):
    with wsb.client(retry=FAST) as c:
        objects = Invoice.objects.using(c)
        listed = list(objects)
        usd = {r.id for r in listed if r.currency_code == "USD"}
        expected = {r.id for r in listed if r.currency_code == "USD" and r.v3_status != "draft"}
        qs = objects.filter(Q(currency_code="USD") | Q(currency_code="usd")).exclude(
            v3_status="draft"
        )
        result = qs.update(po_number="PO-B", dry_run=True)
        assert result.matched == len(expected) <= len(usd)
        assert {change.invoice_id for change in result.changes} <= expected
        result = qs.update(po_number="PO-B", journal=tmp_path / "j.sqlite3", progress=False)
        assert result.done + result.unchanged == len(expected)
        changed = {i for i, inv in wsb.invoices.items() if inv["po_number"] == "PO-B"}
        assert changed == expected


def test_a_batch_reads_and_verifies_every_page_before_its_edit_sees_an_object(wsb, tmp_path):
    """The edit never runs when a later page shows that the server ignored a filter."""
    from freshbooks_orm import FilterNotAppliedError

    with Sandbox(invoices=260, seed=9) as big, big.client(retry=FAST) as c:
        listed = list(Invoice.objects.using(c))
        # a filter that the first page happens to satisfy and a later page does not
        newest_first = [r.id for r in listed]  # page 1 holds the first 100 of these
        big.ignore_filters = {"invoiceids"}
        seen = []
        qs = Invoice.objects.using(c).filter(id__in=newest_first[:120])
        with pytest.raises(FilterNotAppliedError):
            qs.apply(seen.append, dry_run=True)
        assert seen == []  # page 1 passed its checks, but page 2 did not: no object was edited


def test_the_journal_records_the_whole_query(wsb, tmp_path):
    from freshbooks_orm.batch.journal import Journal

    with wsb.client(retry=FAST) as c:
        qs = Invoice.objects.using(c).filter(amount__gt=10).exclude(v3_status="draft")
        journal = Journal(tmp_path / "j.sqlite3")
        result = qs.update(po_number="PO-J", journal=journal, progress=False)
        run = journal.run(result.run_id)
        assert run.filter["params"] == [["search[total_min]", "10"]]
        assert run.filter["where"] == "amount__gt=10 AND NOT v3_status__exact='draft'"
        journal.close()
