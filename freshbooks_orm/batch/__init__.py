"""Batch fixes that lose nothing: bulk update, delete and apply, with dry run, journal and undo.

>>> result = Invoice.objects.filter(customerid=42, date_min="2024-03-01").update(
...     po_number="PO-7", dry_run=True)                                  # doctest: +SKIP
>>> print(result)                                                        # doctest: +SKIP

How a run goes:

1. **Plan** (main thread): read the matching objects, pages fetched ahead concurrently
   (``iterator(prefetch=...)``), each object once; apply the edit to each and read the model's
   own ``dirty_fields`` / ``to_payload()``, so every rule of ``save()`` holds (only changed
   fields; the full set of lines when lines change; ``vis_state`` alone).  Objects the edit
   leaves clean are *unchanged* and get no request.  If the matched set moved while it was read
   (a row came back twice, or the pages' ``total`` changed) it is read again, up to
   ``MAX_PASSES`` times, so no matching object is missed; if it is still moving the plan says
   so (``Plan.moving``).  ``dry_run=True`` stops here.
2. **Journal**: the run and every item (planned before-image, payload) are written to the
   journal in one transaction, before the first write, and the run's *lease* is taken: while
   this process runs it, no other process can resume or undo it.
3. **Write** (a thread pool sharing the one ``Client``: its pooled session, its retry policy and
   its 429 gate).  Per object: **one GET of that object right before its own PUT**; the edit is
   checked against that fresh state, the fresh values are recorded as the before-image and the
   item marked ``writing`` (one journal commit), then the PUT goes out and the server's answer is
   recorded as ``done`` (or the error as ``failed``).  One object failing never stops the others.

**No write from a stale state.**  A page read during planning can be seconds or minutes old
(the command line waits at a confirmation prompt in between), so it is never what a write is
computed from.  If the fresh state differs from the plan:

* only ``updated`` moved (someone changed *other* fields): the object is **re-planned** from
  the fresh state (an ``update`` or ``delete`` sends the same values; an ``apply`` function is
  run again on the fresh object, in the process that planned it) and written; the result and
  ``runs show --items`` say "re-planned" and why;
* a field the edit touches changed (a colleague set the same field, or added a line to an
  invoice whose lines the edit changes): the object is **refused** as a conflict
  (``ConflictError``, "refused: po_number changed since planning"), unless ``force=True``.

This costs one extra GET per written object: the price of never overwriting someone's work.
FreshBooks has no conditional PUT, so **a window remains** between that GET and the PUT: one
journal commit plus the PUT's trip to the server, typically a few milliseconds (more under 429
back-off, which delays the PUT after the read).  A change another writer makes inside that window
is overwritten for the fields the PUT carries; the journal's before-image is then the state the
GET saw.  Nothing shorter is possible without server support.

**Recovery.**  ``resume(run_id)`` finishes an interrupted run without repeating a write: every
item not done is re-read first and marked done without a request if it already carries the new
values (a crash between the PUT and its record), written if it is as planned (or re-planned as
above), refused otherwise.  ``undo(run_id)`` is a new run that writes the before-images back,
refusing objects changed since the run wrote them (``updated`` moved or the values differ)
unless ``force=True``; it first settles items caught mid-write (re-read: did the PUT land?) and
undoes those that landed.  An undone run cannot be resumed, and is not undone twice.

**When the server goes away** (connection refused or dropped for ``STOP_AFTER_UNREACHABLE``
objects in a row) the run stops as *interrupted*, leaving the rest for ``resume``, instead of
failing every remaining object.  A ``JournalError`` (disk full, file locked, corrupt) stops the
run too; an object whose PUT may have landed but whose outcome could not be recorded stays
``writing`` for ``resume`` to settle.
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

from ..errors import (
    ConfigurationError,
    ConflictError,
    InvalidFieldValue,
    JournalError,
    ReadOnlyFieldError,
    RunInUseError,
    RunStateError,
    TransportError,
    UnknownFieldError,
    UnsupportedOperationError,
    closest,
)
from ..http.transport import Client, default_client
from ..orm.model import FieldKind, Model
from .journal import ItemRecord, Journal, RunRecord

if TYPE_CHECKING:
    import os

    from ..orm.queryset import QuerySet

__all__ = [
    "DEFAULT_WORKERS",
    "MAX_PASSES",
    "OPTION_NAMES",
    "BatchInterrupted",
    "BatchResult",
    "ConflictError",
    "ItemOutcome",
    "JournalError",
    "Plan",
    "PlannedChange",
    "RunInUseError",
    "RunStateError",
    "UnknownFieldError",
    "check_not_undone",
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
#: Pages read ahead while planning.
PLAN_PREFETCH = 4
#: Reads of a matched set that keeps moving before the plan gives up and says so.
MAX_PASSES = 3
#: Objects in a row that could not reach the server before a run stops as interrupted.
STOP_AFTER_UNREACHABLE = 3
#: Changes ``BatchResult.__str__`` lists before "... and N more".
SHOWN_CHANGES = 20

Action = Literal["update", "delete", "apply"]
Edit = Callable[[Any], object]
Progress = bool | Callable[[int, int, "ItemOutcome"], object] | None
#: Given an item and the object's fresh wire state: the payload to write now, or None when the
#: fresh state needs no change.
Replan = Callable[[ItemRecord, Mapping[str, Any]], "dict[str, Any] | None"]


# --- results ---------------------------------------------------------------------------------


@attrs.frozen
class PlannedChange:
    """One field of one object: its value on the server and the value the run writes."""

    object_id: int
    field: str
    old: Any
    new: Any

    @property
    def invoice_id(self) -> int:
        """The object id (kept from 0.1.0, when batches were invoices only)."""
        return self.object_id

    def __str__(self) -> str:
        return f"{self.object_id}  {self.field}: {_show(self.old)} -> {_show(self.new)}"


@attrs.frozen
class ItemOutcome:
    """What became of one object; passed to a ``progress`` callback.

    ``detail`` says why it was re-planned, forced or settled without a write.
    """

    object_id: int
    state: str
    error: BaseException | None = None
    detail: str | None = None

    @property
    def invoice_id(self) -> int:
        """The object id (kept from 0.1.0, when batches were invoices only)."""
        return self.object_id


@attrs.define
class BatchResult:
    """The counts of a run (the whole run, when it was resumed) and this call's errors.

    ``errors`` and ``details`` are by object id: why an object failed or was refused, and why
    it was re-planned or settled.  ``notes`` are run-level remarks (a set still moving, objects
    never written); ``stopped`` says why a run stopped early (the server went away).
    """

    run_id: str | None
    action: str
    dry_run: bool = False
    preview: bool = False
    resource: str = "invoices"
    matched: int = 0
    planned: int = 0
    done: int = 0
    unchanged: int = 0
    failed: int = 0
    conflicts: int = 0
    pending: int = 0
    replanned: int = 0
    errors: dict[int, BaseException] = attrs.field(factory=dict)
    details: dict[int, str] = attrs.field(factory=dict)
    changes: list[PlannedChange] = attrs.field(factory=list)
    notes: list[str] = attrs.field(factory=list)
    stopped: str | None = None
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """True when nothing failed, conflicted or is left to do."""
        return not (self.failed or self.conflicts or self.pending or self.stopped)

    def __str__(self) -> str:
        noun = self.resource
        if self.dry_run or self.preview:
            head = "dry run, nothing sent" if self.dry_run else "plan, nothing sent yet"
            verb = "would change" if self.dry_run else "will change"
            lines = [
                f"{head}: {self.action} {verb} {self.planned} of {self.matched} matched "
                f"{noun} ({self.unchanged} unchanged"
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
            if self.replanned:
                counts.append(f"{self.replanned} re-planned (changed since planning)")
            if self.conflicts:
                counts.append(f"{self.conflicts} refused (changed since)")
            if self.pending:
                counts.append(f"{self.pending} not yet written")
            lines = [f"{self.action} run {self.run_id}: {', '.join(counts)} in {self.elapsed:.1f}s"]
        if self.stopped:
            lines.append(f"  stopped: {self.stopped}")
        lines.extend(f"  note: {note}" for note in self.notes)
        listing = self.dry_run or self.preview
        shown = self.changes[:SHOWN_CHANGES] if listing else []
        lines.extend(f"  {change}" for change in shown)
        if len(self.changes) > len(shown) and listing:
            lines.append(f"  ... and {len(self.changes) - len(shown)} more changes")
        for object_id, error in list(self.errors.items())[:SHOWN_CHANGES]:
            lines.append(f"  {object_id}: {_describe(error)}")
        if len(self.errors) > SHOWN_CHANGES:
            lines.append(f"  ... and {len(self.errors) - SHOWN_CHANGES} more errors")
        details = [(k, v) for k, v in self.details.items() if k not in self.errors]
        for object_id, detail in details[:SHOWN_CHANGES]:
            lines.append(f"  {object_id}: {detail}")
        if len(details) > SHOWN_CHANGES:
            lines.append(f"  ... and {len(details) - SHOWN_CHANGES} more")
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
    object_id: int
    state: str  # planned | unchanged | failed
    before: dict[str, Any] | None = None
    before_updated: str | None = None
    payload: dict[str, Any] | None = None
    error: BaseException | None = None

    def row(self) -> dict[str, Any]:
        return {
            "object_id": self.object_id,
            "state": self.state,
            "before": self.before,
            "before_updated": self.before_updated,
            "payload": self.payload,
            "error": None if self.error is None else _describe(self.error),
        }


@attrs.define
class Plan:
    """The changes a batch would make; ``execute()`` makes them (``run()`` = plan + execute).

    ``passes`` is how many times the matched set was read; ``moving`` says why the plan may
    have missed objects (the set was still changing after ``MAX_PASSES`` reads), else None.
    """

    model: type[Model]
    client: Client
    action: str
    filter: dict[str, Any]
    description: Any
    entries: list[_Entry]
    elapsed: float = 0.0
    edit: Edit | None = None
    passes: int = 1
    moving: str | None = None

    @property
    def matched(self) -> int:
        return len(self.entries)

    @property
    def planned(self) -> int:
        return sum(1 for e in self.entries if e.state == "planned")

    @property
    def changes(self) -> list[PlannedChange]:
        names = _names_by_wire(self.model)
        return [
            PlannedChange(entry.object_id, names.get(key, key), (entry.before or {}).get(key), new)
            for entry in self.entries
            if entry.payload is not None
            for key, new in entry.payload.items()
        ]

    def result(self, *, preview: bool = False) -> BatchResult:
        """The plan as a result with nothing sent: a dry run's, or (``preview=True``) the
        preview shown before a real write is confirmed."""
        return BatchResult(
            run_id=None,
            action=self.action,
            dry_run=not preview,
            preview=preview,
            resource=_resource_name(self.model),
            matched=self.matched,
            planned=self.planned,
            unchanged=sum(1 for e in self.entries if e.state == "unchanged"),
            failed=sum(1 for e in self.entries if e.state == "failed"),
            errors={e.object_id: e.error for e in self.entries if e.error is not None},
            changes=self.changes,
            notes=[self.moving] if self.moving else [],
            elapsed=self.elapsed,
        )

    def execute(
        self,
        *,
        workers: int = DEFAULT_WORKERS,
        journal: Journal | str | os.PathLike[str] | None = None,
        progress: Progress = None,
        note: str | None = None,
    ) -> BatchResult:
        """Journal the plan, then write each planned object from ``workers`` threads: one GET
        of the object right before its PUT (see the module docs)."""
        _check_workers(workers)
        started = time.monotonic() - self.elapsed
        with _journal(journal) as j:
            run_id = j.create_run(
                action=self.action,
                resource=_resource_name(self.model),
                account_id=self.client.account_id,
                api_host=_host(self.client.base_url),
                filter=self.filter,
                changes=self.description,
                items=[e.row() for e in self.entries],
                matched=self.matched,
                note=note,
                lease=True,
            )
            try:
                result = _drive(
                    j,
                    j.run(run_id),
                    self.model,
                    self.client,
                    states=("planned",),
                    replan=_replanner(self.model, self.client, self.action, self.edit),
                    force=False,
                    workers=workers,
                    progress=progress,
                    errors={e.object_id: e.error for e in self.entries if e.error is not None},
                    started=started,
                    changes=self.changes,
                )
            finally:
                _release(j, run_id)
            if self.moving:
                result.notes.append(self.moving)
            return result


def plan(
    queryset: QuerySet[Any],
    edit: Edit | None,
    action: Action = "apply",
    *,
    prefetch: int = PLAN_PREFETCH,
) -> Plan:
    """Read the objects ``queryset`` matches and work out each one's change; send no write.

    ``action="delete"`` plans ``vis_state`` -> 1 for every object not deleted yet; otherwise
    ``edit(obj)`` changes the object in place (it must not save it).  Lines are included in
    the list requests when the edit may change them.  Pages are read ``prefetch`` at a time;
    a set that moves while it is read is read again (see ``Plan.moving``).
    """
    if action not in ("update", "delete", "apply"):
        raise ValueError(f"action must be 'update', 'delete' or 'apply', not {action!r}")
    if action != "delete" and not callable(edit):
        raise TypeError(f"{action}() needs a function that edits one object, got {edit!r}")
    from ..orm.queryset import PageStats

    started = time.monotonic()
    model = queryset.model
    if action == "delete":
        _check_deletable(model)
    client = queryset.get_client()
    qs = queryset.using(client)
    includes = _wanted_includes(model, action, edit)
    if includes:
        qs = qs.include(*includes)
    read_only = _ReadOnlyClient(client)
    entries: dict[Any, _Entry] = {}
    passes, moving = 0, None
    while True:
        passes += 1
        stats = PageStats()
        # every page is read (and each row verified against the filters sent) before the
        # edit sees any object: a server that ignored a filter stops the batch here
        read = list(qs.iterator(prefetch=prefetch, stats=stats))
        for obj in read:
            if obj.pk not in entries:
                entries[obj.pk] = _plan_object(obj, edit, action, read_only)
        if not stats.moved:
            break
        if passes >= MAX_PASSES:
            totals = sorted({t for t in stats.totals if t is not None})
            moving = (
                f"the matched {_resource_name(model)} kept changing while they were read "
                f"({passes} reads; page totals {totals}, "
                f"{stats.repeats} rows repeated): some matching objects may be missing from this "
                "plan; run it again when the account is quieter"
            )
            break
    return Plan(
        model=model,
        client=client,
        action=action,
        filter=_describe_queryset(qs),
        description=_describe_edit(action, edit),
        entries=list(entries.values()),
        elapsed=time.monotonic() - started,
        edit=edit,
        passes=passes,
        moving=moving,
    )


def _plan_object(obj: Model, edit: Edit | None, action: str, read_only: Any) -> _Entry:
    """One object's entry: apply the edit and read what it changed (shared by the plan and the
    re-plan from a fresh state)."""
    meta = obj._meta
    raw = meta.wire_data(obj)
    entry = _Entry(int(obj.pk), "unchanged", before_updated=_updated_of(type(obj), raw))
    if action == "delete":
        state_field, deleted, active = _delete_values(type(obj))
        current = raw.get(state_field)
        if current is not None and _as_int(current) == deleted:
            return entry
        entry.state = "planned"
        entry.before = {state_field: active if current is None else int(current)}
        entry.payload = {state_field: deleted}
        return entry
    meta.set_client(obj, read_only)
    try:
        assert edit is not None
        edit(obj)
        names = obj.dirty_fields
        if names:
            entry.payload = obj.to_payload(names)
            entry.before = _image(type(obj), raw, entry.payload)
            entry.state = "planned"
    except Exception as exc:
        entry.state, entry.error = "failed", exc
    return entry


def _wanted_includes(model: type[Model], action: str, edit: Edit | None) -> tuple[str, ...]:
    """The ``include[]`` values the list requests need: those of the nested lists (``lines``)
    an edit may change (every one for ``apply``)."""
    meta = model._meta
    names = meta.nested if action == "apply" else getattr(edit, "fields", ())
    return meta.includes_for(names)


def _nested_includes(model: type[Model], keys: Iterable[str]) -> tuple[str, ...]:
    """The ``include[]`` values a GET or PUT needs to return the nested wire ``keys``."""
    meta = model._meta
    return meta.includes_for(n for n, spec in meta.nested.items() if spec.wire in keys)


def _nested_by_wire(model: type[Model], key: str) -> Any:
    spec = model._meta.field_by_wire(key)
    return spec if spec is not None and spec.is_nested else None


def _check_deletable(model: type[Model]) -> None:
    lifecycle = model._meta.lifecycle
    if lifecycle.http_delete or lifecycle.state is None or lifecycle.deleted is None:
        raise UnsupportedOperationError(
            f"{model.__name__} is deleted with {lifecycle.delete_style}, which a batch cannot "
            f"journal and undo; delete them one by one with .delete()"
        )


def _delete_values(model: type[Model]) -> tuple[str, int, int]:
    """(state key, deleted value, active value) of a resource a batch can delete."""
    _check_deletable(model)
    lifecycle = model._meta.lifecycle
    assert lifecycle.state is not None and lifecycle.deleted is not None
    return lifecycle.state, lifecycle.deleted, lifecycle.active or 0


def run(
    queryset: QuerySet[Any],
    edit: Edit | None,
    action: Action = "apply",
    *,
    dry_run: bool = False,
    workers: int = DEFAULT_WORKERS,
    journal: Journal | str | os.PathLike[str] | None = None,
    progress: Progress = None,
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
    specs = model._meta.fields
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
        except InvalidFieldValue:
            raise  # already names the field and the value
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
    progress: Progress = None,
    force: bool = False,
) -> BatchResult:
    """Finish run ``run_id`` (an id, a unique prefix or ``"latest"``) without repeating a write.

    Items already done are skipped.  Every other item with something to write (planned, or
    caught mid-write, or failed, or refused earlier) is re-read: if it already has the new
    values it is marked done without a request; if it is as it was planned it is written; if
    only ``updated`` moved, an ``update`` or ``delete`` is re-planned (an ``apply`` function is
    not stored, so such an object is refused); if the values it changes moved, it is refused as
    a conflict (``force=True`` writes it anyway).  Refuses (``RunStateError``) an undone run
    and (``RunInUseError``) a run another live process holds.
    """
    _check_workers(workers)
    started = time.monotonic()
    with _journal(journal) as j:
        record = j.run(run_id)
        check_not_undone(j, record, "resumed")
        client = client or default_client()
        _check_target(record, client)
        model = _model_for(record.resource)
        with j.leased(record.id):
            result = _drive(
                j,
                j.run(record.id),
                model,
                client,
                states=("planned", "writing", "failed", "conflict"),
                replan=_replanner(model, client, record.action, None),
                force=force,
                workers=workers,
                progress=progress,
                errors={},
                started=started,
            )
            if record.undoes and result.ok:
                j.set_status(record.undoes, "undone")
        return result


def undo(
    run_id: str,
    client: Client | None = None,
    journal: Journal | str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    dry_run: bool = False,
    workers: int = DEFAULT_WORKERS,
    progress: Progress = None,
    note: str | None = None,
) -> BatchResult:
    """Write back the before-images of run ``run_id``'s done items, as a new (resumable) run.

    Items the run left mid-write (its process died between recording ``writing`` and the
    answer) are settled first: re-read, counted as done if the write landed (and then undone),
    as never written otherwise.  An object whose ``updated`` moved since the run wrote it, or
    whose changed fields no longer hold the values written, is refused (counted in
    ``conflicts``) unless ``force``.  Deletes are undone with ``vis_state`` alone, as
    ``restore()`` does.  Undoing an undone run raises ``RunStateError`` ("already undone"); a
    run another live process holds raises ``RunInUseError``.  When the undo finishes with
    nothing refused or left, the run's status becomes ``undone`` and it can no longer be
    resumed.
    """
    _check_workers(workers)
    started = time.monotonic()
    with _journal(journal) as j:
        record = j.run(run_id)
        check_not_undone(j, record, "undone")
        model = _model_for(record.resource)
        if dry_run:
            return _undo_preview(j, record, model, started)
        client = client or default_client()
        _check_target(record, client)
        with j.leased(record.id):
            notes = _settle(j, record, model, client)
            done = j.items(record.id, ("done",))
            entries = [
                _Entry(
                    item.object_id,
                    "planned",
                    before=item.after,
                    before_updated=item.after_updated,
                    payload=item.before,
                )
                for item in done
                if item.before and item.after is not None
            ]
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
                lease=True,
            )
            try:
                result = _drive(
                    j,
                    j.run(new_id),
                    model,
                    client,
                    states=("planned",),
                    replan=None,
                    force=force,
                    workers=workers,
                    progress=progress,
                    errors={},
                    started=started,
                )
            finally:
                _release(j, new_id)
            if result.ok:
                j.set_status(record.id, "undone")
            result.notes.extend(notes)
            return result


def check_not_undone(j: Journal, record: RunRecord, verb: str) -> None:
    """Refuse to resume or undo a run that was undone (or whose undo is unfinished)."""
    undos = j.undo_runs(record.id)
    if record.status == "undone":
        by = f" by run {undos[0].id}" if undos else ""
        what = "already undone" if verb == "undone" else "undone"
        raise RunStateError(
            f"run {record.id} was {what}{by}; it cannot be {verb}",
            journal_path=str(j.path),
        )
    if undos:
        latest = undos[0]
        raise RunStateError(
            f"run {record.id} is being undone by run {latest.id} ({latest.status}, "
            f"{latest.pending} left); finish that first: runs resume {latest.id}",
            journal_path=str(j.path),
        )


def _undo_preview(j: Journal, record: RunRecord, model: type[Model], started: float) -> BatchResult:
    names = _names_by_wire(model)
    done = j.items(record.id, ("done",))
    unsettled = j.items(record.id, ("writing",))
    changes = [
        PlannedChange(item.object_id, names.get(k, k), (item.after or {}).get(k), v)
        for item in done
        if item.before and item.after is not None
        for k, v in item.before.items()
    ]
    planned = len({c.object_id for c in changes})
    notes = []
    if unsettled:
        notes.append(
            f"{len(unsettled)} {record.resource} of run {record.id} were caught mid-write "
            f"({_ids(unsettled)}): undo re-reads them first and undoes those whose write landed"
        )
    return BatchResult(
        run_id=None,
        action="undo",
        dry_run=True,
        resource=record.resource,
        matched=len(done) + len(unsettled),
        planned=planned + len(unsettled),
        unchanged=len(done) - planned,
        changes=changes,
        notes=notes,
        elapsed=time.monotonic() - started,
    )


def _settle(j: Journal, record: RunRecord, model: type[Model], client: Client) -> list[str]:
    """Re-read the items ``record`` left mid-write: done if the write landed, else planned.

    Returns notes for the result.  A read that fails raises: nothing is undone until every
    such item is known.
    """
    notes: list[str] = []
    reader = _Writer(j, record.id, model, client, replan=None, force=False)
    unsettled = j.items(record.id, ("writing",))
    never = [i for i in j.items(record.id, ("planned", "failed", "conflict"))]
    for item in unsettled:
        fresh = reader.get(item.object_id, _nested_includes(model, item.payload or {}))
        if _matches(model, fresh, item.payload or {}):
            reader.record_done(item.object_id, fresh, item.payload or {}, "settled by undo: the "
                               "write had landed")  # fmt: skip
        else:
            j.mark(
                record.id,
                item.object_id,
                "planned",
                detail="settled by undo: the write had not landed",
            )
            never.append(item)
    if unsettled:
        notes.append(f"settled {len(unsettled)} object(s) left mid-write: {_ids(unsettled)}")
    if never:
        notes.append(
            f"{len(never)} object(s) of run {record.id} were never written, so there is nothing "
            f"to undo for them: {_ids(never)}"
        )
    return notes


def _ids(items: Iterable[ItemRecord]) -> str:
    ids = [str(i.object_id) for i in items]
    return ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")


def _replanner(model: type[Model], client: Client, action: str, edit: Edit | None) -> Replan | None:
    """How to recompute an item's payload from a fresh state, or None if it cannot be.

    ``update`` and ``delete`` payloads do not depend on the object's other values, so the
    stored payload (or ``vis_state`` 1) stands; an ``apply`` function is run again on the
    fresh object when it is at hand (in the process that planned the run); an undo's payload
    is a before-image, never recomputed.
    """
    if action == "delete":
        field, deleted, _active = _delete_values(model)
        return lambda item, fresh: (
            None if _as_int(fresh.get(field)) == deleted else {field: deleted}
        )
    if action == "update" and edit is None:
        return lambda item, fresh: None if _matches(model, fresh, item.payload) else item.payload
    if action in ("update", "apply") and edit is not None:
        read_only = _ReadOnlyClient(client)

        def again(item: ItemRecord, fresh: Mapping[str, Any]) -> dict[str, Any] | None:
            entry = _plan_object(model.from_wire(dict(fresh), client), edit, action, read_only)
            if entry.error is not None:
                raise entry.error
            return entry.payload

        return again
    return None


# --- writing -----------------------------------------------------------------------------------


class _Writer:
    """Writes one item (fresh GET, checks, journal, PUT, record); shared by a run's threads."""

    def __init__(
        self,
        journal: Journal,
        run_id: str,
        model: type[Model],
        client: Client,
        *,
        replan: Replan | None,
        force: bool,
        all_lines: bool = False,
    ) -> None:
        self.journal = journal
        self.run_id = run_id
        self.model = model
        self.client = client
        self.replan = replan
        self.force = force
        self.all_lines = all_lines
        self.stop = threading.Event()
        self.stopped: str | None = None
        self._unreachable = 0
        self._count_lock = threading.Lock()
        spec = model._meta.resource
        assert spec is not None
        self.spec = spec

    def _path(self, object_id: int) -> str:
        return self.spec.detail_path(self.client.account_id, object_id)

    def get(self, object_id: int, includes: Iterable[str] = ()) -> dict[str, Any]:
        params = [("include[]", name) for name in includes] or None
        return self.client.request(
            "GET", self._path(object_id), params=params, expect=self.spec.required_result
        )

    def write(self, item: ItemRecord) -> ItemOutcome:
        """Write one item; a ``JournalError`` propagates (the run must stop)."""
        object_id = item.object_id
        if self.stop.is_set():
            return ItemOutcome(object_id, item.state)
        payload: dict[str, Any] = dict(item.payload)
        includes = _nested_includes(self.model, payload)
        if self.all_lines and self.replan is not None:
            includes = self.model._meta.includes_for(self.model._meta.nested)
        try:
            fresh = self.get(object_id, includes)
        except Exception as exc:
            return self._failed(item, exc, sent=False)
        self._reachable()
        detail: str | None = None
        if _matches(self.model, fresh, payload):
            if item.state in ("writing", "failed"):  # our earlier PUT may have landed
                self.record_done(
                    object_id, fresh, payload, "already written (settled by re-reading)"
                )
                return ItemOutcome(object_id, "done", detail="already written")
            detail = "already had the new values"
            self.journal.mark(self.run_id, object_id, "unchanged", detail=detail)
            return ItemOutcome(object_id, "unchanged", detail=detail)
        reason = _changed_since(self.model, fresh, item.before or {}, item.before_updated)
        if reason is not None:
            touched = _moved_fields(self.model, fresh, item.before or {})
            if not touched and self.replan is not None:
                try:
                    replanned = self.replan(item, fresh)
                except Exception as exc:
                    return self._failed(item, exc, sent=False)
                detail = f"re-planned from the state read before writing ({reason})"
                if not replanned:
                    detail += ": no change needed now"
                    self.journal.mark(self.run_id, object_id, "unchanged", detail=detail)
                    return ItemOutcome(object_id, "unchanged", detail=detail)
                payload = dict(replanned)
            elif self.force:
                detail = f"forced although {reason}"
            else:
                why = f"refused: {reason}" + (
                    "" if touched or self.replan is not None else " (this run cannot be re-planned)"
                )
                error = ConflictError(why)
                self.journal.mark(self.run_id, object_id, "conflict", error=why)
                return ItemOutcome(object_id, "conflict", error)
        for key in list(payload):
            nested = _nested_by_wire(self.model, key)
            if nested is not None:
                payload[key] = _existing_ids_only(nested, payload[key], fresh.get(key))
        # The window: from the GET's answer to the PUT there is only this one journal commit.
        self.journal.mark(
            self.run_id,
            object_id,
            "writing",
            before=_image(self.model, fresh, payload),
            before_updated=_updated_of(self.model, fresh),
            payload=payload,
            detail=detail,
        )
        sent_nested = [k for k in payload if _nested_by_wire(self.model, k) is not None]
        put_includes = _nested_includes(self.model, sent_nested)
        params = [("include[]", name) for name in put_includes] or None
        try:
            after = self.client.request(
                "PUT",
                self._path(object_id),
                params=params,
                json={self.spec.single_key: payload},
                expect=self.spec.result,
            )
            if after is None or any(k not in after for k in sent_nested):
                after = self.get(object_id, put_includes)  # e.g. a vis_state PUT answers {}
        except Exception as exc:
            return self._failed(item, exc, sent=True)
        self._reachable()
        self.record_done(object_id, after, payload, detail)
        return ItemOutcome(object_id, "done", detail=detail)

    def record_done(
        self, object_id: int, wire: Mapping[str, Any], payload: Mapping[str, Any], detail: Any
    ) -> None:
        after = {key: copy.deepcopy(wire.get(key)) for key in payload}
        try:
            self.journal.mark(
                self.run_id,
                object_id,
                "done",
                after=after,
                after_updated=_updated_of(self.model, wire),
                detail=detail,
            )
        except JournalError as exc:
            raise self.journal.explain(exc, "record a write").recast(
                JournalError,
                f"{exc.message} -- {self.spec.single_key} {object_id} was written but that could "
                f"not be recorded; 'runs resume {self.run_id}' re-reads it and settles it",
                journal_path=exc.journal_path,
            ) from exc

    def _failed(self, item: ItemRecord, exc: Exception, *, sent: bool) -> ItemOutcome:
        if isinstance(exc, JournalError):
            raise exc
        text = _describe(exc)
        if _unreachable(exc):
            with self._count_lock:
                self._unreachable += 1
                if self._unreachable >= STOP_AFTER_UNREACHABLE and not self.stop.is_set():
                    self.stopped = (
                        f"the server stopped answering ({_one_line(exc)}) for "
                        f"{self._unreachable} {self.spec.list_key} in a row; the rest were left "
                        "for resume"
                    )
                    self.stop.set()
            # Nothing is known to have failed: a GET never sent anything; a PUT stays
            # 'writing' (it may have landed) for resume to settle.
            state = "writing" if sent else item.state
            self.journal.mark(self.run_id, item.object_id, state, error=text)
            return ItemOutcome(item.object_id, state, exc)
        self._reachable()
        self.journal.mark(self.run_id, item.object_id, "failed", error=text)
        return ItemOutcome(item.object_id, "failed", exc)

    def _reachable(self) -> None:
        with self._count_lock:
            self._unreachable = 0


def _unreachable(exc: BaseException) -> bool:
    """A connection refused, reset or timed out: no HTTP answer at all."""
    return isinstance(exc, TransportError) and exc.status_code is None


def _drive(
    journal: Journal,
    record: RunRecord,
    model: type[Model],
    client: Client,
    *,
    states: Iterable[str],
    replan: Replan | None,
    force: bool,
    workers: int,
    progress: Progress,
    errors: dict[int, BaseException],
    started: float,
    changes: list[PlannedChange] | None = None,
) -> BatchResult:
    todo = [item for item in journal.items(record.id, states) if item.payload is not None]
    writer = _Writer(
        journal,
        record.id,
        model,
        client,
        replan=replan,
        force=force,
        all_lines=record.action == "apply" and bool(_wanted_includes(model, "apply", None)),
    )
    journal.set_status(record.id, "running")
    interrupted = False
    failure: JournalError | None = None
    outcomes: dict[int, ItemOutcome] = {}
    try:
        _write_all(writer, todo, workers, progress, outcomes, record.action, record.resource)
    except KeyboardInterrupt:
        interrupted = True
    except JournalError as exc:
        failure = exc
    counts: dict[str, int] = {}
    left = 0
    try:
        counts = journal.counts(record.id)
        left = sum(n for s, n in counts.items() if s in ("planned", "writing"))
        stopped = interrupted or failure is not None or writer.stopped is not None
        journal.set_status(record.id, "interrupted" if left and stopped else _final(counts))
    except JournalError as exc:
        failure = failure or exc
    if failure is not None:
        raise failure.recast(
            JournalError,
            f"run {record.id} stopped: {failure.message}"
            + ("" if "runs resume" in failure.message else f"; then: runs resume {record.id}"),
            journal_path=failure.journal_path,
        ) from failure
    for object_id, outcome in outcomes.items():
        if outcome.error is not None:
            errors[object_id] = outcome.error
    result = BatchResult(
        run_id=record.id,
        action=record.action,
        resource=record.resource,
        matched=record.matched,
        planned=sum(n for s, n in counts.items() if s != "unchanged"),
        done=counts.get("done", 0),
        unchanged=counts.get("unchanged", 0),
        failed=counts.get("failed", 0),
        conflicts=counts.get("conflict", 0),
        pending=left,
        replanned=sum(1 for o in outcomes.values() if (o.detail or "").startswith("re-planned")),
        errors={k: v for k, v in errors.items() if _still_failing(outcomes, k)},
        details={k: o.detail for k, o in outcomes.items() if o.detail},
        changes=changes or [],
        stopped=writer.stopped,
        elapsed=time.monotonic() - started,
    )
    if interrupted and left:
        raise BatchInterrupted(result)
    return result


def _final(counts: Mapping[str, int]) -> str:
    return "interrupted" if any(counts.get(s) for s in ("planned", "writing")) else "finished"


def _still_failing(outcomes: Mapping[int, ItemOutcome], object_id: int) -> bool:
    outcome = outcomes.get(object_id)
    return outcome is None or outcome.state not in ("done", "unchanged")


def _write_all(
    writer: _Writer,
    todo: list[ItemRecord],
    workers: int,
    progress: Progress,
    outcomes: dict[int, ItemOutcome],
    action: str,
    noun: str,
) -> None:
    reporter = _Reporter(progress, len(todo), action, noun)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="freshbooks-batch")
    try:
        futures = [pool.submit(writer.write, item) for item in todo]
        for finished, future in enumerate(as_completed(futures), 1):
            outcome = future.result()
            outcomes[outcome.object_id] = outcome
            reporter(finished, len(todo), outcome)
    except BaseException:
        writer.stop.set()  # queued items stay as they are; writes in flight finish and are recorded
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        reporter.close()


class _Reporter:
    def __init__(self, progress: Progress, total: int, action: str, noun: str) -> None:
        self._callback: Callable[[int, int, ItemOutcome], object] | None = None
        self._bar: Any = None
        if callable(progress):
            self._callback = progress
        elif progress is True or (progress is None and _stderr_is_tty()):
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=action, unit=noun.rstrip("s"), file=sys.stderr)

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


def _moved_fields(
    model: type[Model], wire: Mapping[str, Any], expected: Mapping[str, Any]
) -> list[str]:
    """The fields of ``expected`` whose value in ``wire`` differs."""
    names = _names_by_wire(model)
    return sorted(
        names.get(k, k) for k, v in expected.items() if not _same(model, k, wire.get(k), v)
    )


def _changed_since(
    model: type[Model],
    wire: Mapping[str, Any],
    expected: Mapping[str, Any],
    expected_updated: str | None,
) -> str | None:
    """Why ``wire`` is not the state a write was planned against, or None if it is."""
    moved = _moved_fields(model, wire, expected)
    if moved:
        return f"{', '.join(moved)} changed since it was read"
    current_updated = _updated_of(model, wire)
    if expected_updated is not None and current_updated != expected_updated:
        return f"updated {expected_updated} -> {current_updated}: other fields changed"
    return None


def _same(model: type[Model], key: str, a: Any, b: Any) -> bool:
    nested = _nested_by_wire(model, key)
    if nested is not None:
        return _normal_items(nested, a) == _normal_items(nested, b)
    if a in (None, "") and b in (None, ""):
        return True
    spec = _specs_by_wire(model).get(key)
    if spec is None:
        return bool(a == b)
    try:
        return bool(spec.type.parse(a) == spec.type.parse(b))
    except (TypeError, ValueError, ArithmeticError):
        return bool(a == b)


def _normal_items(nested: Any, items: Any) -> list[dict[str, Any]]:
    """Nested items (lines) as comparable dicts: writable values as ``save()`` would send them,
    no ids, and no empty values (the server fills in defaults such as ``taxAmount1: "0"``)."""
    item_model = nested.item_model
    pk_wire = item_model._meta.fields[item_model._meta.pk].wire
    out = []
    for raw in items or ():
        payload = item_model.from_wire(dict(raw)).to_nested_payload()
        out.append({k: v for k, v in payload.items() if k != pk_wire and v not in (None, "", 0)})
    return out


def _existing_ids_only(nested: Any, items: Any, current: Any) -> list[dict[str, Any]]:
    """The payload's items, with ids the object no longer has dropped (such items are created
    again): restoring a line the run removed must not fail with "Line not found"."""
    item_meta = nested.item_model._meta
    pk_wire = item_meta.fields[item_meta.pk].wire
    existing = {item.get(pk_wire) for item in current or () if isinstance(item, dict)}
    out = []
    for item in items:
        if item.get(pk_wire) is not None and item.get(pk_wire) not in existing:
            item = {k: v for k, v in item.items() if k != pk_wire}
        out.append(item)
    return out


# --- helpers -----------------------------------------------------------------------------------


def _image(model: type[Model], wire: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """The values of wire ``keys`` in ``wire``; lines as the payload that restores them."""
    out: dict[str, Any] = {}
    for key in keys:
        nested = _nested_by_wire(model, key)
        if nested is not None:
            item_model = nested.item_model
            out[key] = [
                item_model.from_wire(dict(item)).to_nested_payload()
                for item in wire.get(key) or ()
                if isinstance(item, dict)
            ]
        else:
            out[key] = copy.deepcopy(wire.get(key))
    return out


def _specs_by_wire(model: type[Model]) -> dict[str, Any]:
    return {spec.wire: spec for spec in model._meta.fields.values()}


def _names_by_wire(model: type[Model]) -> dict[str, str]:
    return {spec.wire: name for name, spec in model._meta.fields.items()}


def _wire_value(obj: Model, name: str) -> Any:
    return obj._meta.fields[name].type.to_wire(getattr(obj, name))


def _updated_of(model: type[Model], wire: Mapping[str, Any]) -> str | None:
    """The value of the resource's concurrency key (``updated``), if it has one."""
    key = model._meta.concurrency_field
    value = None if key is None else wire.get(key)
    return None if value is None else str(value).strip()


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _describe_queryset(qs: QuerySet[Any]) -> dict[str, Any]:
    query = qs.query
    out: dict[str, Any] = {"params": [list(pair) for pair in query.filter_params]}
    if qs.conditions != "everything":  # the whole query, local conditions included
        out["where"] = qs.conditions
    if query.includes:
        out["include"] = list(query.includes)
    if query.sort:
        out["sort"] = query.sort
    low, high = qs.limits
    if low or high is not None:
        out["slice"] = [low, high]
    return out


def _describe_edit(action: str, edit: Edit | None) -> Any:
    if action == "delete":
        return {"delete": True}
    changes = getattr(edit, "changes", None)
    if isinstance(changes, dict):
        return {"set": changes}
    name = getattr(edit, "__qualname__", None) or repr(edit)
    return {"apply": f"{getattr(edit, '__module__', '?')}.{name}"}


def _resource_name(model: type[Model]) -> str:
    """The name a journal stores for ``model``'s resource: its registry name (``"invoices"``)."""
    return model._meta.name or model.__name__


def _model_for(resource: str) -> type[Model]:
    """The model class of a journal's resource name (``"invoices"``; schema 1 stored the class
    name, ``"Invoice"``, which the registry accepts too)."""
    from ..orm.registry import get_model

    return get_model(resource)


def _host(base_url: str) -> str:
    return urlsplit(base_url).netloc or base_url


def _check_target(record: RunRecord, client: Client) -> None:
    here = (client.account_id, _host(client.base_url))
    if (record.account_id, record.api_host) != here:
        raise ConfigurationError(
            f"run {record.id} was made against account {record.account_id} at "
            f"{record.api_host}; this client is for account {here[0]} at {here[1]}"
        )


def _check_workers(workers: int) -> None:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")


def _release(j: Journal, run_id: str) -> None:
    """Give the lease back; a journal that fails now already raised or will say so."""
    try:
        j.release(run_id)
    except JournalError:
        pass


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


def _one_line(exc: BaseException, limit: int = 300) -> str:
    """The error on one line; a long one keeps its end, where the cause is."""
    text = " ".join(str(exc).split())
    if len(text) <= limit:
        return text
    return f"{text[: limit // 2]} ... {text[-(limit // 2) :]}"


def _show(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} line{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict) and set(value) == {"amount", "code"}:
        return f"{value['amount']} {value['code']}"
    return repr(value)
