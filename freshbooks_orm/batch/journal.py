"""The batch journal: an SQLite file recording every batch run, object by object.

A *run* is one batch fix (``update``, ``delete``, ``apply`` or ``undo``) over one resource (its
API name, e.g. ``"invoices"``): its filter, its changes, who ran it, when, against which account
and API host (never a token), and its counts.  An *item* is one object of a run
(``resource`` + ``object_id``), with a state that moves

    planned -> writing -> done | failed | conflict          (or ``unchanged`` from the start)

and the images needed to finish or reverse the run: ``before`` (the server's values of the
fields to change as read right before the write, including the full old lines when lines
change), ``before_updated``, ``payload`` (what the PUT carries), ``after`` (the server's values
after the write), ``after_updated`` and ``detail`` (why the item was re-planned, forced or
settled).  ``writing`` is recorded *before* the PUT is sent, so an item found in that state
after a crash is one whose write may or may not have happened: ``resume`` and ``undo`` re-read it.

**One process per run.**  A run carries a *lease*: the pid and host of the process writing it,
since when, and a random token.  ``acquire()`` refuses (``RunInUseError``, naming the holder)
while the holder is alive, and takes the lease over when its process is gone (checked with the
pid on the same host; a lease held on another host is never taken over automatically).  Every
``writing`` mark checks that the lease is still this process's, in the same statement.
A run whose status is ``running`` but whose holder is gone is shown as ``interrupted``.

**Breaking a lease.**  A lease on another host (a container with a throwaway hostname, a laptop
that died with the journal on a shared drive) cannot be checked from here, so only a person can
say its process is gone: ``break_lease(run_id, holder=...)`` (``freshbooks-orm runs unlock RUN``)
clears it when ``holder`` is the lease that person was shown; a lease re-taken since is not
broken.  A holder gone from this host is cleared without confirmation; a live one on this host
never is.  The run becomes ``interrupted``, for ``resume`` or ``undo``; if the old holder runs
after all, the ``writing`` check above stops it before its next write.

**Errors** are ``JournalError`` (corrupt file, a directory, locked too long, disk full), naming
the file and what to do; never a raw ``sqlite3`` exception.

**Schema.**  ``PRAGMA user_version`` is the schema version (2).  A version-1 file (0.1.0: an
``invoice_id`` column, model class names as resources) is migrated in place when opened, in one
transaction; its runs can still be listed, resumed and undone.

The file is opened in WAL mode so another process can read it while a run writes.  One
connection is shared by the threads of a process behind a lock.
"""

from __future__ import annotations

import datetime as dt
import errno as errno_mod
import getpass
import json
import os
import secrets
import socket
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

from ..errors import JournalError, RunInUseError, UnknownRunError

__all__ = [
    "FINAL_STATES",
    "STATES",
    "ItemRecord",
    "Journal",
    "Lease",
    "RunRecord",
    "default_journal_path",
]

#: Every item state, in the order a run moves through them.
STATES = ("planned", "writing", "done", "unchanged", "failed", "conflict")
#: States ``resume`` leaves alone.
FINAL_STATES = frozenset({"done", "unchanged"})
#: Run statuses as stored (``running`` is shown as ``interrupted`` once its process is gone).
STATUSES = ("running", "finished", "interrupted", "undone")
SCHEMA_VERSION = 2
#: Resource names of schema 1 (model class names) -> API resource names.
_V1_RESOURCES = {"Invoice": "invoices"}
#: The shortest run id prefix accepted (the date alone is not an id).
MIN_PREFIX = 4

#: The items table's columns: one definition for a new journal and the schema-1 migration.
_ITEMS_COLUMNS = """(
    run_id         TEXT NOT NULL REFERENCES runs(id),
    resource       TEXT NOT NULL,
    object_id      INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    state          TEXT NOT NULL,
    before         TEXT,
    before_updated TEXT,
    payload        TEXT,
    after          TEXT,
    after_updated  TEXT,
    error          TEXT,
    detail         TEXT,
    changed_at     TEXT NOT NULL,
    PRIMARY KEY (run_id, resource, object_id)
)"""
#: The lease's columns of ``runs`` (added by the schema-1 migration): (name, SQL type).
_LEASE_COLUMNS = (
    ("lease_pid", "INTEGER"),
    ("lease_host", "TEXT"),
    ("lease_since", "TEXT"),
    ("lease_token", "TEXT"),
)
_ITEMS_INDEX = "INDEX {if_not_exists}items_state ON items (run_id, state)"

_TABLES = (
    """
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
    conflict      INTEGER NOT NULL DEFAULT 0,
"""
    + ",\n".join(f"    {name:<13} {kind}" for name, kind in _LEASE_COLUMNS)
    + f"""
);
CREATE TABLE IF NOT EXISTS items {_ITEMS_COLUMNS};
CREATE {_ITEMS_INDEX.format(if_not_exists="IF NOT EXISTS ")};
"""
)

# Formatted again with the resource mapping (``{resource}``, ``{resource_of_run}``).
_MIGRATE_V1 = (
    f"""
CREATE TABLE items_v2 {_ITEMS_COLUMNS};
INSERT INTO items_v2 (run_id, resource, object_id, seq, state, before, before_updated, payload,
                      after, after_updated, error, changed_at)
    SELECT i.run_id, {{resource}}, i.invoice_id, i.seq, i.state, i.before, i.before_updated,
           i.payload, i.after, i.after_updated, i.error, i.changed_at
    FROM items AS i JOIN runs AS r ON r.id = i.run_id;
DROP TABLE items;
ALTER TABLE items_v2 RENAME TO items;
CREATE {_ITEMS_INDEX.format(if_not_exists="")};
"""
    + "".join(f"ALTER TABLE runs ADD COLUMN {name} {kind};\n" for name, kind in _LEASE_COLUMNS)
    + """UPDATE runs SET resource = {resource_of_run};
UPDATE runs SET status = 'undone' WHERE id IN (
    SELECT u.undoes FROM runs AS u WHERE u.undoes IS NOT NULL AND u.status = 'finished'
    AND NOT EXISTS (SELECT 1 FROM items AS i WHERE i.run_id = u.id
                    AND i.state NOT IN ('done', 'unchanged')));
"""
)


def _v1_resource_sql(column: str) -> str:
    cases = " ".join(f"WHEN '{old}' THEN '{new}'" for old, new in _V1_RESOURCES.items())
    return f"CASE {column} {cases} ELSE {column} END"


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


def current_host() -> str:
    return socket.gethostname() or "localhost"


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


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a zombie counts as alive)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - no signal 0 on Windows
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # type: ignore[attr-defined]
        if not handle:
            return False
        ctypes.windll.kernel32.CloseHandle(handle)  # type: ignore[attr-defined]
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


#: How to break a lease on another host, in the errors that refuse it.
_BREAK_HINT = (
    "if that process is gone (its machine or container is), break the lease with "
    "'freshbooks-orm runs unlock {run_id}' (or Journal.break_lease)"
)

#: Lease tokens held by this process (a lease with our pid but another token is stale).
_HELD: set[str] = set()
_HELD_LOCK = threading.Lock()


@attrs.frozen
class Lease:
    """Who is writing a run: ``pid`` on ``host`` since ``since`` (UTC)."""

    pid: int
    host: str
    since: str
    token: str = attrs.field(repr=False)

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.since.replace('+00:00', 'Z')}"

    @property
    def mine(self) -> bool:
        """Held by this process."""
        with _HELD_LOCK:
            return self.token in _HELD

    @property
    def alive(self) -> bool | None:
        """Whether the holder still runs: True/False on this host, None on another host."""
        if self.mine:
            return True
        if self.host != current_host():
            return None
        if self.pid == os.getpid():
            return False  # our pid, but not a token we hold: left behind by this process
        return pid_alive(self.pid)


def without_userinfo(host: str) -> str:
    """``host`` without a ``user:password@`` a journal written before 0.2.0 may hold."""
    return host.rsplit("@", 1)[-1]


@attrs.frozen
class RunRecord:
    """One run as the journal holds it; the counts are computed from its items.

    ``status`` is ``running`` (its process is alive, or on another host), ``interrupted``
    (stopped, or its process is gone), ``finished`` or ``undone``.
    """

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
    lease: Lease | None = None

    def count(self, state: str) -> int:
        return int(self.counts.get(state, 0))

    @property
    def planned(self) -> int:
        """Objects with a change to write (every item but the unchanged ones)."""
        return sum(n for s, n in self.counts.items() if s != "unchanged")

    @property
    def pending(self) -> int:
        """Items ``resume`` would still look at."""
        return sum(n for s, n in self.counts.items() if s not in FINAL_STATES)


@attrs.frozen
class ItemRecord:
    run_id: str
    resource: str
    object_id: int
    seq: int
    state: str
    before: Any
    before_updated: str | None
    payload: Any
    after: Any
    after_updated: str | None
    error: str | None
    detail: str | None
    changed_at: str


_KEEP: Any = object()


class Journal:
    """The journal file. Safe to share between the threads of one process.

    ``timeout`` is how long to wait for another process's lock on the file before raising
    ``JournalError``.

    >>> import tempfile, os
    >>> j = Journal(os.path.join(tempfile.mkdtemp(), "j.sqlite3"))
    >>> j.runs()
    []
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float = 30.0):
        self.path = Path(path) if path is not None else default_journal_path()
        self.timeout = timeout
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._tokens: dict[str, str] = {}  # run id -> token of the lease this Journal holds
        if self.path.is_dir():
            raise self._error(
                f"the journal path {str(self.path)!r} is a directory; give a file path "
                "(--journal FILE or FRESHBOOKS_ORM_JOURNAL), e.g. "
                f"{str(self.path / 'journal.sqlite3')!r}"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._error(
                f"cannot create the journal's directory {str(self.path.parent)!r}: "
                f"{exc.strerror or exc}; choose another path (--journal or FRESHBOOKS_ORM_JOURNAL)"
            ) from exc
        with self._guard("open"):
            self._db = sqlite3.connect(
                str(self.path), check_same_thread=False, isolation_level=None, timeout=timeout
            )
            self._db.row_factory = sqlite3.Row
            with self._lock:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
                self._upgrade()

    def __repr__(self) -> str:
        return f"<Journal {str(self.path)!r}>"

    def close(self) -> None:
        """Close the file, giving back any lease this ``Journal`` still holds."""
        for run_id in list(self._tokens):
            try:
                self.release(run_id)
            except JournalError:
                pass
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- errors ----------------------------------------------------------------------------------

    def _error(self, message: str, cls: type[JournalError] = JournalError) -> JournalError:
        return cls(message, journal_path=str(self.path))

    def explain(self, exc: BaseException, doing: str) -> JournalError:
        """The ``JournalError`` for an ``sqlite3`` or ``OSError`` raised while ``doing``."""
        if isinstance(exc, JournalError):
            return exc
        text = str(exc)
        low = text.lower()
        where = repr(str(self.path))
        code = getattr(exc, "errno", None)
        if "locked" in low or "busy" in low:
            msg = (
                f"the journal {where} stayed locked by another process for more than "
                f"{self.timeout:g}s while trying to {doing}; wait for that process to finish "
                "(runs list shows what is running) and try again"
            )
        elif "full" in low or code in (errno_mod.ENOSPC, errno_mod.EFBIG, errno_mod.EDQUOT):
            msg = (
                f"cannot {doing} in the journal {where}: the disk is full or the file hit a "
                f"size limit ({text}); free some space and try again"
            )
        elif "not a database" in low or "malformed" in low or "encrypted" in low:
            msg = (
                f"the journal {where} is corrupt or not a journal ({text}); move it aside "
                "(its runs cannot be resumed or undone from it) and run again, or choose "
                "another file with --journal or FRESHBOOKS_ORM_JOURNAL"
            )
        elif "readonly" in low or "read-only" in low or code in (errno_mod.EACCES, errno_mod.EPERM):
            msg = (
                f"the journal {where} is not writable ({text}); fix its permissions or "
                "choose another file with --journal or FRESHBOOKS_ORM_JOURNAL"
            )
        elif "unable to open" in low:
            msg = (
                f"cannot open the journal {where} ({text}); check that its directory exists "
                "and is writable, or choose another file with --journal or FRESHBOOKS_ORM_JOURNAL"
            )
        elif "disk i/o" in low or isinstance(exc, OSError):
            name = getattr(exc, "sqlite_errorname", None)
            msg = (
                f"cannot {doing} in the journal {where}: {text}"
                + (f" ({name})" if name else "")
                + "; the disk may be full or the file over a size limit: free some space, "
                "check the disk, and try again"
            )
        else:
            msg = f"cannot {doing} in the journal {where}: {type(exc).__name__}: {text}"
        return self._error(msg)

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise self.explain(exc, doing) from exc

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise self._error(f"the journal {str(self.path)!r} is closed")
        return self._db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # --- schema ----------------------------------------------------------------------------------

    def _upgrade(self) -> None:
        if int(self.db.execute("PRAGMA user_version").fetchone()[0]) == SCHEMA_VERSION:
            return  # current: no write lock needed, so opening works while a run writes
        with self._transaction() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise self._error(
                    f"the journal {str(self.path)!r} has schema {version}, written by a newer "
                    f"freshbooks_orm (this one reads up to {SCHEMA_VERSION}); upgrade it"
                )
            if version == SCHEMA_VERSION:
                return
            columns = {str(r["name"]) for r in db.execute("PRAGMA table_info(items)")}
            if "invoice_id" in columns:  # schema 1 (0.1.0)
                script = _MIGRATE_V1.format(
                    resource=_v1_resource_sql("r.resource"),
                    resource_of_run=_v1_resource_sql("resource"),
                )
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
            else:
                for statement in _TABLES.split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)",
                (str(SCHEMA_VERSION),),
            )
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

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
        lease: bool = False,
    ) -> str:
        """Record a new run and all its planned items in one transaction; return its id.

        Each item is a mapping with ``object_id``, ``state`` and optionally ``resource`` (the
        run's by default), ``before``, ``before_updated``, ``payload``, ``error`` and
        ``detail``.  ``lease=True`` gives this process the run's lease (see ``lease_token``).
        """
        run_id = new_run_id()
        now = utc_now()
        rows = list(items)
        with self._guard("record a new run"), self._transaction() as db:
            while db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
                run_id = new_run_id()
            token = secrets.token_hex(8) if lease else None
            db.execute(
                "INSERT INTO runs (id, action, resource, account_id, api_host, filter, changes,"
                " note, undoes, user, created_at, status, matched, lease_pid, lease_host,"
                " lease_since, lease_token)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
                (
                    run_id,
                    action,
                    resource,
                    account_id,
                    without_userinfo(api_host),
                    dumps(filter),
                    dumps(changes),
                    note,
                    undoes,
                    current_user(),
                    now,
                    matched,
                    os.getpid() if lease else None,
                    current_host() if lease else None,
                    now if lease else None,
                    token,
                ),
            )
            db.executemany(
                "INSERT INTO items (run_id, resource, object_id, seq, state, before,"
                " before_updated, payload, error, detail, changed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        item.get("resource") or resource,
                        int(item["object_id"]),
                        seq,
                        item["state"],
                        dumps(item.get("before")),
                        item.get("before_updated"),
                        dumps(item.get("payload")),
                        item.get("error"),
                        item.get("detail"),
                        now,
                    )
                    for seq, item in enumerate(rows)
                ],
            )
        if token is not None:
            with _HELD_LOCK:
                _HELD.add(token)
            self._tokens[run_id] = token
        return run_id

    def lease_token(self, run_id: str) -> str | None:
        """The token of the lease this ``Journal`` holds on ``run_id``, if any."""
        return self._tokens.get(run_id)

    def acquire(self, run_id: str) -> str:
        """Take the lease of ``run_id`` for this process; return its token.

        Raises ``RunInUseError`` naming the holder while another live process (or another
        thread of this one) holds it, or when the holder is on another host.
        """
        with self._guard("take the run's lease"), self._transaction() as db:
            row = db.execute(
                "SELECT lease_pid, lease_host, lease_since, lease_token FROM runs WHERE id = ?",
                (run_id,),
            ).fetchone()
            if row is None:
                raise self._error(f"no run {run_id!r} in the journal", UnknownRunError)
            held = _lease_of(row)
            if held is not None:
                alive = held.alive
                if alive:
                    raise self._in_use(run_id, held, "wait for it to finish")
                if alive is None:
                    raise self._in_use(
                        run_id,
                        held,
                        "a lease on another host is never taken over automatically: wait for "
                        "it to finish, or " + _BREAK_HINT.format(run_id=run_id),
                    )
            token = secrets.token_hex(8)
            db.execute(
                "UPDATE runs SET lease_pid = ?, lease_host = ?, lease_since = ?, lease_token = ?"
                " WHERE id = ?",
                (os.getpid(), current_host(), utc_now(), token, run_id),
            )
        with _HELD_LOCK:
            _HELD.add(token)
        self._tokens[run_id] = token
        return token

    def release(self, run_id: str) -> None:
        """Give back this ``Journal``'s lease on ``run_id`` (no-op if it holds none)."""
        token = self._tokens.pop(run_id, None)
        if token is None:
            return
        with _HELD_LOCK:
            _HELD.discard(token)
        with self._guard("release the run's lease"), self._lock:
            self.db.execute(
                "UPDATE runs SET lease_pid = NULL, lease_host = NULL, lease_since = NULL,"
                " lease_token = NULL WHERE id = ? AND lease_token = ?",
                (run_id, token),
            )

    def break_lease(self, run_id: str, *, holder: Lease | str | None = None) -> Lease | None:
        """Clear the lease of ``run_id`` (an id, a unique prefix or ``latest``) when its holder is
        gone, or when the caller confirms which lease to break; return the lease broken, or
        ``None`` when the run held none (nothing to do: not an error).

        * A holder on this host whose process is gone: cleared (``acquire`` would take it over).
        * A holder on another host, whose process cannot be checked from here: cleared only when
          ``holder`` names it: the ``Lease`` read from ``run(run_id).lease`` (matched by its
          token) or its text as shown (``str(lease)``, ``RunInUseError.holder``).  Without it,
          ``RunInUseError``.  Be sure that process is gone: its machine or container is.
        * A live holder on this host, or this process: never broken, ``RunInUseError``.
        * ``holder`` given but the run's lease is another one now (re-taken since it was
          shown): ``RunInUseError`` naming the new holder, and nothing is cleared.

        The lease is read, checked and cleared in one transaction, and the clear matches the
        token read in it.  A ``running`` run becomes ``interrupted``, so ``resume`` and ``undo``
        can take it.  Should the old holder still run after all, its next ``writing`` mark is
        refused (the lease is no longer its), so it sends no further write (a PUT already in
        flight still lands and is recorded).  An unknown run raises ``UnknownRunError``.
        """
        full = self.resolve(run_id)
        with self._guard("break the run's lease"), self._transaction() as db:
            row = db.execute(
                "SELECT lease_pid, lease_host, lease_since, lease_token FROM runs WHERE id = ?",
                (full,),
            ).fetchone()
            held = _lease_of(row)
            if held is None:
                return None
            if holder is not None and not _same_lease(held, holder):
                raise self._in_use(
                    full,
                    held,
                    f"its lease changed since it was shown (then: {holder}); nothing was cleared",
                )
            alive = held.alive
            if alive:
                raise self._in_use(
                    full,
                    held,
                    "wait for it to finish (the lease of a process alive on this host is never "
                    "broken)",
                )
            if alive is None and holder is None:
                raise self._in_use(
                    full,
                    held,
                    "whether that process still runs cannot be checked from this host; if you "
                    "are sure it is gone, pass holder= (the lease, or its text as shown) to "
                    "break_lease, or run 'freshbooks-orm runs unlock " + full + "'",
                )
            cleared = db.execute(
                "UPDATE runs SET lease_pid = NULL, lease_host = NULL, lease_since = NULL,"
                " lease_token = NULL,"
                " status = CASE status WHEN 'running' THEN 'interrupted' ELSE status END"
                " WHERE id = ? AND lease_token = ?",
                (full, held.token),
            ).rowcount
            if cleared != 1:  # pragma: no cover - the write lock is held since the read
                raise self._in_use(full, held, "its lease changed meanwhile; nothing was cleared")
        return held

    def _in_use(self, run_id: str, held: Lease, advice: str) -> RunInUseError:
        where = "this process" if held.mine else str(held)
        return RunInUseError(
            f"run {run_id} is in use by {where}: {advice}",
            holder=str(held),
            journal_path=str(self.path),
        )

    @contextmanager
    def leased(self, run_id: str) -> Iterator[str]:
        """Hold ``run_id``'s lease for the ``with`` block (reuse it if already held here)."""
        token = self.lease_token(run_id)
        if token is not None:
            yield token
            return
        token = self.acquire(run_id)
        try:
            yield token
        finally:
            self.release(run_id)

    def mark(
        self,
        run_id: str,
        object_id: int,
        state: str,
        *,
        after: Any = _KEEP,
        after_updated: Any = _KEEP,
        error: Any = None,
        detail: Any = _KEEP,
        before: Any = _KEEP,
        before_updated: Any = _KEEP,
        payload: Any = _KEEP,
    ) -> None:
        """Move one item to ``state`` and set the given columns (committed before it returns).

        Moving to ``writing`` requires this ``Journal`` to hold the run's lease and the item
        not to be ``done`` already; otherwise ``RunInUseError`` is raised and nothing changes.
        """
        if state not in STATES:
            raise ValueError(f"unknown item state {state!r}; valid: {', '.join(STATES)}")
        sets = ["state = ?", "error = ?", "changed_at = ?"]
        args: list[Any] = [state, error, utc_now()]
        for column, value, encode in (
            ("after", after, True),
            ("after_updated", after_updated, False),
            ("detail", detail, False),
            ("before", before, True),
            ("before_updated", before_updated, False),
            ("payload", payload, True),
        ):
            if value is not _KEEP:
                sets.append(f"{column} = ?")
                args.append(dumps(value) if encode else value)
        where = "run_id = ? AND object_id = ?"
        args.extend([run_id, object_id])
        if state == "writing":
            where += (
                " AND state != 'done' AND EXISTS (SELECT 1 FROM runs WHERE id = ? AND"
                " lease_token = ?)"
            )
            args.extend([run_id, self._tokens.get(run_id)])
        with self._guard(f"record object {object_id} as {state}"), self._lock:
            cursor = self.db.execute(f"UPDATE items SET {', '.join(sets)} WHERE {where}", args)
        if state == "writing" and cursor.rowcount != 1:
            raise self._error(
                f"run {run_id}: this process no longer holds the run's lease (or object "
                f"{object_id} was already written); stopped before writing it",
                RunInUseError,
            )

    def set_status(self, run_id: str, status: str) -> None:
        """Set a run's stored status (``running``, ``finished``, ``interrupted``, ``undone``)
        and store its counts."""
        if status not in STATUSES:
            raise ValueError(f"unknown run status {status!r}; valid: {', '.join(STATUSES)}")
        counts = self.counts(run_id)
        with self._guard("record the run's status"), self._lock:
            self.db.execute(
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

    def _read(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._guard("read"), self._lock:
            return list(self.db.execute(sql, tuple(args)).fetchall())

    def resolve(self, run_id: str) -> str:
        """The full id of a run given its id, a unique prefix of it, or ``latest``.

        An empty or too short prefix, an ambiguous one (the candidates are listed) or an
        unknown id raises ``UnknownRunError`` (a ``KeyError``).
        """
        text = run_id.strip() if isinstance(run_id, str) else ""
        if text == "latest":
            rows = self._read("SELECT id FROM runs ORDER BY created_at DESC, rowid DESC LIMIT 1")
            if not rows:
                raise self._error("the journal has no runs yet", UnknownRunError)
            return str(rows[0]["id"])
        if not text:
            raise self._error(
                f"no run id given ({run_id!r}); give a run id, a prefix of at least "
                f"{MIN_PREFIX} characters, or 'latest' (runs list shows them)",
                UnknownRunError,
            )
        pattern = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._read(
            "SELECT id, action, status, created_at FROM runs WHERE id = ? OR id LIKE ? ESCAPE '\\'"
            " ORDER BY created_at DESC, rowid DESC LIMIT 11",
            (text, pattern),
        )
        ids = [str(r["id"]) for r in rows]
        if text in ids:
            return text
        if not ids:
            raise self._error(f"no run {text!r} in the journal {str(self.path)!r}", UnknownRunError)
        if len(text) < MIN_PREFIX:
            raise self._error(
                f"run id prefix {text!r} is too short; give at least {MIN_PREFIX} characters "
                "or 'latest'",
                UnknownRunError,
            )
        if len(ids) == 1:
            return ids[0]
        shown = [f"{r['id']} ({r['action']}, {r['status']})" for r in rows[:10]]
        more = ", ..." if len(ids) > 10 else ""
        raise self._error(
            f"run id {text!r} is ambiguous: it matches {', '.join(shown)}{more}; give more of it",
            UnknownRunError,
        )

    def counts(self, run_id: str) -> dict[str, int]:
        rows = self._read(
            "SELECT state, COUNT(*) AS n FROM items WHERE run_id = ? GROUP BY state", (run_id,)
        )
        return {str(r["state"]): int(r["n"]) for r in rows}

    def run(self, run_id: str) -> RunRecord:
        """The run ``run_id`` (an id, a unique prefix, or ``latest``); ``UnknownRunError``
        (a ``KeyError``) if none."""
        full = self.resolve(run_id)
        rows = self._read("SELECT * FROM runs WHERE id = ?", (full,))
        return self._run_record(rows[0], self.counts(full))

    def runs(self, limit: int | None = None) -> list[RunRecord]:
        """Runs, newest first."""
        rows = self._read(
            "SELECT * FROM runs ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (-1 if limit is None else limit,),
        )
        return [self._run_record(row, self.counts(str(row["id"]))) for row in rows]

    def undo_runs(self, run_id: str) -> list[RunRecord]:
        """The undo runs of ``run_id``, newest first."""
        rows = self._read(
            "SELECT * FROM runs WHERE undoes = ? ORDER BY created_at DESC, rowid DESC", (run_id,)
        )
        return [self._run_record(row, self.counts(str(row["id"]))) for row in rows]

    def items(self, run_id: str, states: Iterable[str] | None = None) -> list[ItemRecord]:
        """The items of a run in planning order, optionally only those in ``states``."""
        sql = "SELECT * FROM items WHERE run_id = ?"
        args: list[Any] = [run_id]
        if states is not None:
            wanted = list(states)
            sql += f" AND state IN ({', '.join('?' for _ in wanted)})"
            args.extend(wanted)
        rows = self._read(sql + " ORDER BY seq", args)
        return [
            ItemRecord(
                run_id=str(r["run_id"]),
                resource=str(r["resource"]),
                object_id=int(r["object_id"]),
                seq=int(r["seq"]),
                state=str(r["state"]),
                before=loads(r["before"]),
                before_updated=r["before_updated"],
                payload=loads(r["payload"]),
                after=loads(r["after"]),
                after_updated=r["after_updated"],
                error=r["error"],
                detail=r["detail"],
                changed_at=str(r["changed_at"]),
            )
            for r in rows
        ]

    @staticmethod
    def _run_record(row: sqlite3.Row, counts: Mapping[str, int]) -> RunRecord:
        lease = _lease_of(row)
        status = str(row["status"])
        if status == "running" and (lease is None or lease.alive is False):
            status = "interrupted"  # its process is gone
        return RunRecord(
            id=str(row["id"]),
            action=str(row["action"]),
            resource=str(row["resource"]),
            account_id=str(row["account_id"]),
            api_host=without_userinfo(str(row["api_host"])),
            filter=loads(row["filter"]),
            changes=loads(row["changes"]),
            note=row["note"],
            undoes=row["undoes"],
            user=str(row["user"]),
            created_at=str(row["created_at"]),
            finished_at=row["finished_at"],
            status=status,
            matched=int(row["matched"]),
            counts=dict(counts),
            lease=lease,
        )


def _same_lease(held: Lease, holder: Lease | str) -> bool:
    """Whether ``holder`` (a ``Lease``, or a lease's text as shown) is the lease ``held``."""
    if isinstance(holder, Lease):
        return holder.token == held.token
    return " ".join(str(holder).split()) == str(held)


def _lease_of(row: sqlite3.Row) -> Lease | None:
    if row["lease_token"] is None:
        return None
    return Lease(
        pid=int(row["lease_pid"] or 0),
        host=str(row["lease_host"] or ""),
        since=str(row["lease_since"] or ""),
        token=str(row["lease_token"]),
    )
