"""Data out: ``to_dataframe()`` and the notebook HTML of querysets and models."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from decimal import Decimal

import pytest

from freshbooks_orm import Client, Invoice, RetryPolicy, UnknownFieldError
from freshbooks_orm.orm.display import REPR_HTML_ROWS
from freshbooks_orm.sandbox import Sandbox

pd = pytest.importorskip("pandas")

FAST = RetryPolicy(max_retries=2, backoff=0.001, max_backoff=0.01, max_retry_after=0.05)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(invoices=150, seed=6) as sandbox:
        yield sandbox


@pytest.fixture
def client(sb: Sandbox) -> Iterator[Client]:
    sb.requests.clear()
    with sb.client(retry=FAST) as c:
        yield c


def list_requests(sb: Sandbox) -> list[dict[str, list[str]]]:
    return [r.query_dict() for r in sb.requests if r.method == "GET"]


# --- to_dataframe -------------------------------------------------------------------------------


def test_to_dataframe_reads_pages_as_iteration_does(sb: Sandbox, client: Client) -> None:
    qs = Invoice.objects.using(client).all()
    frame = qs.to_dataframe()
    total = len(sb.invoices) - sum(1 for i in sb.invoices.values() if i["vis_state"] == 1)
    assert len(frame) == total > 100
    assert [q["per_page"] for q in list_requests(sb)] == [["100"], ["100"]]
    assert "lines" not in frame.columns
    assert list(frame.columns[:6]) == ["invoiceid", "id", "accounting_systemid", "accountid",
                                       "amount", "amount_currency"]  # fmt: skip
    expected = {inv["id"]: inv for inv in sb.invoices.values()}
    for row in frame.head(10).itertuples():
        wire = expected[row.id]
        assert row.amount == Decimal(wire["amount"]["amount"])
        assert isinstance(row.amount, Decimal)
        assert row.amount_currency == wire["amount"]["code"]
        assert row.create_date == dt.date.fromisoformat(wire["create_date"])
        assert type(row.create_date) is dt.date
        assert row.status == Invoice.from_wire(wire).status.name.lower()
    assert str(frame["id"].dtype) == "Int64"
    assert str(frame["created_at"].dtype).startswith("datetime64")
    assert isinstance(frame["created_at"].dtype, pd.DatetimeTZDtype)


def test_to_dataframe_with_fields(sb: Sandbox, client: Client) -> None:
    qs = Invoice.objects.using(client).filter(v3_status="draft")
    frame = qs.to_dataframe("id", "outstanding", "due_date", "po_number")
    assert list(frame.columns) == ["id", "outstanding", "outstanding_currency", "due_date",
                                   "po_number"]  # fmt: skip
    assert len(frame) == qs.count()


def test_to_dataframe_from_the_cache_sends_nothing(sb: Sandbox, client: Client) -> None:
    qs = Invoice.objects.using(client).all()[:30]
    rows = list(qs)
    sb.requests.clear()
    frame = qs.to_dataframe("id", "amount")
    assert sb.requests == []
    assert frame["id"].tolist() == [r.id for r in rows]


def test_to_dataframe_of_nothing_has_the_columns(sb: Sandbox, client: Client) -> None:
    frame = Invoice.objects.using(client).filter(id__in=[]).to_dataframe("id", "amount")
    assert list(frame.columns) == ["id", "amount", "amount_currency"] and len(frame) == 0
    assert sb.requests == []


def test_to_dataframe_refuses_bad_fields_before_any_request(sb: Sandbox, client: Client) -> None:
    qs = Invoice.objects.using(client).all()
    with pytest.raises(UnknownFieldError, match=r"'amout'.*Did you mean 'amount'"):
        qs.to_dataframe("id", "amout")
    with pytest.raises(ValueError, match="lines is a list"):
        qs.to_dataframe("lines")
    assert sb.requests == []


def test_to_dataframe_without_pandas_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, client: Client
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(ImportError, match=r"freshbooks-orm\[pandas\]"):
        Invoice.objects.using(client).to_dataframe()


# --- HTML ---------------------------------------------------------------------------------------


def test_queryset_html_is_one_bounded_request(sb: Sandbox, client: Client) -> None:
    html = Invoice.objects.using(client).all()._repr_html_()
    assert [q["per_page"] for q in list_requests(sb)] == [[str(REPR_HTML_ROWS)]]
    assert html.count("<tr>") == REPR_HTML_ROWS + 1  # the header and the rows
    total = Invoice.objects.using(client).count()
    assert f"{REPR_HTML_ROWS} of {total} Invoice rows" in html


def test_sliced_and_evaluated_querysets_in_html(sb: Sandbox, client: Client) -> None:
    sliced = Invoice.objects.using(client).all()[5:100]
    html = sliced._repr_html_()
    assert len(list_requests(sb)) == 1
    assert "the first 20 Invoice rows; there are more" in html
    small = Invoice.objects.using(client).all()[:3]
    list(small)
    sb.requests.clear()
    assert "3 Invoice rows" in small._repr_html_() and sb.requests == []


def test_html_escapes_values(sb: Sandbox, client: Client) -> None:
    Invoice.objects.using(client).create(
        customerid=next(iter(sb.invoices.values()))["customerid"],
        create_date="2024-01-02",
        invoice_number="<b>1&2</b>",
        notes='<script>alert("x")</script>',
    )
    qs = Invoice.objects.using(client).filter(invoice_number="<b>1&2</b>")
    assert "&lt;b&gt;1&amp;2&lt;/b&gt;" in qs._repr_html_() and "<b>1" not in qs._repr_html_()
    inv = qs.get()
    sb.requests.clear()
    html = inv._repr_html_()
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "lines: not loaded" in html and sb.requests == []  # no request for lines


def test_model_html_shows_loaded_lines_and_unsaved_changes(sb: Sandbox, client: Client) -> None:
    seeded = next(i for i in sb.invoices.values() if i["lines"] and i["vis_state"] == 0)
    inv = Invoice.objects.using(client).include("lines").get(seeded["id"])
    inv.po_number = "PO-1"
    html = inv._repr_html_()
    assert f"Invoice {inv.id} (unsaved changes: po_number)" in html
    assert f"lines ({len(inv.lines)}):" in html
    assert f"<td>{inv.lines[0].name}</td>" in html
