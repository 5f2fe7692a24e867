"""What a batch records when a write's outcome is unknown or an answer is malformed: a 5xx or a
failed read-back never counts as "never written", a bad answer is a typed error for that item."""

from __future__ import annotations

from collections import Counter

import pytest
from batch_helpers import FAST

from freshbooks_orm import Invoice
from freshbooks_orm.batch import resume, undo
from freshbooks_orm.errors import ServerError
from freshbooks_orm.http.transport import RetryPolicy
from freshbooks_orm.sandbox import Sandbox


@pytest.fixture
def sb():
    with Sandbox(invoices=12, seed=5) as sandbox:
        yield sandbox


def visible(sandbox):
    return sorted(i for i, inv in sandbox.invoices.items() if inv["vis_state"] == 0)


def object_id_of(path):
    tail = path.split("?")[0].rsplit("/", 1)[1]
    return int(tail) if tail.isdigit() else None


def answer_5xx_after_applying(client, ids, *, method="PUT", status=502, times=1):
    """Make ``client`` see a ``status`` answer to ``method`` of each of ``ids`` *after* the
    server applied it (a gateway that timed out while FreshBooks finished the write)."""
    real = client.request
    left = Counter({i: times for i in ids})

    def request(m, path, *args, **kwargs):
        answer = real(m, path, *args, **kwargs)
        object_id = object_id_of(path)
        if m == method and left[object_id] > 0:
            left[object_id] -= 1
            raise ServerError("Bad gateway", status_code=status, method=m, path=path)
        return answer

    client.request = request


def puts(sandbox):
    return Counter(
        object_id_of(r.path) for r in sandbox.requests if r.method == "PUT" and r.status == 200
    )


def items(journal, run_id):
    return {i.object_id: i for i in journal.items(run_id)}


# --- a PUT answered with a 5xx ------------------------------------------------------------------


def test_a_put_that_landed_but_was_answered_502_is_unsettled_and_undo_restores_it(sb, journal):
    client = sb.client(retry=FAST)
    ids = visible(sb)[:3]
    before = {i: sb.invoices[i].get("po_number") for i in ids}
    answer_5xx_after_applying(client, [ids[1]])
    result = (
        Invoice.objects.using(client)
        .filter(id__in=ids)
        .update(po_number="PO-5XX", workers=1, journal=journal, progress=False)
    )
    assert sb.invoices[ids[1]]["po_number"] == "PO-5XX"  # the server applied it
    assert (result.done, result.failed, result.uncertain, result.pending) == (2, 0, 1, 1)
    assert not result.ok and ids[1] in result.errors
    assert "1 unsettled" in str(result) and "0 failed" in str(result)
    assert items(journal, result.run_id)[ids[1]].state == "writing"
    assert journal.run(result.run_id).status == "interrupted"  # resume or undo settles it

    reverted = undo(result.run_id, client=client, journal=journal, progress=False)
    assert reverted.ok and reverted.done == 3
    assert not any("never written" in note for note in reverted.notes)
    assert {i: sb.invoices[i].get("po_number") for i in ids} == before
    assert journal.run(result.run_id).status == "undone"


def test_a_put_answered_5xx_that_did_not_land_is_settled_as_never_written_by_undo(sb, journal):
    client = sb.client(retry=RetryPolicy(max_retries=0, backoff=0.001))
    ids = visible(sb)[:3]
    sb.fail_next(503, method="PUT")  # refused before the server applied anything
    result = (
        Invoice.objects.using(client)
        .filter(id__in=ids)
        .update(po_number="PO-503", workers=1, journal=journal, progress=False)
    )
    (unsettled,) = [i for i, item in items(journal, result.run_id).items() if item.state != "done"]
    assert (result.failed, result.uncertain) == (0, 1)
    sb.requests.clear()
    reverted = undo(result.run_id, client=client, journal=journal, progress=False)
    assert reverted.ok and reverted.done == 2
    reads = [r for r in sb.requests if r.method == "GET" and object_id_of(r.path) == unsettled]
    assert len(reads) == 1  # re-read before deciding it was never written
    assert any("never written" in n and str(unsettled) in n for n in reverted.notes)
    assert puts(sb)[unsettled] == 0  # nothing to undo for it


def test_resume_settles_a_put_answered_502_that_landed_without_sending_it_again(sb, journal):
    client = sb.client(retry=FAST)
    ids = visible(sb)[:3]
    answer_5xx_after_applying(client, [ids[0]])
    result = (
        Invoice.objects.using(client)
        .filter(id__in=ids)
        .update(po_number="PO-RES", workers=1, journal=journal, progress=False)
    )
    assert result.uncertain == 1
    sb.requests.clear()
    finished = resume(result.run_id, client=sb.client(retry=FAST), journal=journal, progress=False)
    assert finished.ok and (finished.done, finished.uncertain) == (3, 0)
    assert puts(sb) == Counter()  # re-read: it had landed
    assert journal.run(result.run_id).status == "finished"


def test_a_put_refused_with_a_4xx_is_failed_and_undo_does_not_re_read_it(sb, journal):
    client = sb.client(retry=FAST)
    ids = visible(sb)[:3]
    sb.fail_next(422, body={"response": {"errors": [{"errno": 1004, "message": "Nope."}]}},
                 method="PUT")  # fmt: skip
    result = (
        Invoice.objects.using(client)
        .filter(id__in=ids)
        .update(po_number="PO-422", workers=1, journal=journal, progress=False)
    )
    assert (result.done, result.failed, result.uncertain) == (2, 1, 0)
    (refused,) = result.errors
    assert items(journal, result.run_id)[refused].state == "failed"
    sb.requests.clear()
    reverted = undo(result.run_id, client=client, journal=journal, progress=False)
    assert reverted.ok and reverted.done == 2
    assert not [r for r in sb.requests if object_id_of(r.path) == refused]
    assert any("never written" in n and str(refused) in n for n in reverted.notes)


def test_undo_re_reads_a_5xx_put_a_journal_written_before_0_2_counted_failed(sb, journal):
    client = sb.client(retry=FAST)
    ids = visible(sb)[:2]
    answer_5xx_after_applying(client, [ids[1]])
    result = (
        Invoice.objects.using(client)
        .filter(id__in=ids)
        .update(po_number="PO-OLD", workers=1, journal=journal, progress=False)
    )
    error = items(journal, result.run_id)[ids[1]].error
    journal.mark(result.run_id, ids[1], "failed", error=error)  # as 0.1 recorded it
    assert "HTTP 502 PUT " in error
    reverted = undo(result.run_id, client=sb.client(retry=FAST), journal=journal, progress=False)
    assert reverted.ok and reverted.done == 2
    assert all(sb.invoices[i].get("po_number") != "PO-OLD" for i in ids)


def test_undo_dry_run_counts_an_unsettled_put(sb, journal):
    client = sb.client(retry=FAST)
    ids = visible(sb)[:3]
    answer_5xx_after_applying(client, [ids[2]])
    result = (
        Invoice.objects.using(client)
        .filter(id__in=ids)
        .update(po_number="PO-DRY", workers=1, journal=journal, progress=False)
    )
    preview = undo(result.run_id, journal=journal, dry_run=True)
    assert preview.matched == 3 and preview.planned == 3
    assert any(str(ids[2]) in note and "re-reads" in note for note in preview.notes)


# --- a delete whose read-back failed --------------------------------------------------------------


def test_a_delete_whose_read_back_failed_is_unsettled_and_undo_restores_it(sb, journal):
    client = sb.client(retry=RetryPolicy(max_retries=0, backoff=0.001))
    sb.vis_state_reply = "empty"  # the documented answer to a vis_state PUT: {}
    ids = visible(sb)[:3]
    real = client.request

    def request(method, path, *args, **kwargs):
        if method == "GET" and object_id_of(path) == ids[1] and puts(sb)[ids[1]]:
            raise ServerError("injected", status_code=503, method=method, path=path)
        return real(method, path, *args, **kwargs)

    client.request = request
    result = Invoice.objects.using(client).filter(id__in=ids).delete(
        workers=1, journal=journal, progress=False
    )
    assert all(sb.invoices[i]["vis_state"] == 1 for i in ids)
    assert (result.done, result.failed, result.uncertain) == (2, 0, 1)
    assert items(journal, result.run_id)[ids[1]].state == "writing"
    reverted = undo(result.run_id, client=sb.client(retry=FAST), journal=journal, progress=False)
    assert reverted.ok and reverted.done == 3
    assert all(sb.invoices[i]["vis_state"] == 0 for i in ids)


# --- a malformed nested list in the fresh GET right before a PUT ------------------------------


def spoil_fresh_lines(client, invoice_id, value):
    """The GETs of ``invoice_id`` that ask for its lines answer ``"lines": value``."""
    real = client.request

    def request(method, path, *args, **kwargs):
        answer = real(method, path, *args, **kwargs)
        if method == "GET" and object_id_of(path) == invoice_id and kwargs.get("params"):
            answer = {**answer, "lines": value}
        return answer

    client.request = request


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ([1, 2], "expected a list of objects"),
        (None, "null"),
        ([{"name": "x", "qty": "lots"}], "qty"),
    ],
)
def test_malformed_fresh_lines_fail_that_item_with_a_typed_error_and_the_rest_go_on(
    sb, journal, value, says
):
    from freshbooks_orm import InvoiceLine, Money
    from freshbooks_orm.errors import FieldValueError

    client = sb.client(retry=FAST)
    ids = visible(sb)[:3]
    lines_before = {i: sb.invoices[i]["lines"] for i in ids}
    spoil_fresh_lines(client, ids[1], value)
    sb.requests.clear()
    result = (
        Invoice.objects.using(client)
        .filter(id__in=ids)
        .update(
            lines=[InvoiceLine(name="Only line", qty=1, unit_cost=Money("1.00", "USD"))],
            workers=1,
            journal=journal,
            progress=False,
        )
    )
    assert (result.done, result.failed, result.uncertain) == (2, 1, 0)
    error = result.errors[ids[1]]
    assert isinstance(error, FieldValueError) and error.field in ("lines", "qty")
    assert says in str(error)
    assert puts(sb)[ids[1]] == 0 and sb.invoices[ids[1]]["lines"] == lines_before[ids[1]]
    assert items(journal, result.run_id)[ids[1]].state == "failed"
    assert journal.run(result.run_id).status == "finished"


# --- a vis_state that is not a number in the list answer of a batch delete -----------------------


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_delete_reports_an_unreadable_vis_state_as_that_items_field_value_error(
    sb, journal, dry_run
):
    from freshbooks_orm.errors import FieldValueError

    client = sb.client(retry=FAST)
    ids = visible(sb)[:3]
    real = client.request

    def request(method, path, *args, **kwargs):
        answer = real(method, path, *args, **kwargs)
        for row in getattr(answer, "rows", None) or ():
            if row.get("id") == ids[1]:
                row["vis_state"] = "archived"
        return answer

    client.request = request
    result = Invoice.objects.using(client).filter(id__in=ids).delete(
        dry_run=dry_run, workers=1, journal=journal, progress=False
    )
    error = result.errors[ids[1]]
    assert isinstance(error, FieldValueError) and error.field == "vis_state"
    assert error.value == "archived" and error.object_id == ids[1]
    assert result.failed == 1 and (result.planned if dry_run else result.done) == 2
    assert sb.invoices[ids[1]]["vis_state"] == 0
    assert [sb.invoices[i]["vis_state"] for i in (ids[0], ids[2])] == [0 if dry_run else 1] * 2


# --- the API host a journal records --------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://user:pw@host.example:8080/x", "host.example:8080"),
        ("https://api.freshbooks.com", "api.freshbooks.com"),
        ("https://token@API.FreshBooks.com/", "api.freshbooks.com"),
        ("http://u:p@[::1]:99/", "[::1]:99"),
        ("http://127.0.0.1:5555", "127.0.0.1:5555"),
    ],
)
def test_the_journal_records_the_api_host_without_user_or_password(url, host):
    from freshbooks_orm.batch.execute import _host

    assert _host(url) == host


def test_a_run_is_journalled_and_shown_without_the_urls_user_and_password(
    sb, journal, tmp_path, capsys
):
    from freshbooks_orm.cli import main

    client = sb.client(retry=FAST)
    ids = visible(sb)[:2]
    real_url = client.base_url
    client.base_url = real_url.replace("://", "://audit-user:s3cret-pw@", 1)
    try:
        result = Invoice.objects.using(client).filter(id__in=ids).update(
            po_number="PO-HOST", journal=journal, progress=False
        )
    finally:
        client.base_url = real_url
    assert result.done == 2
    run = journal.run(result.run_id)
    assert run.api_host == real_url.split("//", 1)[1].split("/", 1)[0]
    raw = (tmp_path / "journal.sqlite3").read_bytes()
    assert b"s3cret-pw" not in raw and b"audit-user" not in raw
    # a journal written before 0.2.0 may hold the user:password: never shown, still resumable
    journal.db.execute(
        "UPDATE runs SET api_host = ? WHERE id = ?",
        (f"audit-user:s3cret-pw@{run.api_host}", run.id),
    )
    journal.db.commit()
    assert journal.run(run.id).api_host == run.api_host
    assert main(["--journal", str(tmp_path / "journal.sqlite3"), "runs", "show", run.id]) == 0
    shown = capsys.readouterr()
    assert run.api_host in shown.out and "s3cret" not in shown.out + shown.err
    reverted = undo(run.id, client=client, journal=journal, progress=False)
    assert reverted.ok and reverted.done == 2
    assert journal.run(reverted.run_id).api_host == run.api_host


# --- what the command line says about unsettled writes --------------------------------------------


def test_runs_show_and_the_cli_report_name_unsettled_writes(sb, journal, tmp_path, capsys):
    from freshbooks_orm.cli import main
    from freshbooks_orm.cli.runs import _report

    client = sb.client(retry=FAST)
    ids = visible(sb)[:3]
    answer_5xx_after_applying(client, [ids[0]])
    result = (
        Invoice.objects.using(client)
        .filter(id__in=ids)
        .update(po_number="PO-CLI", workers=1, journal=journal, progress=False)
    )
    path = str(tmp_path / "journal.sqlite3")
    assert main(["--journal", path, "runs", "show", result.run_id]) == 0
    shown = capsys.readouterr().out
    assert "status     interrupted" in shown and "unsettled  1" in shown

    class Ctx:
        def __init__(self):
            self.printed, self.notes = [], []

        def print(self, text):
            self.printed.append(text)

        def note(self, text):
            self.notes.append(text)

        def opt(self, name):
            return None

    ctx = Ctx()
    assert _report(ctx, result) == 1
    assert "1 unsettled" in ctx.printed[0] and "0 failed" in ctx.printed[0]
    assert any("may have landed" in n and f"runs resume {result.run_id}" in n for n in ctx.notes)
