"""A saved object whose nested list FreshBooks sent as null: never read as "no items" (saving an
edit of an empty baseline would delete every real line)."""

from __future__ import annotations

import pytest

from freshbooks_orm import Invoice, InvoiceLine, Money
from freshbooks_orm.errors import FieldValueError
from freshbooks_orm.http.transport import RetryPolicy
from freshbooks_orm.sandbox import Sandbox


@pytest.fixture
def sb():
    with Sandbox(invoices=3, seed=1) as sandbox:
        yield sandbox


def null_lines(client, *, times):
    """The next ``times`` GET answers of one invoice carry ``"lines": null``."""
    real = client.request
    left = [times]
    gets = []

    def request(method, path, *args, **kwargs):
        answer = real(method, path, *args, **kwargs)
        if method == "GET":
            gets.append(kwargs.get("params"))
            if left[0] > 0 and isinstance(answer, dict) and "invoice_number" in answer:
                left[0] -= 1
                answer = {**answer, "lines": None}
        return answer

    client.request = request
    return gets


def line_names(sb, invoice_id):
    return [line["name"] for line in sb.invoices[invoice_id]["lines"]]


def test_null_lines_on_a_saved_invoice_are_fetched_and_appending_keeps_the_real_ones(sb):
    client = sb.client(retry=RetryPolicy(backoff=0.001))
    invoice_id = sorted(sb.invoices)[0]
    names = line_names(sb, invoice_id)
    assert names
    gets = null_lines(client, times=1)
    inv = Invoice.objects.using(client).get(id=invoice_id)
    assert [line.name for line in inv.lines] == names  # one more GET, with include[]=lines
    assert gets[-1] == [("include[]", "lines")]
    inv.lines.append(InvoiceLine(name="Late fee", qty=1, unit_cost=Money("25.00", "USD")))
    inv.save()
    assert line_names(sb, invoice_id) == [*names, "Late fee"]


def test_lines_still_null_after_fetching_them_raise_field_value_error(sb):
    client = sb.client(retry=RetryPolicy(backoff=0.001))
    invoice_id = sorted(sb.invoices)[0]
    names = line_names(sb, invoice_id)
    null_lines(client, times=2)
    inv = Invoice.objects.using(client).get(id=invoice_id)
    with pytest.raises(FieldValueError) as caught:
        inv.lines  # noqa: B018
    assert caught.value.field == "lines" and caught.value.object_id == invoice_id
    assert "null" in str(caught.value)
    inv.po_number = "PO-NULL"
    inv.save()  # the lines were never loaded: only po_number is sent
    assert line_names(sb, invoice_id) == names
    assert sb.invoices[invoice_id]["po_number"] == "PO-NULL"


def test_listed_invoices_with_null_lines_fetch_their_own(sb):
    client = sb.client(retry=RetryPolicy(backoff=0.001))
    real = client.request
    first = [True]

    def request(method, path, *args, **kwargs):
        answer = real(method, path, *args, **kwargs)
        rows = getattr(answer, "rows", None)  # a list answer's page
        if first[0] and rows:
            first[0] = False
            for row in rows:
                row["lines"] = None
        return answer

    client.request = request
    invoices = list(Invoice.objects.using(client).include("lines"))
    assert invoices and not first[0]
    for inv in invoices:
        assert [line.name for line in inv.lines] == line_names(sb, inv.id)


def test_an_unsaved_invoice_takes_null_lines_as_no_lines():
    inv = Invoice.from_wire({"lines": None})
    assert list(inv.lines) == []
    inv.lines.append(InvoiceLine(name="Fee", qty=1, unit_cost=Money("5.00", "USD")))
    assert [line.name for line in inv.lines] == ["Fee"]
