"""What a batch reports: the planned changes, each object's outcome and the run's result."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["SHOWN_CHANGES", "BatchInterrupted", "BatchResult", "ItemOutcome", "PlannedChange"]

#: Changes ``BatchResult.__str__`` lists before "... and N more".
SHOWN_CHANGES = 20


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

    ``pending`` counts the objects left for ``resume``; ``uncertain`` is those of them whose
    PUT may have landed (its answer was a 5xx or never came, or reading the object back after
    it failed): ``resume`` and ``undo`` re-read them before anything else.

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
    uncertain: int = 0
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
            if self.pending - self.uncertain > 0:
                counts.append(f"{self.pending - self.uncertain} not yet written")
            if self.uncertain:
                counts.append(
                    f"{self.uncertain} unsettled (the write may have landed: resume re-reads)"
                )
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
