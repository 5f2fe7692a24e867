"""Planning a batch: read the matching objects, apply the edit to each, keep what it changed;
``run()`` plans and executes."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ..errors import (
    FieldValueError,
    InvalidFieldValue,
    ReadOnlyFieldError,
    UnknownFieldError,
    closest,
)
from ..http.transport import Client
from ..orm.model import FieldKind, Model
from .execute import (
    DEFAULT_WORKERS,
    Progress,
    Replan,
    _check_workers,
    _drive,
    _host,
    _journal,
    _release,
)
from .journal import ItemRecord, Journal
from .results import BatchResult, PlannedChange, _describe
from .wire import (
    _as_int,
    _check_deletable,
    _delete_values,
    _field_name,
    _image,
    _matches,
    _nested_by_wire,
    _resource_name,
    _same,
    _updated_of,
    _wanted_includes,
    _wire_value,
)

if TYPE_CHECKING:
    import os

    from ..orm.queryset import QuerySet

__all__ = ["MAX_PASSES", "OPTION_NAMES", "PLAN_PREFETCH", "Plan", "plan", "run", "set_fields"]

#: Keyword arguments of ``QuerySet.update()`` that are batch options, not fields.
OPTION_NAMES = frozenset({"dry_run", "workers", "journal", "progress", "note"})


#: Pages read ahead while planning.
PLAN_PREFETCH = 4
#: Reads of a matched set that keeps moving before the plan gives up and says so.
MAX_PASSES = 3


Action = Literal["update", "delete", "apply"]
Edit = Callable[[Any], object]


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
        return [
            PlannedChange(
                entry.object_id,
                _field_name(self.model, key),
                (entry.before or {}).get(key),
                new,
            )
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
        try:  # read through the model's field: a value it cannot read is a FieldValueError
            value = getattr(obj, _field_name(type(obj), state_field))
            current = None if value is None else int(value)
        except FieldValueError as exc:
            entry.state, entry.error = "failed", exc
            return entry
        if current == deleted:
            return entry
        entry.state = "planned"
        entry.before = {state_field: active if current is None else current}
        entry.payload = {state_field: deleted}
        return entry
    meta.set_client(obj, read_only)
    try:
        assert edit is not None
        edit(obj)
        names = obj.dirty_fields
        if names:
            payload = obj.to_payload(names)
            # a value the write would find already there (None and "" alike, as the fresh
            # check right before each PUT compares them) is no change: the dry run and the
            # real run must agree
            payload = {
                k: v
                for k, v in payload.items()
                if k not in raw
                or _nested_by_wire(type(obj), k) is not None
                or not _same(type(obj), k, raw[k], v)
            }
            if payload:
                entry.payload = payload
                entry.before = _image(type(obj), raw, entry.payload)
                entry.state = "planned"
    except Exception as exc:
        entry.state, entry.error = "failed", exc
    return entry


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
