"""Writing a journalled run: one fresh GET of each object right before its PUT, from a pool of
threads sharing the one ``Client``, every outcome recorded in the journal."""

from __future__ import annotations

import copy
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import (
    ConfigurationError,
    ConflictError,
    FreshBooksError,
    JournalError,
    TransportError,
)
from ..http.transport import Client
from ..orm.model import Model
from .journal import ItemRecord, Journal, RunRecord, without_userinfo
from .results import BatchInterrupted, BatchResult, ItemOutcome, PlannedChange, _describe, _one_line
from .wire import (
    _changed_since,
    _check_nested,
    _existing_ids_only,
    _image,
    _matches,
    _moved_fields,
    _nested_by_wire,
    _nested_includes,
    _updated_of,
    _wanted_includes,
)

if TYPE_CHECKING:
    import os

__all__ = ["DEFAULT_WORKERS", "STOP_AFTER_UNREACHABLE"]

#: Concurrent writers: enough to hide latency, few enough not to provoke rate limits.
DEFAULT_WORKERS = 4


#: Objects in a row that could not reach the server before a run stops as interrupted.
STOP_AFTER_UNREACHABLE = 3


Progress = bool | Callable[[int, int, "ItemOutcome"], object] | None
#: Given an item and the object's fresh wire state: the payload to write now, or None when the
#: fresh state needs no change.
Replan = Callable[[ItemRecord, Mapping[str, Any]], "dict[str, Any] | None"]


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
        """The object's wire state, its nested lists (those ``includes`` asks for) checked:
        ``FieldValueError`` when one is null or not a list of objects."""
        includes = tuple(includes)
        params = [("include[]", name) for name in includes] or None
        wire: dict[str, Any] = self.client.request(
            "GET", self._path(object_id), params=params, expect=self.spec.required_result
        )
        _check_nested(self.model, wire, includes)
        return wire

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
        except Exception as exc:
            if not _applied(exc):
                # a 4xx refused it; anything else (5xx, no answer) says nothing about whether
                # the PUT landed: the item stays 'writing' for resume and undo to settle
                return self._failed(item, exc, sent=True, refused=_refused(exc))
            # A 2xx whose body could not be read (empty, cut off, not the documented shape):
            # the server applied the PUT, so the object's state is read back, never resent.
            after = None
            detail = "; ".join(
                filter(None, [detail, f"its answer was unreadable ({_one_line(exc)}): read back"])
            )
        if after is None or any(k not in after for k in sent_nested):
            # e.g. a vis_state PUT answers {}: the PUT landed, its state is read back; if that
            # read fails, the item is left 'writing' (landed, not recorded), never 'failed'
            try:
                after = self.get(object_id, put_includes)
            except Exception as again:
                return self._failed(item, again, sent=True, applied=True)
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

    def _failed(
        self,
        item: ItemRecord,
        exc: Exception,
        *,
        sent: bool,
        applied: bool = False,
        refused: bool = True,
    ) -> ItemOutcome:
        """Record a write that did not finish.  ``applied``: the server answered the PUT with a
        2xx (it landed) but reading the object back failed: never counted failed.  ``refused``
        (with ``sent``): the PUT's answer says it was not applied (a 4xx); otherwise (a 5xx, no
        answer) it may have landed, and the item stays ``writing`` for resume/undo to settle."""
        if isinstance(exc, JournalError):
            raise exc
        text = _describe(exc)
        unreachable = _unreachable(exc)
        if unreachable or applied or (sent and not refused):
            if unreachable:
                self._count_unreachable(exc)
            else:
                self._reachable()
            # Nothing is known to have failed: a GET never sent anything; a PUT stays
            # 'writing' (it may have landed, or did) for resume to settle by re-reading.
            state = "writing" if sent else item.state
            self.journal.mark(self.run_id, item.object_id, state, error=text)
            return ItemOutcome(item.object_id, state, exc)
        self._reachable()
        self.journal.mark(self.run_id, item.object_id, "failed", error=text)
        return ItemOutcome(item.object_id, "failed", exc)

    def _count_unreachable(self, exc: Exception) -> None:
        with self._count_lock:
            self._unreachable += 1
            if self._unreachable >= STOP_AFTER_UNREACHABLE and not self.stop.is_set():
                self.stopped = (
                    f"the server stopped answering ({_one_line(exc)}) for "
                    f"{self._unreachable} {self.spec.list_key} in a row; the rest were left "
                    "for resume"
                )
                self.stop.set()

    def _reachable(self) -> None:
        with self._count_lock:
            self._unreachable = 0


def _unreachable(exc: BaseException) -> bool:
    """A connection refused, reset or timed out: no HTTP answer at all."""
    return isinstance(exc, TransportError) and exc.status_code is None


def _refused(exc: BaseException) -> bool:
    """The answer to a write says the server did not apply it: a 4xx (validation, not found,
    forbidden, rate-limited before it was handled), or a 2xx whose body is the errors
    envelope.  A 5xx, a timeout or a dropped connection say nothing about whether it landed."""
    status = getattr(exc, "status_code", None) if isinstance(exc, FreshBooksError) else None
    if status is None:
        return False
    # a success status carrying FreshBooks' errors envelope is raised as a refusal (the class of
    # its errno); a TransportError with a 2xx is an answer that could not be read (applied)
    return 400 <= status < 500 or (200 <= status < 300 and not isinstance(exc, TransportError))


def _applied(exc: BaseException) -> bool:
    """A 2xx answer the client could not read: the request was applied, its answer is lost."""
    status = getattr(exc, "status_code", None) if isinstance(exc, TransportError) else None
    return status is not None and 200 <= status < 300


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
        uncertain=counts.get("writing", 0),
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


def _host(base_url: str) -> str:
    """The API host a journal records: ``host[:port]``, never a ``user:password@``."""
    parts = urlsplit(base_url)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number
        host, port = None, None
    if not host:
        return without_userinfo(parts.netloc or base_url)
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return host if port is None else f"{host}:{port}"


def _check_target(record: RunRecord, client: Client) -> None:
    here = (client.account_id, _host(client.base_url))
    if (record.account_id, _host(f"//{record.api_host}")) != here:
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
