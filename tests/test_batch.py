"""Batch fixes against the sandbox: one PUT per invoice, dry run, journal, resume, undo."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from decimal import Decimal

import pytest

from freshbooks_orm import Invoice, InvoiceLine, Money, ReadOnlyFieldError
from freshbooks_orm.batch import (
    BatchInterrupted,
    RunStateError,
    ConflictError,
    UnknownFieldError,
    resume,
    set_fields,
    undo,
)
from freshbooks_orm.journal import Journal
from freshbooks_orm.sandbox import Sandbox
from freshbooks_orm.transport import RetryPolicy

FAST = RetryPolicy(backoff=0.001, max_retry_after=0.05)


@pytest.fixture
def sb():
    with Sandbox(invoices=120, seed=5) as sandbox:
        yield sandbox


@pytest.fixture
def journal(tmp_path):
    with Journal(tmp_path / "journal.sqlite3") as j:
        yield j


def client_of(sandbox):
    return sandbox.client(retry=FAST)


def puts(sandbox):
    """Successful PUTs per invoice id."""
    return Counter(
        int(r.path.rsplit("/", 1)[1])
        for r in sandbox.requests
        if r.method == "PUT" and r.status == 200
    )


def fresh_read_then_put(sandbox):
    """Ids whose PUT came after exactly one GET of that invoice following the planning reads."""
    seen = {}
    out = set()
    for r in sandbox.requests:
        tail = r.path.rsplit("/", 1)[1]
        if not tail.isdigit():
            continue
        if r.method == "GET":
            seen[int(tail)] = seen.get(int(tail), 0) + 1
        elif r.method == "PUT":
            assert seen.get(int(tail)) == 1, f"PUT of {tail} without exactly one GET first"
            out.add(int(tail))
    return out


def writes(sandbox):
    return [r for r in sandbox.requests if r.method != "GET"]


def visible(sandbox):
    return {i for i, inv in sandbox.invoices.items() if inv["vis_state"] != 1}


def without_stamps(inv):
    return {k: v for k, v in inv.items() if k not in ("updated", "version", "notes")}


# --- bulk update --------------------------------------------------------------------------------


def test_500_invoices_8_workers_under_429s_and_503s_each_updated_exactly_once(journal):
    with Sandbox(invoices=500, seed=1) as sb:
        before = sb.invoices
        targets = visible(sb)
        sb.fail_next(429, headers={"Retry-After": "0"}, times=6, method="PUT")
        sb.fail_next(503, times=6, method="PUT")
        sb.fail_next(429, headers={"Retry-After": "0"}, times=3, method="PUT")
        # 15 faults among 8 workers can hit one PUT more than 3 times in a row: allow more retries
        client = sb.client(retry=RetryPolicy(max_retries=10, backoff=0.001, max_retry_after=0.05))
        result = Invoice.objects.using(client).update(
            notes="Thank you", workers=8, journal=journal, progress=False
        )
        after = sb.invoices
        statuses = Counter(r.status for r in sb.requests if r.method == "PUT")

    assert (result.matched, result.done, result.failed, result.unchanged) == (
        len(targets),
        len(targets),
        0,
        0,
    )
    assert statuses[429] == 9 and statuses[503] == 6  # the faults were hit and retried
    assert puts(sb) == Counter({i: 1 for i in targets})  # exactly once each
    assert all(
        r.json == {"invoice": {"notes": "Thank you"}} for r in sb.requests if r.method == "PUT"
    )
    for iid, inv in after.items():
        if iid in targets:
            assert inv["notes"] == "Thank you"
            assert without_stamps(inv) == without_stamps(before[iid])  # nothing else touched
        else:
            assert inv == before[iid]  # deleted invoices: not even read-modified
    run = journal.run(result.run_id)
    assert run.status == "finished" and run.count("done") == len(targets)


def test_only_invoices_the_edit_changes_are_written(sb, journal):
    client = client_of(sb)
    current = {i: inv["po_number"] for i, inv in sb.invoices.items() if inv["vis_state"] != 1}
    already = [i for i, po in current.items() if po]
    assert already
    sb.requests.clear()
    first = Invoice.objects.using(client).get(already[0])
    result = (
        Invoice.objects.using(client)
        .filter(invoiceid=first.id)
        .update(po_number=first.po_number, journal=journal, progress=False)
    )
    assert (result.matched, result.unchanged, result.done) == (1, 1, 0)
    assert not writes(sb)


def test_dry_run_sends_no_write_and_lists_old_and_new(sb, tmp_path):
    client = client_of(sb)
    qs = Invoice.objects.using(client).filter(v3_status="draft")
    drafts = {
        i: inv
        for i, inv in sb.invoices.items()
        if inv["v3_status"] == "draft" and inv["vis_state"] != 1
    }
    sb.requests.clear()
    path = tmp_path / "never.sqlite3"
    upd = qs.update(po_number="PO-7", dry_run=True, journal=path)
    dele = qs.delete(dry_run=True, journal=path)
    app = qs.apply(lambda inv: inv.lines.append(InvoiceLine(name="Fee", qty=1)), dry_run=True)
    assert not writes(sb)
    assert {r.method for r in sb.requests} == {"GET"}
    assert not path.exists()  # a dry run journals nothing
    assert upd.run_id is None and upd.dry_run and upd.done == 0
    assert {(c.invoice_id, c.field, c.old, c.new) for c in upd.changes} == {
        (i, "po_number", inv["po_number"], "PO-7") for i, inv in drafts.items()
    }
    assert {c.invoice_id for c in dele.changes} == set(drafts)
    assert all(c.field == "vis_state" and c.old in (0, 2) and c.new == 1 for c in dele.changes)
    assert all(c.field == "lines" and len(c.new) == len(c.old) + 1 for c in app.changes)
    assert "dry run, nothing sent" in str(upd) and "PO-7" in str(upd)


# --- apply, delete, undo ------------------------------------------------------------------------


def add_fee(inv):
    inv.lines.append(
        InvoiceLine(name="Late fee", qty=1, unit_cost=Money("25.00", inv.currency_code))
    )


def test_apply_sends_every_line_and_undo_restores_them(sb, journal):
    client = client_of(sb)
    overdue = {
        i: inv
        for i, inv in sb.invoices.items()
        if inv["v3_status"] == "overdue" and inv["vis_state"] != 1
    }
    assert overdue
    sb.requests.clear()
    result = (
        Invoice.objects.using(client)
        .filter(v3_status="overdue")
        .apply(add_fee, journal=journal, progress=False)
    )
    assert result.done == len(overdue) and result.ok
    gets = [r for r in sb.requests if r.method == "GET"]
    assert all(("include[]", "lines") in r.query for r in gets)  # no per-invoice lazy GET
    # one list request to plan, then one GET of each invoice right before its own PUT
    assert len([r for r in gets if r.path.endswith("/invoices")]) == 1
    assert fresh_read_then_put(sb) == set(overdue)
    for r in writes(sb):
        iid = int(r.path.rsplit("/", 1)[1])
        sent = r.json["invoice"]
        assert list(sent) == ["lines"]
        old_ids = [line["lineid"] for line in overdue[iid]["lines"]]
        assert [line.get("lineid") for line in sent["lines"]] == [*old_ids, None]
    for iid, inv in sb.invoices.items():
        if iid in overdue:
            assert inv["lines"][-1]["name"] == "Late fee"

    sb.requests.clear()
    reverted = undo(result.run_id, client=client, journal=journal, progress=False)
    assert reverted.done == len(overdue) and reverted.conflicts == 0
    assert puts(sb) == Counter({i: 1 for i in overdue})
    for iid, inv in sb.invoices.items():
        if iid in overdue:
            assert [line["name"] for line in inv["lines"]] == [
                line["name"] for line in overdue[iid]["lines"]
            ]
    assert journal.run(reverted.run_id).undoes == result.run_id


def test_delete_sends_vis_state_alone_and_undo_restores(sb, journal):
    client = client_of(sb)
    archived = next(i for i, inv in sb.invoices.items() if inv["vis_state"] == 2)
    ids = [*sorted(visible(sb))[:10], archived]
    sb.requests.clear()
    result = (
        Invoice.objects.using(client).filter(id__in=ids).delete(journal=journal, progress=False)
    )
    assert result.done == len(set(ids))
    assert all(r.json == {"invoice": {"vis_state": 1}} for r in writes(sb))
    assert all(sb.invoices[i]["vis_state"] == 1 for i in ids)
    reverted = undo(result.run_id, client=client, journal=journal, progress=False)
    assert reverted.done == len(set(ids))
    assert sb.invoices[archived]["vis_state"] == 2  # back to archived, not merely active
    assert all(sb.invoices[i]["vis_state"] == 0 for i in ids if i != archived)


def test_undo_refuses_invoices_changed_since_unless_forced(sb, journal):
    client = client_of(sb)
    ids = sorted(visible(sb))[:5]
    original = {i: sb.invoices[i]["po_number"] for i in ids}
    result = (
        Invoice.objects.using(client)
        .filter(id__in=ids)
        .update(po_number="PO-A", journal=journal, progress=False)
    )
    meddled = Invoice.objects.using(client).get(ids[0])
    meddled.terms = "Net 60"  # someone edits another field: updated moves
    meddled.save()
    sb.requests.clear()
    reverted = undo(result.run_id, client=client, journal=journal, progress=False)
    assert (reverted.done, reverted.conflicts) == (4, 1)
    assert isinstance(reverted.errors[ids[0]], ConflictError)
    assert sb.invoices[ids[0]]["po_number"] == "PO-A"
    assert ids[0] not in puts(sb)
    assert all(sb.invoices[i]["po_number"] == original[i] for i in ids[1:])
    assert not reverted.ok and "refused" in str(reverted)

    forced = resume(reverted.run_id, client=client, journal=journal, force=True, progress=False)
    assert forced.done == 5 and forced.conflicts == 0
    assert sb.invoices[ids[0]]["po_number"] == original[ids[0]]
    assert sb.invoices[ids[0]]["terms"] == "Net 60"  # undo writes only the run's own fields


# --- failures, interruption and resume ----------------------------------------------------------


def test_a_failing_invoice_is_counted_and_does_not_stop_the_rest(sb, journal):
    client = client_of(sb)
    ids = sorted(visible(sb))[:6]
    sb.fail_next(422, body={"response": {"errors": [{"errno": 1004, "message": "Nope."}]}},
                 method="PUT")  # fmt: skip
    result = (
        Invoice.objects.using(client)
        .filter(id__in=ids)
        .update(po_number="PO-F", journal=journal, workers=1, progress=False)
    )
    assert (result.done, result.failed) == (5, 1)
    (failed_id,) = result.errors
    assert "Nope." in str(result.errors[failed_id])
    assert journal.items(result.run_id, ("failed",))[0].object_id == failed_id
    sb.requests.clear()
    again = resume(result.run_id, client=client, journal=journal, progress=False)
    assert again.done == 6 and again.ok
    assert puts(sb) == Counter({failed_id: 1})


def test_ctrl_c_stops_cleanly_and_resume_finishes_without_repeating(sb, journal):
    client = client_of(sb)
    targets = visible(sb)

    def interrupt_after_ten(finished, total, outcome):
        if finished == 10:
            raise KeyboardInterrupt

    with pytest.raises(BatchInterrupted) as caught:
        Invoice.objects.using(client).update(
            notes="resumed", workers=2, journal=journal, progress=interrupt_after_ten
        )
    partial = caught.value.result
    assert partial.pending > 0 and partial.done >= 10
    run = journal.run(partial.run_id)
    assert run.status == "interrupted" and "writing" not in run.counts
    finished = resume(partial.run_id, client=client, journal=journal, progress=False)
    assert finished.done == len(targets) and finished.pending == 0
    assert journal.run(partial.run_id).status == "finished"
    assert puts(sb) == Counter({i: 1 for i in targets})


def test_resume_marks_an_item_caught_mid_write_done_without_sending_it_again(sb, journal):
    client = client_of(sb)
    ids = sorted(visible(sb))[:4]
    result = (
        Invoice.objects.using(client)
        .filter(id__in=ids)
        .update(po_number="PO-W", journal=journal, progress=False)
    )
    journal.acquire(result.run_id)
    for iid in ids[:2]:  # as if killed between the PUT and its record
        journal.db.execute("UPDATE items SET state = 'writing' WHERE object_id = ?", (iid,))
    journal.mark(result.run_id, ids[2], "planned")
    journal.release(result.run_id)
    sb.requests.clear()
    again = resume(result.run_id, client=client, journal=journal, progress=False)
    # the two caught mid-write had landed: done; the 'planned' one was never sent by this run,
    # so the value it already has is someone else's: unchanged, and undo leaves it alone
    assert (again.done, again.unchanged) == (3, 1)
    assert again.details[ids[2]] == "already had the new values"
    assert not writes(sb)  # each re-read showed the new values already there


def test_resume_refuses_to_touch_another_account(sb, journal):
    result = (
        Invoice.objects.using(client_of(sb))
        .filter(id__in=sorted(visible(sb))[:1])
        .update(po_number="X", journal=journal, progress=False)
    )
    other = sb.client(retry=FAST)
    other._account_id = "AbC12"
    with pytest.raises(ValueError, match="account zDmNq"):
        resume(result.run_id, client=other, journal=journal)


def test_progress_callback_sees_every_invoice(sb, journal):
    seen = []
    result = (
        Invoice.objects.using(client_of(sb))
        .filter(v3_status="paid")
        .update(
            po_number="P", journal=journal, progress=lambda n, total, item: seen.append((n, total))
        )
    )
    assert len(seen) == result.done and seen[-1] == (result.done, result.done)


# --- validation before any request ---------------------------------------------------------------


def test_bad_fields_raise_before_any_request(sb):
    qs = Invoice.objects.using(client_of(sb))
    sb.requests.clear()
    with pytest.raises(UnknownFieldError, match="Did you mean 'po_number'"):
        qs.update(po_numbr="x")
    with pytest.raises(ReadOnlyFieldError, match="delete"):
        qs.update(vis_state=1)
    with pytest.raises(ReadOnlyFieldError, match="computed"):
        qs.update(amount=Money("1", "USD"))
    with pytest.raises(ReadOnlyFieldError, match="creat"):
        qs.update(v3_status="paid")
    with pytest.raises(TypeError, match="po_number"):
        qs.update(po_number=5)
    with pytest.raises(TypeError, match="at least one field"):
        qs.update(dry_run=True)
    with pytest.raises(ValueError, match="workers"):
        qs.update(po_number="x", workers=0)
    assert sb.requests == []
    assert set_fields(Invoice, {"discount_value": "5"}).changes == {"discount_value": "5"}


def test_an_apply_function_that_saves_is_refused(sb, journal):
    def sneaky(inv):
        inv.po_number = "S"
        inv.save()

    ids = sorted(visible(sb))[:2]
    sb.requests.clear()
    result = (
        Invoice.objects.using(client_of(sb))
        .filter(id__in=ids)
        .apply(sneaky, journal=journal, progress=False)
    )
    assert result.failed == 2 and not writes(sb)
    assert "must only change the object" in str(next(iter(result.errors.values())))


# --- the SIGKILL test ----------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys
    from freshbooks_orm import Client, Invoice
    from freshbooks_orm.transport import RetryPolicy
    url, token, journal = sys.argv[1:4]
    client = Client(access_token=token, account_id="zDmNq", base_url=url,
                    retry=RetryPolicy(backoff=0.001, max_retry_after=0.05))
    Invoice.objects.using(client).update(po_number="PO-KILL", workers=4, journal=journal,
                                         progress=False)
    """
)


def run_child_and_kill(sb, path, after_done=40):
    """Start CHILD against ``sb``, SIGKILL it once ``after_done`` invoices are done."""
    sb.latency = 0.01
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, sb.url, sb.access_token, str(path)],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 20
        done = 0
        while time.monotonic() < deadline:
            time.sleep(0.02)
            if path.exists():
                with Journal(path) as j:
                    runs = j.runs()
                    done = runs[0].count("done") if runs else 0
            if done >= after_done:
                break
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    time.sleep(0.2)  # let the sandbox finish answering requests the child had in flight
    sb.latency = 0.0


@pytest.mark.slow
def test_a_run_killed_halfway_then_resumed_updates_every_invoice_exactly_once(tmp_path):
    path = tmp_path / "journal.sqlite3"
    with Sandbox(invoices=200, seed=2) as sb:
        targets = visible(sb)
        run_child_and_kill(sb, path)
        with Journal(path) as j:
            run = j.runs()[0]
            assert 40 <= run.count("done") < len(targets)  # killed halfway
            assert run.status == "interrupted"  # its process is gone: not shown as running
            assert run.lease is not None and run.lease.alive is False
            result = resume(run.id, client=client_of(sb), journal=j, progress=False)
            assert result.done == len(targets) and result.ok
            assert j.run(run.id).status == "finished"
        assert puts(sb) == Counter({i: 1 for i in targets})
        assert all(sb.invoices[i]["po_number"] == "PO-KILL" for i in targets)


@pytest.mark.slow
def test_a_run_killed_right_after_some_puts_is_fully_undone(tmp_path):
    path = tmp_path / "journal.sqlite3"
    with Sandbox(invoices=200, seed=2) as sb:
        original = {i: inv["po_number"] for i, inv in sb.invoices.items()}
        run_child_and_kill(sb, path, after_done=20)
        landed = {i for i, inv in sb.invoices.items() if inv["po_number"] == "PO-KILL"}
        with Journal(path) as j:
            run = j.runs()[0]
            assert run.count("done") < len(landed) + 1 and run.pending  # killed halfway
            result = undo(run.id, client=client_of(sb), journal=j, progress=False)
            assert result.ok and result.done == len(landed)
            assert any("never written" in note for note in result.notes)
            assert j.run(run.id).status == "undone"
            with pytest.raises(RunStateError, match="undone"):
                resume(run.id, client=client_of(sb), journal=j)
        # no invoice keeps the run's change, including any whose PUT landed unrecorded
        assert {i: inv["po_number"] for i, inv in sb.invoices.items()} == original


def test_money_and_decimal_values_round_trip_through_the_journal(sb, journal):
    ids = sorted(visible(sb))[:3]
    result = (
        Invoice.objects.using(client_of(sb))
        .filter(id__in=ids)
        .update(deposit_percentage=Decimal("12.5"), journal=journal, progress=False)
    )
    assert result.done == 3
    assert {sb.invoices[i]["deposit_percentage"] for i in ids} == {"12.5"}
    reverted = undo(result.run_id, client=client_of(sb), journal=journal, progress=False)
    assert reverted.done == 3 and reverted.conflicts == 0
