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

The package is in layers, each a module: ``planning`` (read and plan), ``execute`` (journal and
write), ``recovery`` (resume, undo and the checks that guard them), ``results`` (what a run
reports) and ``wire`` (reading and comparing wire state through a model's declarations), with
the ``journal`` beneath them.  The names below are the public API.
"""

from __future__ import annotations

# Below, the ``X as X`` imports re-export names 0.1 had here outside ``__all__``.
from ..errors import ConflictError, JournalError, RunInUseError, RunStateError, UnknownFieldError
from .execute import DEFAULT_WORKERS
from .execute import STOP_AFTER_UNREACHABLE as STOP_AFTER_UNREACHABLE
from .execute import Progress as Progress
from .planning import MAX_PASSES, OPTION_NAMES, Plan, plan, run, set_fields
from .planning import PLAN_PREFETCH as PLAN_PREFETCH
from .planning import Action as Action
from .planning import Edit as Edit
from .recovery import check_not_undone, resume, undo
from .results import SHOWN_CHANGES as SHOWN_CHANGES
from .results import BatchInterrupted, BatchResult, ItemOutcome, PlannedChange

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
