"""The batch journal on its own: where it lives, what runs and items record, how ids resolve."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from freshbooks_orm import JournalError, RunInUseError, UnknownRunError
from freshbooks_orm.batch.journal import Journal, current_host, default_journal_path


def make_run(j: Journal, n: int = 3, **kw) -> str:
    items = [
        {
            "object_id": 100 + i,
            "state": "planned",
            "before": {"po_number": None},
            "before_updated": "2024-01-01 00:00:00",
            "payload": {"po_number": "PO-7"},
        }
        for i in range(n)
    ]
    items.append({"object_id": 999, "state": "unchanged"})
    defaults = dict(
        action="update",
        resource="invoices",
        account_id="zDmNq",
        api_host="api.example",
        filter={"params": [["search[v3_status]", "sent"]]},
        changes={"set": {"po_number": "PO-7"}},
        matched=n + 1,
    )
    defaults.update(kw)
    return j.create_run(items=items, **defaults)


def test_default_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FRESHBOOKS_ORM_JOURNAL", str(tmp_path / "mine.db"))
    assert default_journal_path() == tmp_path / "mine.db"
    monkeypatch.delenv("FRESHBOOKS_ORM_JOURNAL")
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
        assert default_journal_path() == tmp_path / "data" / "freshbooks_orm" / "journal.sqlite3"
        monkeypatch.delenv("XDG_DATA_HOME")
        expected = Path.home() / ".local" / "share" / "freshbooks_orm" / "journal.sqlite3"
        assert default_journal_path() == expected


def test_a_run_records_who_when_where_what_and_its_items(journal):
    run_id = make_run(journal, note="March PO fix")
    run = journal.run(run_id)
    assert run.action == "update" and run.resource == "invoices"
    assert run.account_id == "zDmNq" and run.api_host == "api.example"
    assert run.filter == {"params": [["search[v3_status]", "sent"]]}
    assert run.changes == {"set": {"po_number": "PO-7"}}
    assert run.note == "March PO fix" and run.user and run.created_at.endswith("+00:00")
    assert run.counts == {"planned": 3, "unchanged": 1}
    assert run.planned == 3 and run.pending == 3 and run.matched == 4
    items = journal.items(run_id)
    assert [i.object_id for i in items] == [100, 101, 102, 999]  # planning order
    assert items[0].before == {"po_number": None} and items[0].payload == {"po_number": "PO-7"}


def test_items_move_through_their_states(journal):
    run_id = make_run(journal, lease=True)
    journal.mark(run_id, 100, "writing")
    journal.mark(run_id, 101, "failed", error="ServerError: boom")
    journal.mark(run_id, 102, "done", after={"po_number": "PO-7"}, after_updated="2024-01-02")
    assert journal.counts(run_id) == {"writing": 1, "failed": 1, "done": 1, "unchanged": 1}
    done = journal.items(run_id, ("done",))[0]
    assert done.after == {"po_number": "PO-7"} and done.after_updated == "2024-01-02"
    assert journal.items(run_id, ("failed",))[0].error == "ServerError: boom"
    journal.set_status(run_id, "interrupted")
    assert journal.run(run_id).status == "interrupted"
    with pytest.raises(ValueError, match="unknown item state"):
        journal.mark(run_id, 100, "half-done")


def test_run_ids_resolve_from_a_prefix_or_latest(journal):
    first = make_run(journal)
    second = make_run(journal)
    assert journal.resolve(first) == first
    assert journal.resolve("latest") == second
    if not first.startswith(second[:-1]):
        assert journal.resolve(second[:-1]) == second
    with pytest.raises(KeyError, match="ambiguous"):
        journal.resolve(first[:8])  # the date: both runs
    with pytest.raises(KeyError, match="no run"):
        journal.resolve("nope")
    assert [r.id for r in journal.runs()] == [second, first]


def test_another_process_can_read_while_a_run_writes(journal):
    run_id = make_run(journal)
    assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other = sqlite3.connect(str(journal.path))
    try:
        journal.mark(run_id, 100, "done", after={}, after_updated="x")
        (count,) = other.execute("SELECT COUNT(*) FROM items WHERE state = 'done'").fetchone()
        assert count == 1
    finally:
        other.close()


# --- run ids --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "2"])
def test_an_empty_or_too_short_run_id_is_refused(journal, text):
    make_run(journal)  # the only run: an empty prefix would "match" it
    with pytest.raises(UnknownRunError) as caught:
        journal.resolve(text)
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, JournalError)
    assert "latest" in str(caught.value)


def test_an_ambiguous_prefix_lists_the_candidates(journal):
    ids = [make_run(journal) for _ in range(3)]
    prefix = ids[0][:9]  # the date and the dash: all three
    with pytest.raises(UnknownRunError, match="ambiguous") as caught:
        journal.resolve(prefix)
    assert all(run_id in str(caught.value) for run_id in ids)
    assert journal.resolve(ids[1]) == ids[1]


# --- typed errors ---------------------------------------------------------------------------------


def test_a_corrupt_file_is_a_journal_error_naming_the_file(tmp_path):
    path = tmp_path / "journal.sqlite3"
    path.write_bytes(b"this is not an SQLite file at all" * 100)
    with pytest.raises(JournalError, match="corrupt or not a journal") as caught:
        Journal(path)
    assert caught.value.journal_path == str(path) and str(path) in str(caught.value)
    assert "move it aside" in str(caught.value)


def test_a_directory_is_a_journal_error(tmp_path):
    with pytest.raises(JournalError, match="is a directory") as caught:
        Journal(tmp_path)
    assert "--journal" in str(caught.value)


def test_a_lock_held_too_long_is_a_journal_error(tmp_path):
    path = tmp_path / "j.sqlite3"
    Journal(path).close()
    other = sqlite3.connect(str(path), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with Journal(path, timeout=0.1) as j, pytest.raises(JournalError, match="locked"):
            make_run(j)
        assert Journal(path, timeout=0.1).runs() == []  # reading still works
    finally:
        other.execute("ROLLBACK")
        other.close()


FULL_DISK_CHILD = """
import os, resource, signal, sys
from freshbooks_orm import JournalError
from freshbooks_orm.batch.journal import Journal
path = sys.argv[1]
j = Journal(path)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write (EFBIG) instead of dying
resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(path) + 4096, resource.RLIM_INFINITY))
items = [{"object_id": i, "state": "planned", "payload": {"notes": "x" * 200}} for i in range(50)]
try:
    j.create_run(action="update", resource="invoices", account_id="a", api_host="h",
                 filter={}, changes={}, items=items, matched=50)
except JournalError as exc:
    print("JournalError:", exc)
    sys.exit(3)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_full_disk_is_a_journal_error(tmp_path):
    path = tmp_path / "j.sqlite3"
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK_CHILD, str(path)], capture_output=True, text=True
    )
    assert done.returncode == 3, done.stderr
    assert "JournalError:" in done.stdout and "full" in done.stdout and str(path) in done.stdout
    assert "Traceback" not in done.stderr
    with Journal(path) as j:
        assert j.runs() == []  # nothing half-written


# --- leases ---------------------------------------------------------------------------------------


@pytest.fixture
def other_process():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    yield proc
    proc.kill()
    proc.wait()


def set_lease(j, run_id, pid, host=None):
    j.db.execute(
        "UPDATE runs SET lease_pid = ?, lease_host = ?, lease_since = '2026-01-01T00:00:00+00:00',"
        " lease_token = 'theirs' WHERE id = ?",
        (pid, host or current_host(), run_id),
    )


def test_a_run_held_by_a_live_process_is_refused_naming_it(journal, other_process):
    run_id = make_run(journal)
    set_lease(journal, run_id, other_process.pid)
    assert journal.run(run_id).status == "running"
    with pytest.raises(RunInUseError, match=f"pid {other_process.pid}") as caught:
        journal.acquire(run_id)
    assert caught.value.holder and current_host() in caught.value.holder
    with pytest.raises(RunInUseError):  # and no item can be marked writing without the lease
        journal.mark(run_id, 100, "writing")


def test_a_dead_holders_lease_is_taken_over(journal):
    run_id = make_run(journal)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True)  # fmt: skip
    set_lease(journal, run_id, int(gone.stdout))
    assert journal.run(run_id).status == "interrupted"  # not "running" forever
    with journal.leased(run_id):
        lease = journal.run(run_id).lease
        assert lease is not None and lease.pid == os.getpid() and lease.mine
        journal.mark(run_id, 100, "writing")
        with pytest.raises(RunInUseError, match="this process"):
            Journal(journal.path).acquire(run_id)  # another thread/Journal of this process
    assert journal.run(run_id).lease is None


def test_a_lease_on_another_host_is_not_taken_over(journal):
    run_id = make_run(journal)
    set_lease(journal, run_id, 1, host="elsewhere.example")
    with pytest.raises(RunInUseError, match="another host") as caught:
        journal.acquire(run_id)
    # ... and the error shows the way out
    assert f"freshbooks-orm runs unlock {run_id}" in str(caught.value)
    assert "Journal.break_lease" in str(caught.value)


# --- breaking a lease -----------------------------------------------------------------------------


def dead_pid() -> int:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True)  # fmt: skip
    return int(gone.stdout)


def stored(j, run_id):
    """The run's row as stored (not as shown: ``run()`` shows a lease-less ``running`` run as
    ``interrupted`` whatever is stored)."""
    return j.db.execute(
        "SELECT status, lease_pid, lease_host, lease_token FROM runs WHERE id = ?", (run_id,)
    ).fetchone()


def test_breaking_the_lease_of_a_holder_gone_from_this_host_needs_no_confirmation(journal):
    run_id = make_run(journal)
    pid = dead_pid()
    set_lease(journal, run_id, pid)
    broken = journal.break_lease(run_id[:12])  # a prefix works, as everywhere
    assert broken is not None and broken.pid == pid and broken.host == current_host()
    row = stored(journal, run_id)
    assert row["lease_token"] is None and row["lease_pid"] is None
    assert row["status"] == "interrupted"  # was 'running'
    journal.acquire(run_id)
    journal.mark(run_id, 100, "writing")


def test_a_live_holder_on_this_host_is_never_broken(journal, other_process):
    run_id = make_run(journal)
    set_lease(journal, run_id, other_process.pid)
    lease = journal.run(run_id).lease
    for holder in (None, lease, str(lease)):  # not even when confirmed
        with pytest.raises(RunInUseError, match=f"pid {other_process.pid}") as caught:
            journal.break_lease(run_id, holder=holder)
        assert "never broken" in str(caught.value) and caught.value.holder == str(lease)
    row = stored(journal, run_id)
    assert row["lease_token"] == "theirs" and row["status"] == "running"


def test_this_processs_own_lease_is_never_broken(journal):
    run_id = make_run(journal, lease=True)
    lease = journal.run(run_id).lease
    with pytest.raises(RunInUseError, match="this process"):
        Journal(journal.path).break_lease(run_id, holder=lease)
    journal.mark(run_id, 100, "writing")  # still ours


@pytest.mark.parametrize("confirm", ["lease", "text", "text as in the error"])
def test_a_lease_on_another_host_is_broken_only_when_confirmed(journal, confirm):
    run_id = make_run(journal)
    set_lease(journal, run_id, 4242, host="elsewhere.example")
    lease = journal.run(run_id).lease
    assert journal.run(run_id).status == "running"  # liveness unknown: shown as running
    with pytest.raises(RunInUseError, match="cannot be checked") as caught:
        journal.break_lease(run_id)
    assert f"runs unlock {run_id}" in str(caught.value) and "holder=" in str(caught.value)
    assert stored(journal, run_id)["lease_token"] == "theirs"  # nothing cleared
    with pytest.raises(RunInUseError, match="changed since it was shown"):
        journal.break_lease(
            run_id, holder="pid 4242 on elsewhere.example since 2025-12-31T00:00:00Z"
        )
    assert stored(journal, run_id)["lease_token"] == "theirs"
    if confirm == "lease":
        holder = lease
    elif confirm == "text":
        holder = f"  {lease}\n"  # as pasted
    else:
        with pytest.raises(RunInUseError) as refused:
            journal.acquire(run_id)
        holder = refused.value.holder
    assert journal.break_lease(run_id, holder=holder) == lease
    row = stored(journal, run_id)
    assert row["lease_token"] is None and row["lease_host"] is None
    assert row["status"] == "interrupted" and journal.run(run_id).status == "interrupted"
    journal.acquire(run_id)  # resume and undo can take it now


@pytest.mark.parametrize("form", ["lease", "text"])
def test_a_lease_re_taken_between_show_and_break_is_not_broken(journal, form):
    run_id = make_run(journal)
    set_lease(journal, run_id, 4242, host="elsewhere.example")
    shown = journal.run(run_id).lease
    # meanwhile the run is resumed elsewhere: a new lease (same pid and second for the lease
    # form, so only the token tells them apart; a new time for the text form)
    since = shown.since if form == "lease" else "2026-01-01T00:05:00+00:00"
    journal.db.execute(
        "UPDATE runs SET lease_since = ?, lease_token = 'new' WHERE id = ?", (since, run_id)
    )
    with pytest.raises(RunInUseError, match="changed since it was shown") as caught:
        journal.break_lease(run_id, holder=shown if form == "lease" else str(shown))
    assert "elsewhere.example" in caught.value.holder
    row = stored(journal, run_id)
    assert row["lease_token"] == "new" and row["status"] == "running"  # nothing cleared


def test_breaking_a_run_without_a_lease_is_a_no_op(journal):
    run_id = make_run(journal)
    journal.set_status(run_id, "finished")
    assert journal.break_lease(run_id) is None
    assert journal.break_lease(run_id, holder="pid 1 on x since y") is None  # released since
    assert stored(journal, run_id)["status"] == "finished"


def test_breaking_an_unknown_run_is_an_unknown_run_error(journal):
    make_run(journal)
    with pytest.raises(UnknownRunError, match="no run"):
        journal.break_lease("20000101-000000-dead")


OLD_HOLDER = """
import sys
from freshbooks_orm import RunInUseError
from freshbooks_orm.batch.journal import Journal
j = Journal(sys.argv[1])
run_id = sys.argv[2]
j.acquire(run_id)
j.mark(run_id, 100, "writing", payload={"po_number": "OLD"})
print("holding", flush=True)
sys.stdin.readline()  # the lease is broken meanwhile
try:
    j.mark(run_id, 101, "writing", payload={"po_number": "OLD"})
except RunInUseError as exc:
    print("refused:", exc, flush=True)
    sys.exit(3)
print("wrote", flush=True)
"""


def test_a_holder_whose_lease_was_broken_writes_nothing_more(journal):
    run_id = make_run(journal)
    old = subprocess.Popen([sys.executable, "-c", OLD_HOLDER, str(journal.path), run_id],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert old.stdout.readline() == "holding\n"
        with pytest.raises(RunInUseError, match="never broken"):  # alive, on this host
            journal.break_lease(run_id)
        # as if that process ran on another host (a container, a laptop) that is thought gone
        journal.db.execute("UPDATE runs SET lease_host = 'elsewhere.example' WHERE id = ?",
                           (run_id,))  # fmt: skip
        assert journal.break_lease(run_id, holder=journal.run(run_id).lease) is not None
        with journal.leased(run_id):  # the run is resumed here
            journal.mark(run_id, 100, "writing", payload={"po_number": "NEW"})
            old.stdin.write("go\n")
            old.stdin.flush()
            assert old.wait(30) == 3
            assert "no longer holds the run's lease" in old.stdout.read()
            items = {i.object_id: i for i in journal.items(run_id)}
            assert items[100].payload == {"po_number": "NEW"}  # its mark was taken over
            assert items[101].state == "planned"  # the old holder's next write never happened
            assert items[101].payload == {"po_number": "PO-7"}
    finally:
        if old.poll() is None:
            old.kill()
        old.wait()
        old.stdin.close()
        old.stdout.close()


# --- schema 1 -------------------------------------------------------------------------------------

V1 = Path(__file__).parent / "data" / "journal_v1.sqlite3"


def test_a_schema_1_journal_is_migrated_in_place(tmp_path):
    path = tmp_path / "old.sqlite3"
    shutil.copy(V1, path)
    with Journal(path) as j:
        runs = {r.note: r for r in j.runs()}
        assert j.db.execute("PRAGMA user_version").fetchone()[0] == 2
        assert {r.resource for r in runs.values()} == {"invoices"}
        assert runs["finished"].status == "finished" and runs["finished"].count("done") == 5
        assert runs["interrupted"].counts == {"done": 5, "planned": 7}
        assert runs["undone"].status == "undone"
        assert runs["the undo"].undoes == runs["undone"].id
        items = j.items(runs["finished"].id)
        assert len(items) == 5 and all(i.resource == "invoices" for i in items)
        assert "po_number" in items[0].before and items[0].payload == {"po_number": "PO-V1"}
    with Journal(path) as j:  # opening again is a no-op
        assert len(j.runs()) == 4


def test_closing_a_journal_gives_its_leases_back(tmp_path):
    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    run_id = make_run(j, lease=True)
    assert j.run(run_id).lease is not None
    j.close()
    with Journal(path) as again:
        assert again.run(run_id).lease is None
        again.acquire(run_id)
