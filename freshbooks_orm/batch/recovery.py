"""Recovery: ``resume`` an interrupted run without repeating a write, ``undo`` a run by writing
its before-images back, and the checks (undone runs, the lease) that keep both safe."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..errors import RunStateError
from ..http.transport import Client, default_client
from ..orm.model import Model
from .execute import (
    DEFAULT_WORKERS,
    Progress,
    _check_target,
    _check_workers,
    _drive,
    _journal,
    _release,
    _Writer,
)
from .journal import ItemRecord, Journal, RunRecord
from .planning import _Entry, _replanner
from .results import BatchResult, PlannedChange
from .wire import _field_name, _matches, _model_for, _nested_includes

if TYPE_CHECKING:
    import os

__all__ = ["check_not_undone", "resume", "undo"]


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

    Items whose write may have landed (the run's process died between recording ``writing``
    and the answer, the answer was a 5xx or never came, or reading the object back after it
    failed) are settled first: re-read, counted as done if the write landed (and then undone),
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
    done = j.items(record.id, ("done",))
    unsettled = j.items(record.id, ("writing",)) + [
        i for i in j.items(record.id, ("failed",)) if _may_have_landed(i)
    ]
    changes = [
        PlannedChange(item.object_id, _field_name(model, k), (item.after or {}).get(k), v)
        for item in done
        if item.before and item.after is not None
        for k, v in item.before.items()
    ]
    planned = len({c.object_id for c in changes})
    notes = []
    if unsettled:
        notes.append(
            f"{len(unsettled)} {record.resource} of run {record.id} may or may not have been "
            f"written (caught mid-write, or the server's answer was lost: {_ids(unsettled)}): "
            "undo re-reads them first and undoes those whose write landed"
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
    failed = j.items(record.id, ("failed",))
    unsettled = j.items(record.id, ("writing",)) + [i for i in failed if _may_have_landed(i)]
    never = [
        i for i in j.items(record.id, ("planned", "failed", "conflict")) if not _may_have_landed(i)
    ]
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
        notes.append(
            f"settled {len(unsettled)} object(s) whose write may have landed (left mid-write, "
            f"or its answer was lost): {_ids(unsettled)}"
        )
    if never:
        notes.append(
            f"{len(never)} object(s) of run {record.id} were never written, so there is nothing "
            f"to undo for them: {_ids(never)}"
        )
    return notes


def _may_have_landed(item: ItemRecord) -> bool:
    """A ``failed`` item whose PUT was answered with a 5xx: a journal written before 0.2.0
    counted those failed (they now stay ``writing``); the PUT may have landed."""
    return (
        item.state == "failed"
        and item.payload is not None
        and bool(_LEGACY_5XX_PUT.search(item.error or ""))
    )


_LEGACY_5XX_PUT = re.compile(r"\bHTTP 5\d\d PUT ")


def _ids(items: Iterable[ItemRecord]) -> str:
    ids = [str(i.object_id) for i in items]
    return ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
