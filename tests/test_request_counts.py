"""Requests per operation, pinned: the numbers of benchmark 2 (``python -m bench``).

Each operation must send the fewest requests the FreshBooks API allows; a change that adds a
round trip fails here.  Counts come from the sandbox's own request log.
"""

from __future__ import annotations

import math

import pytest

from freshbooks_orm import Invoice
from freshbooks_orm.sandbox import Sandbox


@pytest.fixture(scope="module")
def sb():
    with Sandbox(invoices=250, seed=7) as sandbox:
        yield sandbox


@pytest.fixture
def stored(sb):
    return sb.invoices  # a deep copy of the sandbox's invoices now, lines included


@pytest.fixture(scope="module")
def client(sb):
    with sb.client() as c:
        yield c


@pytest.fixture
def objects(client, sb):
    sb.requests.clear()
    return Invoice.objects.using(client)


def sent(sb, clear=True):
    requests = list(sb.requests)
    if clear:
        sb.requests.clear()
    return requests


def listed_ids(stored):
    """Ids the list endpoint returns by default, newest first."""
    return sorted((i for i, inv in stored.items() if inv["vis_state"] != 1), reverse=True)


def only_get(requests):
    assert [r.method for r in requests] == ["GET"]
    return dict(requests[0].query)


# --- reading --------------------------------------------------------------------------------------


def test_count_is_one_request(objects, sb, stored):
    assert objects.count() == len(listed_ids(stored))
    assert only_get(sent(sb))["per_page"] == "100"  # a full page, verified before ``total``


def test_exists_is_one_request(objects, sb):
    assert objects.exists() is True
    only_get(sent(sb))


def test_first_is_one_request(objects, sb, stored):
    assert objects.first().id == listed_ids(stored)[0]
    only_get(sent(sb))


def test_slice_is_one_request(objects, sb, stored):
    rows = list(objects.all()[30:45])
    assert [inv.id for inv in rows] == listed_ids(stored)[30:45]
    query = only_get(sent(sb))
    assert (query["page"], query["per_page"]) == ("3", "15")


def test_index_is_one_request(objects, sb, stored):
    assert objects.all()[117].id == listed_ids(stored)[117]
    only_get(sent(sb))


def test_get_pk_is_one_get_of_the_invoice(objects, sb, stored):
    pk = listed_ids(stored)[5]
    assert objects.get(pk).id == pk
    (request,) = sent(sb)
    assert (request.method, request.path.rsplit("/", 1)[1]) == ("GET", str(pk))


def test_get_by_filter_is_one_request(objects, sb, stored):
    pk = listed_ids(stored)[9]
    assert objects.get(invoice_number=stored[pk]["invoice_number"]).id == pk
    only_get(sent(sb))


@pytest.mark.parametrize("how", ["list", "iterator", "prefetch"])
def test_iterating_n_is_ceil_n_over_100_requests(objects, sb, stored, how):
    qs = objects.all()
    if how == "list":
        rows = list(qs)
    elif how == "iterator":
        rows = list(qs.iterator())
    else:
        rows = list(qs.iterator(prefetch=4))
    expected = listed_ids(stored)
    assert [inv.id for inv in rows] == expected
    requests = sent(sb)
    assert len(requests) == math.ceil(len(expected) / 100)
    assert {r.method for r in requests} == {"GET"}
    assert sorted(int(dict(r.query)["page"]) for r in requests) == list(range(1, len(requests) + 1))
    assert {dict(r.query)["per_page"] for r in requests} == {"100"}


def test_an_evaluated_queryset_answers_from_its_cache(objects, sb):
    qs = objects.all()
    list(qs)
    sent(sb)
    assert len(qs) == qs.count() > 0
    assert qs.exists() and qs.first() is not None and qs[5] is not None
    assert sent(sb) == []


# --- writing --------------------------------------------------------------------------------------


def test_clean_save_sends_nothing(objects, sb, stored):
    inv = objects.get(listed_ids(stored)[20])
    inv.notes = inv.notes  # an equal value is not a change
    sent(sb)
    inv.save()
    assert sent(sb) == []


def test_dirty_save_is_one_put_of_the_changed_field(objects, sb, stored):
    inv = objects.get(listed_ids(stored)[21])
    inv.notes = "pinned by test_request_counts"
    sent(sb)
    inv.save()
    (request,) = sent(sb)
    assert request.method == "PUT"
    assert request.json == {"invoice": {"notes": "pinned by test_request_counts"}}


def test_line_edit_is_one_put_with_every_line(objects, sb, stored):
    pk = next(i for i in listed_ids(stored)[22:] if len(stored[i]["lines"]) >= 2)
    inv = objects.include("lines").get(pk)
    inv.lines[0].qty += 1
    sent(sb)
    inv.save()
    (request,) = sent(sb)
    assert request.method == "PUT" and list(request.json["invoice"]) == ["lines"]
    lines = request.json["invoice"]["lines"]
    assert [line["lineid"] for line in lines] == [line["lineid"] for line in stored[pk]["lines"]]


def test_line_edit_on_a_listed_invoice_loads_the_lines_once(objects, sb, stored):
    pk = next(i for i in listed_ids(stored)[40:] if stored[i]["lines"])
    inv = objects.get(pk)
    sent(sb)
    inv.lines[0].qty += 1
    inv.save()
    assert [r.method for r in sent(sb)] == ["GET", "PUT"]


def test_delete_is_one_put_of_vis_state_alone(objects, sb, stored):
    inv = objects.get(listed_ids(stored)[60])
    inv.notes = "an unsaved change that must not travel with vis_state"
    sent(sb)
    inv.delete()
    (request,) = sent(sb)
    assert (request.method, request.json) == ("PUT", {"invoice": {"vis_state": 1}})


def test_bulk_update_of_k_is_k_puts_k_fresh_gets_and_ceil_k_over_100_list_gets(
    objects, sb, stored, tmp_path
):
    ids = listed_ids(stored)[100:250]
    k = len(ids)
    result = objects.filter(id__in=ids).update(
        po_number="PINNED", workers=4, journal=tmp_path / "journal.sqlite", progress=False
    )
    assert result.done == k
    requests = sent(sb)
    gets = [r for r in requests if r.method == "GET"]
    puts = [r for r in requests if r.method == "PUT"]
    pages = [r for r in gets if r.path.endswith("/invoices")]
    # planning: ceil(k/100) list pages; writing: one GET of each invoice right before its PUT
    assert (len(pages), len(gets), len(puts)) == (math.ceil(k / 100), math.ceil(k / 100) + k, k)
    assert len(requests) == len(gets) + len(puts)
    assert all(r.json == {"invoice": {"po_number": "PINNED"}} for r in puts)
    assert sorted(int(r.path.rsplit("/", 1)[1]) for r in puts) == sorted(ids)

    # the same update again changes nothing: the plan's GETs, and not one PUT
    again = objects.filter(id__in=ids).update(
        po_number="PINNED", workers=4, journal=tmp_path / "journal.sqlite", progress=False
    )
    assert again.done == 0
    assert {r.method for r in sent(sb)} == {"GET"}
