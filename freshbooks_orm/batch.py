"""Batch fixes that lose nothing: bulk update, delete and apply, with dry run, journal and undo.

>>> result = Invoice.objects.filter(customerid=42, date_min="2024-03-01").update(
...     po_number="PO-7", dry_run=True)                                  # doctest: +SKIP
>>> print(result)                                                        # doctest: +SKIP

How a run goes:

1. **Plan** (main thread): iterate the queryset; apply the edit to each object and read the
   model's own ``dirty_fields`` / ``to_payload()``, so every rule of ``save()`` holds (only
   changed fields; the full set of lines when lines change; ``vis_state`` alone).  Objects the
   edit leaves clean are *unchanged* and get no request.  ``dry_run=True`` stops here.
2. **Journal**: the run and every item (before-image, payload) are written to the journal in
   one transaction, before the first write.
3. **Write** (a thread pool sharing the one ``Client``: its pooled session, its retry policy and
   its 429 gate, so a 429 seen by one worker holds every worker back).  Per invoice: mark
   ``writing``, send one PUT, record the server's values and ``updated`` as ``done`` (or the
   error as ``failed``).  One invoice failing never stops the others.

``resume(run_id)`` finishes a run that was interrupted: done items are skipped; every other
item is re-read first, marked done without a request if it already carries the new values (a
crash between the PUT and its record), written if it is still as planned, and refused as a
*conflict* if someone else changed it since.  ``undo(run_id)`` is a new run that writes the
before-images back, refusing invoices changed since the run wrote them (``updated`` moved or
the values differ) unless ``force=True``.
"""

from __future__ import annotations

import copy
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import attrs

from .errors import (
    ConflictError,
    ReadOnlyFieldError,
    UnknownFieldError,
    closest,
)
from .journal import ItemRecord, Journal, RunRecord
from .model import FieldKind, Model
from .transport import Client, default_client

if TYPE_CHECKING:
    import os

    from .queryset import QuerySet

__all__ = [
    "DEFAULT_WORKERS",
    "OPTION_NAMES",
    "BatchInterrupted",
    "BatchResult",
    "ConflictError",
    "ItemOutcome",
    "Plan",
    "PlannedChange",
    "UnknownFieldError",
    "plan",
    "resume",
    "run",
    "set_fields",
    "undo",
]

#: Keyword arguments of ``QuerySet.update()`` that are batch options, not fields.
OPTION_NAMES = frozenset({"dry_run", "workers", "journal", "progress", "note"})
#: Concurrent writers: enough to hide latency, few enough not to provoke rate limits.
DEFAULT_WORKERS = 4
#: Changes ``BatchResult.__str__`` lists before "... and N more".
SHOWN_CHANGES = 20

Action = Literal["update", "delete", "apply"]
Edit = Callable[[Any], object]


# --- results ---------------------------------------------------------------------------------


@attrs.frozen
class PlannedChange:
    """One field of one invoice: its value on the server and the value the run writes."""

    invoice_id: int
    field: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.invoice_id}  {self.field}: {_show(self.old)} -> {_show(self.new)}"


@attrs.frozen
class ItemOutcome:
    """What became of one invoice; passed to a ``progress`` callback."""

    invoice_id: int
    state: str
    error: BaseException | None = None


@attrs.define
class BatchResult:
    """The counts of a run (the whole run, when it was resumed) and this call's errors."""

    run_id: str | None
    action: str
    dry_run: bool = False
    matched: int = 0
    planned: int = 0
    done: int = 0
    unchanged: int = 0
    failed: int = 0
    conflicts: int = 0
    pending: int = 0
    errors: dict[int, BaseException] = attrs.field(factory=dict)
    changes: list[PlannedChange] = attrs.field(factory=list)
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """True when nothing failed, conflicted or is left to do."""
        return not (self.failed or self.conflicts or self.pending)

    def __str__(self) -> str:
        if self.dry_run:
            lines = [
                f"dry run, nothing sent: {self.action} would change {self.planned} of "
                f"{self.matched} matched invoices ({self.unchanged} unchanged"
                + (f", {self.failed} failed" if self.failed else "")
                + ")"
            ]
        else:
            counts = [
                f"{self.matched} matched",
                f"{self.done} done",
                f"{self.unchanged} unchanged",
                f"{self.failed} failed",
            ]
            if self.conflicts:
                counts.append(f"{self.conflicts} refused (changed since)")
            if self.pending:
                counts.append(f"{self.pending} not yet written")
            lines = [f"{self.action} run {self.run_id}: {', '.join(counts)} in {self.elapsed:.1f}s"]
        shown = self.changes[:SHOWN_CHANGES] if self.dry_run else []
        lines.extend(f"  {change}" for change in shown)
        if len(self.changes) > len(shown) and self.dry_run:
            lines.append(f"  ... and {len(self.changes) - len(shown)} more changes")
        for invoice_id, error in list(self.errors.items())[:SHOWN_CHANGES]:
            lines.append(f"  {invoice_id}: {type(error).__name__}: {_one_line(error)}")
        if len(self.errors) > SHOWN_CHANGES:
            lines.append(f"  ... and {len(self.errors) - SHOWN_CHANGES} more errors")
        return "\n".join(lines)


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run: writes in flight finished and were recorded; ``resume`` the rest."""

    def __init__(self, result: BatchResult) -> None:
        super().__init__(
            f"interrupted: {result.done} done, {result.pending} not yet written; "
            f"finish with resume({result.run_id!r})"
        )
        self.result = result


# --- planning ----------------------------------------------------------------------------------


@attrs.define
class _Entry:
    invoice_id: int
    state: str  # planned | unchanged | failed
    before: dict[str, Any] | None = None
    before_updated: str | None = None
    payload: dict[str, Any] | None = None
    error: BaseException | None = None

    def row(self) -> dict[str, Any]:
        return {
            "invoice_id": self.invoice_id,
            "state": self.state,
            "before": self.before,
            "before_updated": self.before_updated,
            "payload": self.payload,
            "error": None if self.error is None else _describe(self.error),
        }


@attrs.define
class Plan:
    """The changes a batch would make; ``execute()`` makes them (``run()`` = plan + execute)."""

    model: type[Model]
    client: Client
    action: str
    filter: dict[str, Any]
    description: Any
    entries: list[_Entry]
    elapsed: float = 0.0

    @property
    def matched(self) -> int:
        return len(self.entries)

    @property
    def planned(self) -> int:
        return sum(1 for e in self.entries if e.state == "planned")

    @property
    def changes(self) -> list[PlannedChange]:
        out: list[PlannedChange] = []
        names = _names_by_wire(self.model)
        for entry in self.entries:
            if entry.payload is None:
                continue
            before = entry.before or {}
            for key, new in entry.payload.items():
                out.append(
                    PlannedChange(entry.invoice_id, names.get(key, key), before.get(key), new)
                )
        return out

    def result(self) -> BatchResult:
        """The dry-run result: counts and changes, nothing sent."""
        return BatchResult(
            run_id=None,
            action=self.action,
            dry_run=True,
            matched=self.matched,
            planned=self.planned,
            unchanged=sum(1 for e in self.entries if e.state == "unchanged"),
            failed=sum(1 for e in self.entries if e.state == "failed"),
            errors={e.invoice_id: e.error for e in self.entries if e.error is not None},
            changes=self.changes,
            elapsed=self.elapsed,
        )

    def execute(
        self,
        *,
        workers: int = DEFAULT_WORKERS,
        journal: Journal | str | os.PathLike[str] | None = None,
        progress: bool | Callable[[int, int, ItemOutcome], object] | None = None,
        note: str | None = None,
    ) -> BatchResult:
        """Journal the plan, then send one PUT per planned invoice from ``workers`` threads."""
        _check_workers(workers)
        started = time.monotonic() - self.elapsed
        with _journal(journal) as j:
            run_id = j.create_run(
                action=self.action,
                resource=self.model.__name__,
                account_id=self.client.account_id,
                api_host=_host(self.client.base_url),
                filter=self.filter,
                changes=self.description,
                items=[e.row() for e in self.entries],
                matched=self.matched,
                note=note,
            )
            errors = {e.invoice_id: e.error for e in self.entries if e.error is not None}
            return _drive(
                j,
                j.run(run_id),
                self.model,
                self.client,
                states=("planned",),
                guarded=False,
                force=False,
                workers=workers,
                progress=progress,
                errors=errors,
                started=started,
                changes=self.changes,
            )


def plan(queryset: QuerySet[Any], edit: Edit | None, action: Action = "apply") -> Plan:
    """Iterate ``queryset`` and work out each object's change; send no write.

    ``action="delete"`` plans ``vis_state`` -> 1 for every object not deleted yet; otherwise
    ``edit(obj)`` changes the object in place (it must not save it).  Lines are included in
    the list requests when the edit may change them.
    """
    if action not in ("update", "delete", "apply"):
        raise ValueError(f"action must be 'update', 'delete' or 'apply', not {action!r}")
    if action != "delete" and not callable(edit):
        raise TypeError(f"{action}() needs a function that edits one object, got {edit!r}")
    started = time.monotonic()
    model = queryset.model
    client = queryset._get_client()
    qs = queryset.using(client)
    spec = model._resource
    assert spec is not None  # a queryset's model always has a resource
    wants_lines = action == "apply" or "lines" in getattr(edit, "fields", ())
    if wants_lines and "lines" in model._fields and "lines" in spec.includes:
        qs = qs.include("lines")
    state_field = _state_field(model)
    read_only = _ReadOnlyClient(client)
    entries: list[_Entry] = []
    for obj in qs.iterator():
        raw = obj.__dict__["_raw"]
        entry = _Entry(int(obj.pk), "unchanged", before_updated=_updated_of(raw))
        entries.append(entry)
        if action == "delete":
            current = raw.get(state_field)
            if current is not None and int(current) == 1:
                continue
            entry.state = "planned"
            entry.before = {state_field: 0 if current is None else int(current)}
            entry.payload = {state_field: 1}
            continue
        obj.__dict__["_client"] = read_only
        try:
            assert edit is not None
            edit(obj)
            names = obj.dirty_fields
            if names:
                entry.payload = obj.to_payload(names)
                entry.before = _before_image(obj, names)
                entry.state = "planned"
        except Exception as exc:
            entry.state, entry.error = "failed", exc
    return Plan(
        model=model,
        client=client,
        action=action,
        filter=_describe_queryset(qs),
        description=_describe_edit(action, edit),
        entries=entries,
        elapsed=time.monotonic() - started,
    )


def run(
    queryset: QuerySet[Any],
    edit: Edit | None,
    action: Action = "apply",
    *,
    dry_run: bool = False,
    workers: int = DEFAULT_WORKERS,
    journal: Journal | str | os.PathLike[str] | None = None,
    progress: bool | Callable[[int, int, ItemOutcome], object] | None = None,
    note: str | None = None,
) -> BatchResult:
    """Plan and (unless ``dry_run``) execute a batch over ``queryset``.

    ``journal`` is a ``Journal``, a file path, or None for the default file
    (``$FRESHBOOKS_ORM_JOURNAL`` or the user's data directory).  ``progress``: True for a tqdm
    bar, a callable ``(finished, total, ItemOutcome)``, False for nothing; None (the default)
    shows a bar only when stderr is a terminal.
    """
    _check_workers(workers)
    the_plan = plan(queryset, edit, action)
    if dry_run:
        return the_plan.result()
    return the_plan.execute(workers=workers, journal=journal, progress=progress, note=note)


def set_fields(model: type[Model], fields: Mapping[str, Any]) -> Edit:
    """Validate ``fields`` for ``update()`` and return the edit that sets them.

    Unknown, computed, create-only and state fields, and values of the wrong type, raise here,
    before any request.
    """
    if not fields:
        raise TypeError("update() needs at least one field to set, e.g. update(po_number='PO-7')")
    specs = model._fields
    writable = sorted(n for n, s in specs.items() if s.kind is FieldKind.WRITABLE)
    listing = f"Writable fields: {', '.join(writable)}."
    for name in fields:
        spec = specs.get(name)
        if spec is None:
            hint = closest(name, writable)
            did_you_mean = f" Did you mean {hint!r}?" if hint else ""
            raise UnknownFieldError(
                f"{model.__name__} has no field {name!r}.{did_you_mean} {listing}"
            )
        if spec.kind is FieldKind.STATE:
            raise ReadOnlyFieldError(
                f"{model.__name__}.{name} cannot be set by update(): use .delete() (FreshBooks "
                f"drops every other change sent with it). {listing}"
            )
        if spec.kind is not FieldKind.WRITABLE:
            raise ReadOnlyFieldError(
                f"{model.__name__}.{name} is {spec.kind.value}; update() sets only saved "
                f"objects' writable fields. {listing}"
            )
    probe = model()
    for name, value in fields.items():
        try:
            setattr(probe, name, copy.deepcopy(value))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"bad value for {model.__name__}.{name}: {exc}") from None
    values = dict(fields)
    wire = {specs[n].wire: _wire_value(probe, n) for n in values}

    def set_values(obj: Any) -> None:
        for name, value in values.items():
            setattr(obj, name, copy.deepcopy(value))

    set_values.fields = tuple(values)  # type: ignore[attr-defined]
    set_values.changes = wire  # type: ignore[attr-defined]
    return set_values


# --- resume and undo ---------------------------------------------------------------------------


def resume(
    run_id: str,
    client: Client | None = None,
    journal: Journal | str | os.PathLike[str] | None = None,
    *,
    workers: int = DEFAULT_WORKERS,
    progress: bool | Callable[[int, int, ItemOutcome], object] | None = None,
    force: bool = False,
) -> BatchResult:
    """Finish run ``run_id`` (an id, a unique prefix or ``"latest"``) without repeating a write.

    Items already done are skipped.  Every other item with something to write (planned, or
    caught mid-write, or failed, or refused earlier) is re-read: if it already has the new
    values it is marked done without a request; if it is as it was planned it is written; if
    it changed since, it is refused as a conflict (``force=True`` writes it anyway).
    """
    _check_workers(workers)
    started = time.monotonic()
    with _journal(journal) as j:
        record = j.run(run_id)
        client = client or default_client()
        _check_target(record, client)
        return _drive(
            j,
            record,
            _model_named(record.resource),
            client,
            states=("planned", "writing", "failed", "conflict"),
            guarded=True,
            force=force,
            workers=workers,
            progress=progress,
            errors={},
            started=started,
        )


def undo(
    run_id: str,
    client: Client | None = None,
    journal: Journal | str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    dry_run: bool = False,
    workers: int = DEFAULT_WORKERS,
    progress: bool | Callable[[int, int, ItemOutcome], object] | None = None,
    note: str | None = None,
) -> BatchResult:
    """Write back the before-images of run ``run_id``'s done items, as a new (resumable) run.

    An invoice whose ``updated`` moved since the run wrote it, or whose changed fields no
    longer hold the values written, is refused (counted in ``conflicts``) unless ``force``.
    Deletes are undone with ``vis_state`` alone, as ``restore()`` does.
    """
    _check_workers(workers)
    started = time.monotonic()
    with _journal(journal) as j:
        record = j.run(run_id)
        model = _model_named(record.resource)
        names = _names_by_wire(model)
        done = j.items(record.id, ("done",))
        entries = [
            _Entry(
                item.invoice_id,
                "planned",
                before=item.after,
                before_updated=item.after_updated,
                payload=item.before,
            )
            for item in done
            if item.before and item.after is not None
        ]
        if dry_run:
            changes = [
                PlannedChange(e.invoice_id, names.get(k, k), (e.before or {}).get(k), v)
                for e in entries
                for k, v in (e.payload or {}).items()
            ]
            return BatchResult(
                run_id=None,
                action="undo",
                dry_run=True,
                matched=len(done),
                planned=len(entries),
                unchanged=len(done) - len(entries),
                changes=changes,
                elapsed=time.monotonic() - started,
            )
        client = client or default_client()
        _check_target(record, client)
        new_id = j.create_run(
            action="undo",
            resource=record.resource,
            account_id=record.account_id,
            api_host=record.api_host,
            filter={"undo": record.id},
            changes={"undo": record.id},
            items=[e.row() for e in entries],
            matched=len(done),
            note=note,
            undoes=record.id,
        )
        return _drive(
            j,
            j.run(new_id),
            model,
            client,
            states=("planned",),
            guarded=True,
            force=force,
            workers=workers,
            progress=progress,
            errors={},
            started=started,
        )


# --- writing -----------------------------------------------------------------------------------


class _Writer:
    """Sends one item's PUT and records it; shared by the worker threads of a run."""

    def __init__(
        self,
        journal: Journal,
        run_id: str,
        model: type[Model],
        client: Client,
        *,
        guarded: bool,
        force: bool,
    ) -> None:
        self.journal = journal
        self.run_id = run_id
        self.model = model
        self.client = client
        self.guarded = guarded
        self.force = force
        self.stop = threading.Event()
        spec = model._resource
        assert spec is not None
        self.spec = spec

    def _path(self, invoice_id: int) -> str:
        return self.spec.detail_path(self.client.account_id, invoice_id)

    def _get(self, invoice_id: int, lines: bool) -> dict[str, Any]:
        params = [("include[]", "lines")] if lines else None
        return self.client.request(
            "GET", self._path(invoice_id), params=params, expect=self.spec.required_result
        )

    def write(self, item: ItemRecord) -> ItemOutcome:
        invoice_id = item.invoice_id
        if self.stop.is_set():
            return ItemOutcome(invoice_id, item.state)
        payload: dict[str, Any] = dict(item.payload)
        lines = "lines" in payload
        try:
            if self.guarded:
                current = self._get(invoice_id, lines)
                if _matches(self.model, current, payload):
                    self._done(invoice_id, current, payload)
                    return ItemOutcome(invoice_id, "done")
                reason = _changed_since(self.model, current, item.before or {}, item.before_updated)
                if reason and not self.force:
                    error = ConflictError(f"left alone: {reason}")
                    self.journal.mark(self.run_id, invoice_id, "conflict", error=_describe(error))
                    return ItemOutcome(invoice_id, "conflict", error)
                if lines:
                    payload["lines"] = _existing_lineids_only(self.model, payload, current)
            self.journal.mark(self.run_id, invoice_id, "writing")
            params = [("include[]", "lines")] if lines else None
            after = self.client.request(
                "PUT",
                self._path(invoice_id),
                params=params,
                json={self.spec.single_key: payload},
                expect=self.spec.result,
            )
            if after is None or (lines and "lines" not in after):
                after = self._get(invoice_id, lines)  # e.g. a vis_state PUT answers {}
            self._done(invoice_id, after, payload)
            return ItemOutcome(invoice_id, "done")
        except Exception as exc:
            self.journal.mark(self.run_id, invoice_id, "failed", error=_describe(exc))
            return ItemOutcome(invoice_id, "failed", exc)

    def _done(self, invoice_id: int, wire: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
        after = {key: wire.get(key) for key in payload}
        self.journal.mark(
            self.run_id, invoice_id, "done", after=after, after_updated=_updated_of(wire)
        )


def _drive(
    journal: Journal,
    record: RunRecord,
    model: type[Model],
    client: Client,
    *,
    states: Iterable[str],
    guarded: bool,
    force: bool,
    workers: int,
    progress: bool | Callable[[int, int, ItemOutcome], object] | None,
    errors: dict[int, BaseException],
    started: float,
    changes: list[PlannedChange] | None = None,
) -> BatchResult:
    todo = [item for item in journal.items(record.id, states) if item.payload is not None]
    writer = _Writer(journal, record.id, model, client, guarded=guarded, force=force)
    journal.set_status(record.id, "running")
    interrupted = False
    try:
        _write_all(writer, todo, workers, progress, errors, record.action)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        counts = journal.counts(record.id)
        left = sum(n for s, n in counts.items() if s in ("planned", "writing"))
        journal.set_status(record.id, "interrupted" if interrupted or left else "finished")
    result = BatchResult(
        run_id=record.id,
        action=record.action,
        matched=record.matched,
        planned=sum(n for s, n in counts.items() if s != "unchanged"),
        done=counts.get("done", 0),
        unchanged=counts.get("unchanged", 0),
        failed=counts.get("failed", 0),
        conflicts=counts.get("conflict", 0),
        pending=left,
        errors=errors,
        changes=changes or [],
        elapsed=time.monotonic() - started,
    )
    if interrupted:
        raise BatchInterrupted(result)
    return result


def _write_all(
    writer: _Writer,
    todo: list[ItemRecord],
    workers: int,
    progress: bool | Callable[[int, int, ItemOutcome], object] | None,
    errors: dict[int, BaseException],
    action: str,
) -> None:
    reporter = _Reporter(progress, len(todo), action)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="freshbooks-batch")
    try:
        futures = [pool.submit(writer.write, item) for item in todo]
        for finished, future in enumerate(as_completed(futures), 1):
            outcome = future.result()
            if outcome.error is not None:
                errors[outcome.invoice_id] = outcome.error
            reporter(finished, len(todo), outcome)
    except BaseException:
        writer.stop.set()  # queued items stay planned; writes in flight finish and are recorded
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        reporter.close()


class _Reporter:
    def __init__(
        self,
        progress: bool | Callable[[int, int, ItemOutcome], object] | None,
        total: int,
        action: str,
    ) -> None:
        self._callback: Callable[[int, int, ItemOutcome], object] | None = None
        self._bar: Any = None
        if callable(progress):
            self._callback = progress
        elif progress is True or (progress is None and _stderr_is_tty()):
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=action, unit="invoice", file=sys.stderr)

    def __call__(self, finished: int, total: int, outcome: ItemOutcome) -> None:
        if self._callback is not None:
            self._callback(finished, total, outcome)
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class _ReadOnlyClient:
    """What an ``apply()`` function's object talks through: GETs (lazy lines) pass, writes raise."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @property
    def account_id(self) -> str:
        return self._client.account_id

    def request(
        self, method: str, path: str, params: Any = None, json: Any = None, **kw: Any
    ) -> Any:
        if method.upper() != "GET":
            raise RuntimeError(
                "a batch edit function must only change the object; the batch sends the "
                "changes itself (do not call save(), delete(), restore() or archive())"
            )
        return self._client.request(method, path, params=params, json=json, **kw)


# --- comparing wire values ---------------------------------------------------------------------


def _matches(model: type[Model], wire: Mapping[str, Any], expected: Mapping[str, Any]) -> bool:
    return all(_same(model, key, wire.get(key), value) for key, value in expected.items())


def _changed_since(
    model: type[Model],
    wire: Mapping[str, Any],
    expected: Mapping[str, Any],
    expected_updated: str | None,
) -> str | None:
    """Why ``wire`` is not the state a write was planned against, or None if it is."""
    current_updated = _updated_of(wire)
    if expected_updated is not None and current_updated != expected_updated:
        return f"changed since (updated {expected_updated} -> {current_updated})"
    moved = [k for k, v in expected.items() if not _same(model, k, wire.get(k), v)]
    if moved:
        return f"{', '.join(sorted(moved))} changed since"
    return None


def _same(model: type[Model], key: str, a: Any, b: Any) -> bool:
    if key == "lines":
        return _normal_lines(model, a) == _normal_lines(model, b)
    if a in (None, "") and b in (None, ""):
        return True
    spec = _specs_by_wire(model).get(key)
    if spec is None:
        return bool(a == b)
    try:
        return bool(spec.type.parse(a) == spec.type.parse(b))
    except (TypeError, ValueError, ArithmeticError):
        return bool(a == b)


def _normal_lines(model: type[Model], lines: Any) -> list[dict[str, Any]]:
    """Lines as comparable dicts: writable values as ``save()`` would send them, no ids, and
    no empty values (the server fills in defaults such as ``taxAmount1: "0"``)."""
    line_cls = _line_cls(model)
    pk_wire = line_cls._fields[line_cls._pk_name].wire
    out = []
    for raw in lines or ():
        payload = line_cls.from_wire(dict(raw))._line_payload()
        out.append({k: v for k, v in payload.items() if k != pk_wire and v not in (None, "", 0)})
    return out


def _existing_lineids_only(
    model: type[Model], payload: Mapping[str, Any], current: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The payload's lines, with ids the invoice no longer has dropped (such lines are created
    again): restoring a line the run removed must not fail with "Line not found"."""
    pk_wire = _line_cls(model)._fields[_line_cls(model)._pk_name].wire
    existing = {line.get(pk_wire) for line in current.get("lines") or ()}
    out = []
    for line in payload["lines"]:
        if line.get(pk_wire) is not None and line.get(pk_wire) not in existing:
            line = {k: v for k, v in line.items() if k != pk_wire}
        out.append(line)
    return out


# --- helpers -----------------------------------------------------------------------------------


def _before_image(obj: Model, names: Iterable[str]) -> dict[str, Any]:
    """The server's values of ``names`` as loaded; lines as the payload that restores them."""
    raw = obj.__dict__["_raw"]
    out: dict[str, Any] = {}
    for name in names:
        spec = obj._fields[name]
        if name == "lines":
            line_cls = _line_cls(type(obj))
            out[spec.wire] = [
                line_cls.from_wire(dict(line))._line_payload() for line in raw.get("lines") or ()
            ]
        else:
            out[spec.wire] = copy.deepcopy(raw.get(spec.wire))
    return out


def _line_cls(model: type[Model]) -> type[Model]:
    line_type: Any = model._fields["lines"].type
    return line_type.list_cls.line_cls  # type: ignore[no-any-return]


def _state_field(model: type[Model]) -> str:
    for spec in model._fields.values():
        if spec.kind is FieldKind.STATE:
            return spec.wire
    raise TypeError(f"{model.__name__} has no state field; it cannot be deleted")


def _specs_by_wire(model: type[Model]) -> dict[str, Any]:
    return {spec.wire: spec for spec in model._fields.values()}


def _names_by_wire(model: type[Model]) -> dict[str, str]:
    return {spec.wire: name for name, spec in model._fields.items()}


def _wire_value(obj: Model, name: str) -> Any:
    value = getattr(obj, name)
    if name == "lines":
        return [line._line_payload() for line in value]
    return obj._fields[name].type.to_wire(value)


def _updated_of(wire: Mapping[str, Any]) -> str | None:
    value = wire.get("updated")
    return None if value is None else str(value).strip()


def _describe_queryset(qs: QuerySet[Any]) -> dict[str, Any]:
    query = qs.query
    out: dict[str, Any] = {"params": [list(pair) for pair in query.filter_params]}
    if query.includes:
        out["include"] = list(query.includes)
    if query.sort:
        out["sort"] = query.sort
    if qs._low or qs._high is not None:
        out["slice"] = [qs._low, qs._high]
    return out


def _describe_edit(action: str, edit: Edit | None) -> Any:
    if action == "delete":
        return {"delete": True}
    changes = getattr(edit, "changes", None)
    if isinstance(changes, dict):
        return {"set": changes}
    name = getattr(edit, "__qualname__", None) or repr(edit)
    return {"apply": f"{getattr(edit, '__module__', '?')}.{name}"}


def _model_named(name: str) -> type[Model]:
    from . import invoices  # noqa: F401  (registers the built-in resources)

    pending: list[type[Model]] = [Model]
    while pending:
        cls = pending.pop()
        if cls.__name__ == name and cls._resource is not None:
            return cls
        pending.extend(cls.__subclasses__())
    raise LookupError(f"the journal names a resource {name!r} this version does not know")


def _host(base_url: str) -> str:
    return urlsplit(base_url).netloc or base_url


def _check_target(record: RunRecord, client: Client) -> None:
    here = (client.account_id, _host(client.base_url))
    if (record.account_id, record.api_host) != here:
        raise ValueError(
            f"run {record.id} was made against account {record.account_id} at "
            f"{record.api_host}; this client is for account {here[0]} at {here[1]}"
        )


def _check_workers(workers: int) -> None:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")


class _journal:
    """Open the journal argument (and close it after, when this opened it)."""

    def __init__(self, journal: Journal | str | os.PathLike[str] | None) -> None:
        self._given = journal if isinstance(journal, Journal) else None
        self._path = None if isinstance(journal, Journal) else journal
        self._opened: Journal | None = None

    def __enter__(self) -> Journal:
        if self._given is not None:
            return self._given
        self._opened = Journal(Path(self._path) if self._path is not None else None)
        return self._opened

    def __exit__(self, *exc: object) -> None:
        if self._opened is not None:
            self._opened.close()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {_one_line(exc)}"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:300] + "..."


def _show(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} line{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict) and set(value) == {"amount", "code"}:
        return f"{value['amount']} {value['code']}"
    return repr(value)
