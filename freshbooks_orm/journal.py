"""The batch journal: an SQLite file recording every batch run, item by item.

A *run* is one batch fix (``update``, ``delete``, ``apply`` or ``undo``): its filter, its
changes, who ran it, when, against which account and API host (never a token), and its counts.
An *item* is one invoice of a run, with a state that moves

    planned -> writing -> done | failed | conflict          (or ``unchanged`` from the start)

and the images needed to finish or reverse the run: ``before`` (the server's values of the
fields to change, including the full old lines when lines change), ``before_updated``,
``payload`` (what the PUT carries), ``after`` (the server's values after the write) and
``after_updated``.  ``writing`` is recorded *before* the PUT is sent, so an item found in that
state after a crash is one whose write may or may not have happened: ``resume`` re-reads it.

The file is opened in WAL mode so another process can read it while a run writes.  One
connection is shared by the threads of a process behind a lock.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import secrets
import sqlite3
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

import attrs

__all__ = [
    "FINAL_STATES",
    "STATES",
    "ItemRecord",
    "Journal",
    "RunRecord",
    "default_journal_path",
]

#: Every item state, in the order a run moves through them.
STATES = ("planned", "writing", "done", "unchanged", "failed", "conflict")
#: States ``resume`` leaves alone.
FINAL_STATES = frozenset({"done", "unchanged"})
SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id            TEXT PRIMARY KEY,
    action        TEXT NOT NULL,
    resource      TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    api_host      TEXT NOT NULL,
    filter        TEXT NOT NULL,
    changes       TEXT NOT NULL,
    note          TEXT,
    undoes        TEXT,
    user          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    finished_at   TEXT,
    status        TEXT NOT NULL,
    matched       INTEGER NOT NULL DEFAULT 0,
    planned       INTEGER NOT NULL DEFAULT 0,
    done          INTEGER NOT NULL DEFAULT 0,
    unchanged     INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0,
    conflict      INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS items (
    run_id         TEXT NOT NULL REFERENCES runs(id),
    invoice_id     INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    state          TEXT NOT NULL,
    before         TEXT,
    before_updated TEXT,
    payload        TEXT,
    after          TEXT,
    after_updated  TEXT,
    error          TEXT,
    changed_at     TEXT NOT NULL,
    PRIMARY KEY (run_id, invoice_id)
);
CREATE INDEX IF NOT EXISTS items_state ON items (run_id, state);
"""


def default_journal_path() -> Path:
    """``$FRESHBOOKS_ORM_JOURNAL``, else ``journal.sqlite3`` in the user's data directory.

    Linux and others: ``$XDG_DATA_HOME/freshbooks_orm`` (``~/.local/share/freshbooks_orm``);
    macOS: ``~/Library/Application Support/freshbooks_orm``; Windows:
    ``%LOCALAPPDATA%\\freshbooks_orm``.
    """
    explicit = os.environ.get("FRESHBOOKS_ORM_JOURNAL")
    if explicit:
        return Path(explicit).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "freshbooks_orm" / "journal.sqlite3"


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): still record something
        return "unknown"


def new_run_id() -> str:
    """A sortable, typeable id: ``20240501-134502-3fa9``."""
    now = dt.datetime.now(dt.timezone.utc)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in the journal")


def dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=_json_default, sort_keys=True)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@attrs.frozen
class RunRecord:
    """One run as the journal holds it; the counts are computed from its items."""

    id: str
    action: str
    resource: str
    account_id: str
    api_host: str
    filter: Any
    changes: Any
    note: str | None
    undoes: str | None
    user: str
    created_at: str
    finished_at: str | None
    status: str
    matched: int
    counts: Mapping[str, int]

    def count(self, state: str) -> int:
        return int(self.counts.get(state, 0))

    @property
    def planned(self) -> int:
        """Invoices with a change to write (every item but the unchanged ones)."""
        return sum(n for s, n in self.counts.items() if s != "unchanged")

    @property
    def pending(self) -> int:
        """Items ``resume`` would still look at."""
        return sum(n for s, n in self.counts.items() if s not in FINAL_STATES)


@attrs.frozen
class ItemRecord:
    run_id: str
    invoice_id: int
    seq: int
    state: str
    before: Any
    before_updated: str | None
    payload: Any
    after: Any
    after_updated: str | None
    error: str | None
    changed_at: str


class Journal:
    """The journal file. Safe to share between the threads of one process.

    >>> import tempfile, os
    >>> j = Journal(os.path.join(tempfile.mkdtemp(), "j.sqlite3"))
    >>> j.runs()
    []
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_journal_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            str(self.path), check_same_thread=False, isolation_level=None, timeout=30.0
        )
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=30000")
            with self._transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)",
                    (SCHEMA_VERSION,),
                )

    def __repr__(self) -> str:
        return f"<Journal {str(self.path)!r}>"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # --- writing ---------------------------------------------------------------------------------

    def create_run(
        self,
        *,
        action: str,
        resource: str,
        account_id: str,
        api_host: str,
        filter: Any,
        changes: Any,
        items: Iterable[Mapping[str, Any]],
        matched: int,
        note: str | None = None,
        undoes: str | None = None,
    ) -> str:
        """Record a new run and all its planned items in one transaction; return its id.

        Each item is a mapping with ``invoice_id``, ``state`` and optionally ``before``,
        ``before_updated``, ``payload`` and ``error``.
        """
        run_id = new_run_id()
        now = utc_now()
        with self._transaction() as db:
            while db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
                run_id = new_run_id()
            db.execute(
                "INSERT INTO runs (id, action, resource, account_id, api_host, filter, changes,"
                " note, undoes, user, created_at, status, matched)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)",
                (
                    run_id,
                    action,
                    resource,
                    account_id,
                    api_host,
                    dumps(filter),
                    dumps(changes),
                    note,
                    undoes,
                    current_user(),
                    now,
                    matched,
                ),
            )
            db.executemany(
                "INSERT INTO items (run_id, invoice_id, seq, state, before, before_updated,"
                " payload, error, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        int(item["invoice_id"]),
                        seq,
                        item["state"],
                        dumps(item.get("before")),
                        item.get("before_updated"),
                        dumps(item.get("payload")),
                        item.get("error"),
                        now,
                    )
                    for seq, item in enumerate(items)
                ],
            )
        return run_id

    def mark(
        self,
        run_id: str,
        invoice_id: int,
        state: str,
        *,
        after: Any = None,
        after_updated: str | None = None,
        error: str | None = None,
    ) -> None:
        """Move one item to ``state`` (committed before this returns)."""
        if state not in STATES:
            raise ValueError(f"unknown item state {state!r}; valid: {', '.join(STATES)}")
        with self._lock:
            if state == "done":
                self._db.execute(
                    "UPDATE items SET state = ?, after = ?, after_updated = ?, error = NULL,"
                    " changed_at = ? WHERE run_id = ? AND invoice_id = ?",
                    (state, dumps(after), after_updated, utc_now(), run_id, invoice_id),
                )
            else:
                self._db.execute(
                    "UPDATE items SET state = ?, error = ?, changed_at = ?"
                    " WHERE run_id = ? AND invoice_id = ?",
                    (state, error, utc_now(), run_id, invoice_id),
                )

    def set_status(self, run_id: str, status: str) -> None:
        """Set a run's status (``running``, ``finished``, ``interrupted``) and store its counts."""
        counts = self.counts(run_id)
        with self._lock:
            self._db.execute(
                "UPDATE runs SET status = ?, finished_at = ?, planned = ?, done = ?,"
                " unchanged = ?, failed = ?, conflict = ? WHERE id = ?",
                (
                    status,
                    None if status == "running" else utc_now(),
                    sum(n for s, n in counts.items() if s != "unchanged"),
                    counts.get("done", 0),
                    counts.get("unchanged", 0),
                    counts.get("failed", 0),
                    counts.get("conflict", 0),
                    run_id,
                ),
            )

    # --- reading ---------------------------------------------------------------------------------

    def resolve(self, run_id: str) -> str:
        """The full id of a run given its id, a unique prefix of it, or ``latest``."""
        with self._lock:
            if run_id == "latest":
                row = self._db.execute(
                    "SELECT id FROM runs ORDER BY created_at DESC, rowid DESC LIMIT 1"
                ).fetchone()
                if row is None:
                    raise KeyError("the journal has no runs yet")
                return str(row["id"])
            rows = self._db.execute(
                "SELECT id FROM runs WHERE id = ? OR id LIKE ? ESCAPE '\\' LIMIT 3",
                (
                    run_id,
                    run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",
                ),
            ).fetchall()
        ids = [str(r["id"]) for r in rows]
        if run_id in ids:
            return run_id
        if len(ids) == 1:
            return ids[0]
        if not ids:
            raise KeyError(f"no run {run_id!r} in the journal {str(self.path)!r}")
        raise KeyError(f"run id {run_id!r} is ambiguous: {', '.join(ids)}, ...")

    def counts(self, run_id: str) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT state, COUNT(*) AS n FROM items WHERE run_id = ? GROUP BY state", (run_id,)
            ).fetchall()
        return {str(r["state"]): int(r["n"]) for r in rows}

    def run(self, run_id: str) -> RunRecord:
        """The run ``run_id`` (an id, a unique prefix, or ``latest``); ``KeyError`` if none."""
        full = self.resolve(run_id)
        with self._lock:
            row = self._db.execute("SELECT * FROM runs WHERE id = ?", (full,)).fetchone()
        return self._run_record(row, self.counts(full))

    def runs(self, limit: int | None = None) -> list[RunRecord]:
        """Runs, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM runs ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (-1 if limit is None else limit,),
            ).fetchall()
        return [self._run_record(row, self.counts(str(row["id"]))) for row in rows]

    def items(self, run_id: str, states: Iterable[str] | None = None) -> list[ItemRecord]:
        """The items of a run in planning order, optionally only those in ``states``."""
        sql = "SELECT * FROM items WHERE run_id = ?"
        args: list[Any] = [run_id]
        if states is not None:
            wanted = list(states)
            sql += f" AND state IN ({', '.join('?' for _ in wanted)})"
            args.extend(wanted)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seq", args).fetchall()
        return [
            ItemRecord(
                run_id=str(r["run_id"]),
                invoice_id=int(r["invoice_id"]),
                seq=int(r["seq"]),
                state=str(r["state"]),
                before=loads(r["before"]),
                before_updated=r["before_updated"],
                payload=loads(r["payload"]),
                after=loads(r["after"]),
                after_updated=r["after_updated"],
                error=r["error"],
                changed_at=str(r["changed_at"]),
            )
            for r in rows
        ]

    @staticmethod
    def _run_record(row: sqlite3.Row, counts: Mapping[str, int]) -> RunRecord:
        return RunRecord(
            id=str(row["id"]),
            action=str(row["action"]),
            resource=str(row["resource"]),
            account_id=str(row["account_id"]),
            api_host=str(row["api_host"]),
            filter=loads(row["filter"]),
            changes=loads(row["changes"]),
            note=row["note"],
            undoes=row["undoes"],
            user=str(row["user"]),
            created_at=str(row["created_at"]),
            finished_at=row["finished_at"],
            status=str(row["status"]),
            matched=int(row["matched"]),
            counts=dict(counts),
        )
