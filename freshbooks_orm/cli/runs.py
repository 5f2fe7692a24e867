"""``runs list/show/resume/undo/unlock``: the journal of batch runs, and how a batch result is
reported."""

from __future__ import annotations

import json
from typing import Any

from .. import batch
from ..batch.journal import Journal, RunRecord
from ..batch.results import _show
from .context import Context, UsageError
from .output import PROG, _table

__all__ = [
    "cmd_runs_list",
    "cmd_runs_resume",
    "cmd_runs_show",
    "cmd_runs_undo",
    "cmd_runs_unlock",
]


def _report(ctx: Context, result: batch.BatchResult) -> int:
    ctx.print(str(result))
    if result.run_id and ctx.opt("sandbox"):
        # resume/undo hints would point at a sandbox that is gone when this command ends
        ctx.note(
            "(the journal of a --sandbox run is thrown away with the sandbox)"
            if ctx.throwaway_journal
            else f"(run {result.run_id} is in the journal, but its --sandbox is gone)"
        )
    elif result.run_id:
        if result.failed or result.conflicts or result.pending:
            ctx.note(f"see: {PROG} runs show {result.run_id} --items")
        if result.uncertain:
            ctx.note(
                f"{result.uncertain} write(s) may have landed (the server's answer was lost): "
                f"{PROG} runs resume {result.run_id} (or runs undo) re-reads them first, "
                "nothing is sent twice"
            )
        elif result.failed or result.pending:
            ctx.note(f"retry with: {PROG} runs resume {result.run_id}")
        if result.done and result.action != "undo":
            ctx.note(f"undo with: {PROG} runs undo {result.run_id}")
    return 0 if result.ok else 1


def _confirmed(
    ctx: Context, question: str, cancelled: str = "cancelled; nothing was written"
) -> bool:
    """Ask before a write; say so when the answer is no."""
    if ctx.confirm(question):
        return True
    ctx.note(cancelled)
    return False


def _writing(ctx: Context) -> dict[str, Any]:
    """The options of a write that come from the command line: workers and progress display."""
    return {"workers": ctx.args.workers, "progress": ctx.progress()}


def _run(journal: Journal, ref: str) -> RunRecord:
    try:
        return journal.run(ref)
    except KeyError as exc:  # no such run, or an ambiguous prefix: the command line's mistake
        raise UsageError(exc.args[0] if exc.args else str(exc)) from None


def cmd_runs_list(ctx: Context) -> int:
    runs = ctx.journal().runs(limit=ctx.args.limit)
    columns = ("run", "action", "status", "when (UTC)", "user", "matched", "done", "failed",
               "refused", "note")  # fmt: skip
    rows = [
        [
            r.id,
            r.action + (f" of {r.undoes}" if r.undoes else ""),
            r.status,
            r.created_at.replace("+00:00", ""),
            r.user,
            str(r.matched),
            str(r.count("done")),
            str(r.count("failed")),
            str(r.count("conflict")),
            r.note or "",
        ]
        for r in runs
    ]
    ctx.print(_table(columns, rows) if rows else f"no runs in {ctx.journal().path}")
    return 0


def cmd_runs_show(ctx: Context) -> int:
    journal = ctx.journal()
    run = _run(journal, ctx.args.run)
    ctx.print(_describe_run(run))
    if run.lease is not None and run.lease.alive is None:
        ctx.note(
            f"(held on another host: if that process is gone, {PROG} runs unlock {run.id} "
            "lets resume and undo take the run)"
        )
    if ctx.args.items:
        rows = [
            [
                str(i.object_id),
                i.state,
                _summary(i.before, i.payload),
                "; ".join(t for t in (i.error, i.detail) if t),
            ]
            for i in journal.items(run.id)
        ]
        ctx.print(_table((run.resource, "state", "change", "why"), rows))
    return 0


def cmd_runs_resume(ctx: Context) -> int:
    journal = ctx.journal()
    run = _run(journal, ctx.args.run)
    batch.check_not_undone(journal, run, "resumed")
    if not run.pending:
        ctx.print(f"run {run.id} has nothing left to do ({run.count('done')} done)")
        return 0
    if not _confirmed(
        ctx, f"Resume run {run.id}: {run.pending} {run.resource} object(s) left?", "cancelled"
    ):
        return 1
    result = batch.resume(
        run.id, client=ctx.client(), journal=journal, force=ctx.args.force, **_writing(ctx)
    )
    return _report(ctx, result)


def cmd_runs_undo(ctx: Context) -> int:
    journal = ctx.journal()
    run = _run(journal, ctx.args.run)
    preview = batch.undo(run.id, journal=journal, dry_run=True)
    if not ctx.args.dry_run:
        preview.dry_run, preview.preview = False, True
    ctx.print(str(preview))
    if ctx.args.dry_run or not preview.planned:
        return 0
    if not _confirmed(
        ctx, f"Undo run {run.id}: restore {preview.planned} {run.resource} object(s)?"
    ):
        return 1
    result = batch.undo(
        run.id,
        client=ctx.client(),
        journal=journal,
        force=ctx.args.force,
        note=ctx.args.note,
        **_writing(ctx),
    )
    code = _report(ctx, result)
    if result.conflicts:
        ctx.note(f"refused {run.resource} changed after the run; --force restores them anyway")
    return code


def cmd_runs_unlock(ctx: Context) -> int:
    journal = ctx.journal()
    run = _run(journal, ctx.args.run)
    lease = run.lease
    if lease is None:
        ctx.print(f"run {run.id} is not held by any process ({run.status}): nothing to unlock")
        return 0
    alive = lease.alive
    if alive:  # never broken: the library refuses, naming the holder (exit 1)
        journal.break_lease(run.id, holder=lease)
    ctx.print(f"run {run.id} ({run.action} of {run.resource}) is held by {lease}")
    if alive is None:
        ctx.print(
            f"{lease.host} is another host: whether pid {lease.pid} still runs there cannot be "
            "checked from here.\nBe sure that process is gone (its machine or container is, "
            "or you stopped it) before unlocking: a run written by two processes at once can "
            "overwrite changes."
        )
    else:
        ctx.print(f"pid {lease.pid} is no longer running on this host.")
    if not _confirmed(
        ctx, f"Unlock run {run.id}, held by {lease}?", "cancelled; the lease was left in place"
    ):
        return 1
    if journal.break_lease(run.id, holder=lease) is None:
        ctx.print(f"run {run.id} was released meanwhile: nothing to unlock")
        return 0
    now = journal.run(run.id)
    ctx.print(f"unlocked run {run.id}: it is now {now.status}")
    if now.status != "undone":
        if now.pending:
            ctx.note(f"finish it with: {PROG} runs resume {run.id}")
        if now.count("done"):
            ctx.note(f"undo it with: {PROG} runs undo {run.id}")
    return 0


def _summary(before: Any, payload: Any) -> str:
    if not payload:
        return ""
    parts = []
    for key, new in payload.items():
        old = (before or {}).get(key)
        parts.append(f"{key}: {_show(old)} -> {_show(new)}")
    text = "; ".join(parts)
    return text if len(text) <= 80 else text[:77] + "..."


def _describe_run(run: RunRecord) -> str:
    counts = ", ".join(f"{n} {state}" for state, n in sorted(run.counts.items())) or "no items"
    lines = [
        f"run        {run.id}",
        f"action     {run.action}" + (f" (undoes {run.undoes})" if run.undoes else ""),
        f"status     {run.status}"
        + (f" (held by {run.lease})" if run.lease and run.status == "running" else ""),
        f"by         {run.user} at {run.created_at}"
        + (f", finished {run.finished_at}" if run.finished_at else ""),
        f"account    {run.account_id} at {run.api_host}",
        f"filter     {json.dumps(run.filter)}",
        f"changes    {json.dumps(run.changes)}",
        f"matched    {run.matched}: {counts}",
    ]
    if run.count("writing") and run.status != "running":
        lines.append(
            f"unsettled  {run.count('writing')}: their write may have landed (caught mid-write, "
            "or the server's answer was lost); runs resume or runs undo re-reads them first"
        )
    if run.note:
        lines.append(f"note       {run.note}")
    return "\n".join(lines)
