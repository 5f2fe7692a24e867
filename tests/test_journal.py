"""The batch journal on its own: where it lives, what runs and items record, how ids resolve."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from freshbooks_orm.journal import Journal, default_journal_path


@pytest.fixture
def journal(tmp_path: Path):
    with Journal(tmp_path / "j.sqlite3") as j:
        yield j


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
