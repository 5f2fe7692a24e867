"""``freshbooks-orm``: a thin command line over the library (all logic lives in the library).

Exit codes (also in ``--help``):

===  ============================================================================================
0    done
1    the API or the network failed, an answer could not be read, some invoices failed or were
     refused, a run stopped early (the server stopped answering), or the journal failed
2    usage error: a bad option, an unknown filter or field, a value it cannot take, missing or
     malformed credentials, an empty, unknown or ambiguous run id, a run that cannot be resumed
     or undone -- found before any request
70   an unexpected error inside freshbooks-orm (a bug: please report it with ``--debug`` output)
130  interrupted by Ctrl-C: writes in flight finish and are recorded; ``runs resume`` finishes
     the run (a run whose writes had all finished reports done instead)
===  ============================================================================================

Errors are one line on stderr; ``--debug`` adds the traceback and the request log.
"""

from __future__ import annotations

import argparse
import csv
import enum
import json
import logging
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import unquote

from .. import batch
from .._version import __version__
from ..batch.journal import Journal, RunRecord
from ..batch.results import _show
from ..errors import FreshBooksError, known_secrets, redact
from ..errors import UsageError as LibraryUsageError
from ..http.transport import Client, configure
from ..orm import registry
from ..orm.model import Model
from ..orm.query import BoolFilter, InFilter, SearchBoolFilter
from ..orm.types import Money
from ..resources.invoices import Invoice
from . import auth as cli_auth

__all__ = ["main"]

PROG = "freshbooks-orm"
SANDBOX_INVOICES = 200
EXIT_CODES = """exit codes:
  0    done
  1    the API or the network failed, an answer could not be read, some invoices failed or
       were refused, a run stopped early (the server went away), or the journal failed
  2    usage error (bad option, unknown filter or field, bad value, bad credentials, an
       empty, unknown or ambiguous run id, a run that cannot be resumed or undone)
  70   unexpected internal error: please report it with the output of --debug
  130  interrupted by Ctrl-C: writes in flight finish and are recorded; 'runs resume' finishes
       the run (a run whose writes had all finished reports done instead)"""
EXIT_INTERNAL = 70


class UsageError(LibraryUsageError):
    """A mistake in the command line: reported in one line, exit code 2."""


# --- arguments ---------------------------------------------------------------------------------


def _common() -> argparse.ArgumentParser:
    """Options accepted before or after the command (defaults suppressed so both places work)."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("connection")
    s = argparse.SUPPRESS
    g.add_argument("--access-token", default=s, help="default: $FRESHBOOKS_ACCESS_TOKEN")
    g.add_argument("--account-id", default=s, help="default: $FRESHBOOKS_ACCOUNT_ID")
    g.add_argument("--api-url", default=s, help="default: $FRESHBOOKS_API_URL or the live API")
    g.add_argument(
        "--journal",
        default=s,
        help="journal file (default: $FRESHBOOKS_ORM_JOURNAL or the user data directory)",
    )
    g.add_argument(
        "--sandbox",
        action="store_true",
        default=s,
        help=f"run against a fresh embedded sandbox ({SANDBOX_INVOICES} invoices)",
    )
    g.add_argument("--debug", action="store_true", default=s, help="tracebacks and request log")
    return p


def _batch_options(p: argparse.ArgumentParser, *, dry_run: bool = True) -> None:
    if dry_run:
        p.add_argument("--dry-run", action="store_true", help="show the changes, send no write")
    p.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="do not ask for confirmation (required when stdin is not a terminal)",
    )
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=batch.DEFAULT_WORKERS,
        help=f"concurrent writers (default {batch.DEFAULT_WORKERS})",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Query FreshBooks accounting resources and make safe, journalled, undoable batch fixes."
        ),
        parents=[common],
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    commands.add_parser(
        "demo", parents=[common], help="a tour of the library on an embedded sandbox"
    )

    sandbox = commands.add_parser("sandbox", help="the embedded FreshBooks sandbox")
    sandbox_cmds = sandbox.add_subparsers(
        dest="sandbox_command", metavar="SUBCOMMAND", required=True
    )
    serve = sandbox_cmds.add_parser(
        "serve", parents=[common], help="serve a sandbox in the foreground until Ctrl-C"
    )
    serve.add_argument("--port", type=int, default=0, help="default: a free port")
    serve.add_argument("--invoices", type=int, default=SANDBOX_INVOICES)
    serve.add_argument("--seed", type=int, default=1)

    def filters(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--filter",
            "-f",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="a filter or lookup, as .filter() takes it: amount__gt=100, "
            "v3_status__in=sent,viewed, create_date__year=2024 (repeatable; lists and ranges "
            "comma-separated; money as '100' or '100 USD')",
        )
        p.add_argument(
            "--exclude",
            "-x",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="leave out what this matches, as .exclude() takes it (repeatable)",
        )

    for model in registry.models():
        meta = model._meta
        assert meta.name is not None and meta.resource is not None
        plural = meta.name.replace("_", " ")
        command = meta.name.replace("_", "-")
        verbs = "list and show" if meta.read_only else "list, show, update and delete"
        res = commands.add_parser(
            command,
            aliases=[meta.name] if meta.name != command else [],
            help=f"{verbs} {plural} ({meta.resource.path})",
        )
        res.set_defaults(resource=meta.name)
        res_cmds = res.add_subparsers(dest="resource_command", metavar="SUBCOMMAND", required=True)

        listing = res_cmds.add_parser("list", parents=[common], help=f"list {plural}")
        filters(listing)
        listing.add_argument("--include", action="append", default=[], metavar="NAME")
        sorts = ", ".join(meta.resource.sorts) or "none documented"
        listing.add_argument(
            "--order-by",
            metavar="FIELDS",
            help="fields, comma-separated, '-' for descending (--order-by=-amount,id); "
            f"the API sorts by: {sorts}; other orders are sorted locally",
        )
        listing.add_argument(
            "--explain",
            action="store_true",
            help="print the query plan (first URL, where each filter runs, requests); send nothing",
        )
        listing.add_argument("--limit", type=_positive_int, metavar="N")
        listing.add_argument(
            "--format", choices=("table", "csv", "json", "jsonl"), default="table", dest="fmt"
        )

        nested = f" with its {', '.join(meta.nested)}" if meta.nested else ""
        show = res_cmds.add_parser("show", parents=[common], help=f"show one{nested}")
        show.add_argument("id", metavar="ID")
        show.add_argument("--format", choices=("text", "json"), default="text", dest="fmt")
        if meta.read_only:
            continue

        update = res_cmds.add_parser(
            "update", parents=[common], help=f"set fields on every matching one of the {plural}"
        )
        filters(update)
        update.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            dest="sets",
            help="a field to set (repeatable); JSON for lists and objects, '25.00 USD' for money",
        )
        update.add_argument(
            "--unset", action="append", default=[], metavar="NAME", help="set to null"
        )
        update.add_argument("--all", action="store_true", help="allow running without --filter")
        update.add_argument("--note", help="a note stored with the run in the journal")
        _batch_options(update)

        delete = res_cmds.add_parser(
            "delete",
            parents=[common],
            help=f"delete every matching one ({meta.lifecycle.delete_style})",
        )
        filters(delete)
        delete.add_argument("--all", action="store_true", help="allow running without --filter")
        delete.add_argument("--note", help="a note stored with the run in the journal")
        _batch_options(delete)

    runs = commands.add_parser("runs", help="the journal of batch runs")
    run_cmds = runs.add_subparsers(dest="runs_command", metavar="SUBCOMMAND", required=True)
    runs_list = run_cmds.add_parser("list", parents=[common], help="recent runs, newest first")
    runs_list.add_argument("--limit", type=_positive_int, default=20)
    runs_show = run_cmds.add_parser("show", parents=[common], help="one run and its counts")
    runs_show.add_argument("run", metavar="RUN", help="a run id, a unique prefix, or 'latest'")
    runs_show.add_argument("--items", action="store_true", help="list every invoice of the run")
    resume = run_cmds.add_parser(
        "resume",
        parents=[common],
        help="finish an interrupted run",
        usage=f"{PROG} runs resume RUN [--yes] [--force] [--workers N] [options]",
        description="Finish an interrupted run: every object not done is re-read first, so "
        "nothing is written twice. Asks for confirmation; off a terminal, --yes is required.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    resume.add_argument("run", metavar="RUN", help="a run id, a unique prefix, or 'latest'")
    resume.add_argument("--force", action="store_true", help="write invoices changed since too")
    _batch_options(resume, dry_run=False)
    undo = run_cmds.add_parser(
        "undo",
        parents=[common],
        help="write a run's before-images back",
        usage=f"{PROG} runs undo RUN [--yes] [--force] [--dry-run] [--workers N] [options]",
        description="Write a run's before-images back, as a new run. Objects changed since the "
        "run wrote them are refused unless --force. Asks for confirmation; off a terminal, "
        "--yes is required.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    undo.add_argument("run", metavar="RUN", help="a run id, a unique prefix, or 'latest'")
    undo.add_argument("--force", action="store_true", help="also undo invoices changed since")
    undo.add_argument("--note", help="a note stored with the undo run")
    _batch_options(undo)
    cli_auth.add_commands(commands, common)
    return parser


# --- the context: client, journal, sandbox -------------------------------------------------------


class Context:
    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO, stack: ExitStack):
        self.args = args
        self.out = out
        self.err = err
        self._stack = stack
        self._client: Client | None = None
        self._journal: Journal | None = None
        self.sandbox: Any = None
        self.throwaway_journal = False

    def opt(self, name: str, default: Any = None) -> Any:
        return getattr(self.args, name, default)

    def client(self) -> Client:
        if self._client is None:
            if self.opt("sandbox"):
                from ..sandbox import Sandbox

                self.sandbox = self._stack.enter_context(Sandbox(invoices=SANDBOX_INVOICES, seed=1))
                self.note(f"using a fresh embedded sandbox ({SANDBOX_INVOICES} invoices)")
                self._client = self.sandbox.client()
            else:
                # An explicit access token, else the token file of `login` (never a refresh
                # that could not be saved).
                self._client = cli_auth.make_client(
                    self.opt("access_token"), self.opt("account_id"), self.opt("api_url")
                )
            self._stack.callback(self._client.close)
        return self._client

    def journal(self) -> Journal:
        if self._journal is None:
            path = self.opt("journal")
            if (
                path is None
                and self.opt("sandbox")
                and not os.environ.get("FRESHBOOKS_ORM_JOURNAL")
            ):
                # A throwaway sandbox must not fill the user's journal with runs against it.
                tmp = self._stack.enter_context(tempfile.TemporaryDirectory())
                path = Path(tmp) / "journal.sqlite3"
                self.throwaway_journal = True
            self._journal = Journal(path)
            self._stack.callback(self._journal.close)
        return self._journal

    def print(self, text: str = "") -> None:
        print(text, file=self.out)

    def note(self, text: str) -> None:
        print(text, file=self.err)

    def progress(self) -> bool | None:
        return False if self.opt("no_progress") else None

    def confirm(self, question: str) -> bool:
        if self.opt("yes"):
            return True
        if not sys.stdin.isatty():
            raise UsageError(f"{question} -- refusing without --yes (no terminal to ask on)")
        self.err.write(f"{question} [y/N] ")
        self.err.flush()
        return sys.stdin.readline().strip().lower() in ("y", "yes")


# --- value parsing -----------------------------------------------------------------------------


def _pair(text: str, what: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise UsageError(f"{what} must look like NAME=VALUE, got {text!r}")
    return name.strip(), value


def _model(ctx: Context) -> type[Model]:
    return registry.get_model(ctx.args.resource)


def _filters(model: type[Model], texts: Sequence[str], option: str = "--filter") -> dict[str, Any]:
    """``NAME=VALUE`` texts as ``.filter()`` keyword arguments, typed by what NAME is."""
    out: dict[str, Any] = {}
    for text in texts:
        name, value = _pair(text, option)
        out[name] = _lookup_value(model, name, value, option)
    model.objects.filter(**out)  # unknown names and bad values raise before any request
    return out


def _lookup_value(model: type[Model], name: str, value: str, option: str) -> Any:
    from ..orm.planner import parse_key

    spec = model._meta.resource
    assert spec is not None
    flt = spec.filters.get(name)
    path = parse_key(model, name, spec.name)  # UnknownFilterError names the valid ones
    is_wire = flt is not None and (
        path is None
        or name not in model._meta.fields
        or (isinstance(flt, (BoolFilter, SearchBoolFilter)) and path.kind != "bool")
    )
    if is_wire or path is None:
        if flt is None:
            if name not in spec.lookups:
                model.objects.filter(**{name: value})  # raises, naming the valid names
            flt = spec.resolve(name)
        if isinstance(flt, InFilter):
            return _items(value)
        if isinstance(flt, (BoolFilter, SearchBoolFilter)):
            return _truth(name, value, option)
        return value
    if path.lookup in ("in", "range"):
        items = _items(value)
        if path.lookup == "range" and len(items) != 2:
            raise UsageError(f"{option} {name}: a range is LOW,HIGH, got {value!r}")
        return [_typed(path.kind, name, v, option) for v in items]
    if path.lookup == "isnull" or (path.kind == "bool" and path.lookup == "exact"):
        return _truth(name, value, option)
    kind = path.transform if path.transform in ("year", "month", "day") else path.kind
    return _typed(kind, name, value, option)


def _items(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _truth(name: str, value: str, option: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false", "1", "0", "yes", "no"):
        raise UsageError(f"{option} {name} takes true or false, got {value!r}")
    return lowered in ("true", "1", "yes")


def _typed(kind: str, name: str, value: str, option: str) -> Any:
    text = value.strip()
    if kind == "money" and " " in text:
        amount, _, code = text.partition(" ")
        return Money(amount, code.strip())
    if kind in ("year", "month", "day"):
        if not text.isdigit():
            raise UsageError(f"{option} {name} takes a number, got {value!r}")
        return int(text)
    return value


def _field_value(model: type[Model], name: str, text: str) -> Any:
    spec = model._meta.fields.get(name)
    stripped = text.strip()
    if stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped, parse_float=Decimal)
        except ValueError as exc:
            raise UsageError(f"--set {name}: not valid JSON: {exc}") from None
    if spec is not None and spec.type.name == "Money":
        amount, _, code = stripped.partition(" ")
        if not code:
            raise UsageError(f"--set {name}: give money as 'AMOUNT CODE', e.g. '25.00 USD'")
        return Money(amount, code.strip())
    return text


def _queryset(ctx: Context, filters: dict[str, Any], excludes: dict[str, Any] | None = None) -> Any:
    qs = _model(ctx).objects.filter(**filters)  # validated before any connection is set up
    if excludes:
        qs = qs.exclude(**excludes)
    return qs.using(ctx.client())


# --- commands ----------------------------------------------------------------------------------


def cmd_list(ctx: Context) -> int:
    a = ctx.args
    model = _model(ctx)
    columns = model._meta.list_columns
    qs = model.objects.filter(**_filters(model, a.filter))
    excludes = _filters(model, a.exclude, "--exclude")
    if excludes:
        qs = qs.exclude(**excludes)
    if a.include:
        qs = qs.include(*[n.strip() for part in a.include for n in part.split(",") if n.strip()])
    if a.order_by:
        qs = qs.order_by(*_items(a.order_by))
    if a.explain:
        if a.limit:
            qs = qs[: a.limit]  # type: ignore[assignment]  # a slice without a step
        if (
            ctx.opt("sandbox")
            or ctx.opt("access_token")
            or os.environ.get("FRESHBOOKS_ACCESS_TOKEN")
        ):
            qs = qs.using(ctx.client())
        ctx.print(str(qs.explain()))
        return 0
    qs = qs.using(ctx.client())
    rows = qs[: a.limit] if a.limit else qs
    if a.fmt in ("json", "jsonl"):
        dicts = [inv.to_dict() for inv in rows]
        if a.fmt == "json":
            ctx.print(json.dumps(dicts, indent=2, default=_json_default))
        else:
            for d in dicts:
                ctx.print(json.dumps(d, default=_json_default))
        return 0
    table = [[_cell(getattr(obj, c)) for c in columns] for obj in rows]
    if a.fmt == "csv":
        writer = csv.writer(ctx.out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(table)
        return 0
    ctx.print(_table(columns, table))
    noun = (model._meta.name or "").replace("_", " ") if len(table) != 1 else model._meta.label
    ctx.note(f"{len(table)} {noun}")
    return 0


def cmd_show(ctx: Context) -> int:
    model = _model(ctx)
    meta = model._meta
    qs = model.objects.using(ctx.client())
    includes = meta.includes_for(meta.nested)
    obj = (qs.include(*includes) if includes else qs).get(ctx.args.id)
    if ctx.args.fmt == "json":
        ctx.print(json.dumps(obj.to_dict(), indent=2, default=_json_default))
        return 0
    width = max(len(n) for n in meta.fields)
    for name, spec in meta.fields.items():
        value = getattr(obj, name)
        if not spec.is_nested and value not in (None, ""):
            ctx.print(f"{name:<{width}}  {_cell(value)}")
    for name, spec in meta.nested.items():
        assert spec.item_model is not None
        columns = spec.item_model._meta.list_columns
        rows = [[_cell(getattr(item, c)) for c in columns] for item in getattr(obj, name)]
        ctx.print(f"\n{name} ({len(rows)}):")
        ctx.print(_table(columns, rows))
    return 0


def _check_scope(ctx: Context, filters: dict[str, Any], verb: str) -> None:
    if not filters and not ctx.args.exclude and not ctx.args.all:
        noun = ctx.args.resource.replace("_", " ")
        raise UsageError(f"{verb} without --filter would touch all {noun}; add --all to mean it")


def _execute(ctx: Context, the_plan: batch.Plan, verb: str) -> int:
    preview = the_plan.result(preview=not ctx.args.dry_run)
    ctx.print(str(preview))
    if ctx.args.dry_run:
        return 0 if not preview.failed else 1
    if not the_plan.planned:
        ctx.note("nothing to write")
        return 0 if not preview.failed else 1
    noun = the_plan.model._meta.name or "object"
    if not ctx.confirm(f"{verb} {the_plan.planned} {noun.replace('_', ' ')}?"):
        ctx.note("cancelled; nothing was written")
        return 1
    result = the_plan.execute(
        workers=ctx.args.workers,
        journal=ctx.journal(),
        progress=ctx.progress(),
        note=ctx.args.note,
    )
    return _report(ctx, result)


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
        if result.failed or result.pending:
            ctx.note(f"retry with: {PROG} runs resume {result.run_id}")
        if result.done and result.action != "undo":
            ctx.note(f"undo with: {PROG} runs undo {result.run_id}")
    return 0 if result.ok else 1


def cmd_update(ctx: Context) -> int:
    a = ctx.args
    model = _model(ctx)
    filters = _filters(model, a.filter)
    excludes = _filters(model, a.exclude, "--exclude")
    fields: dict[str, Any] = {}
    for text in a.sets:
        name, value = _pair(text, "--set")
        fields[name] = _field_value(model, name, value)
    for name in a.unset:
        fields[name] = None
    if not fields:
        raise UsageError("update needs at least one --set NAME=VALUE (or --unset NAME)")
    edit = batch.set_fields(model, fields)  # validates names and values before any request
    _check_scope(ctx, filters, "update")
    qs = _queryset(ctx, filters, excludes)
    return _execute(ctx, batch.plan(qs, edit, "update"), "Update")


def cmd_delete(ctx: Context) -> int:
    model = _model(ctx)
    filters = _filters(model, ctx.args.filter)
    excludes = _filters(model, ctx.args.exclude, "--exclude")
    _check_scope(ctx, filters, "delete")
    qs = _queryset(ctx, filters, excludes)
    return _execute(ctx, batch.plan(qs, None, "delete"), "Delete")


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
    if not ctx.confirm(f"Resume run {run.id}: {run.pending} invoice(s) left?"):
        ctx.note("cancelled")
        return 1
    result = batch.resume(
        run.id,
        client=ctx.client(),
        journal=journal,
        workers=ctx.args.workers,
        progress=ctx.progress(),
        force=ctx.args.force,
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
    if not ctx.confirm(f"Undo run {run.id}: restore {preview.planned} invoice(s)?"):
        ctx.note("cancelled; nothing was written")
        return 1
    result = batch.undo(
        run.id,
        client=ctx.client(),
        journal=journal,
        force=ctx.args.force,
        workers=ctx.args.workers,
        progress=ctx.progress(),
        note=ctx.args.note,
    )
    code = _report(ctx, result)
    if result.conflicts:
        ctx.note("refused invoices changed after the run; --force restores them anyway")
    return code


def cmd_serve(ctx: Context) -> int:
    from ..sandbox import Sandbox

    a = ctx.args
    stop = threading.Event()
    with Sandbox(invoices=a.invoices, seed=a.seed, port=a.port) as sb:
        ctx.print(f"export FRESHBOOKS_ACCESS_TOKEN={sb.access_token}")
        ctx.print(f"export FRESHBOOKS_ACCOUNT_ID={sb.account_id}")
        ctx.print(f"export FRESHBOOKS_API_URL={sb.url}")
        # For `freshbooks-orm login` against this sandbox (a throwaway app's credentials).
        ctx.print(f"export FRESHBOOKS_CLIENT_ID={sb.client_id}")
        ctx.print(f"export FRESHBOOKS_CLIENT_SECRET={sb.client_secret}")
        ctx.out.flush()
        ctx.note(f"# sandbox with {a.invoices} invoices serving at {sb.url}; Ctrl-C to stop")
        ctx.err.flush()
        handler = _on_signal(stop)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            handler()
    return 0


def _on_signal(stop: threading.Event) -> Callable[[], None]:
    """Let SIGTERM stop the server like Ctrl-C; return the undo of that."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore


def cmd_demo(ctx: Context) -> int:
    return run_demo(ctx.out)


# --- output helpers ----------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat") and hasattr(value, "year"):
        return str(value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat())
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, enum.IntEnum):
        return value.name.lower()
    return str(value)


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(c) for c in columns]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=False)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip()
        for row in rows
    )
    return "\n".join(lines)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


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
    if run.note:
        lines.append(f"note       {run.note}")
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------

COMMANDS: dict[tuple[str, ...], Callable[[Context], int]] = {
    ("demo",): cmd_demo,
    ("sandbox", "serve"): cmd_serve,
    ("resource", "list"): cmd_list,
    ("resource", "show"): cmd_show,
    ("resource", "update"): cmd_update,
    ("resource", "delete"): cmd_delete,
    ("runs", "list"): cmd_runs_list,
    ("runs", "show"): cmd_runs_show,
    ("runs", "resume"): cmd_runs_resume,
    ("runs", "undo"): cmd_runs_undo,
    **cli_auth.COMMANDS,
}

#: Errors that mean "the command line was wrong": exit code 2.  Only the library's own usage
#: errors qualify (unknown filter or field, bad value, read-only field, configuration): a bare
#: TypeError or KeyError is a bug, reported as one (EXIT_INTERNAL).
USAGE_ERRORS: tuple[type[BaseException], ...] = (LibraryUsageError,)


@contextmanager
def _debug_logging(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    logger = logging.getLogger("freshbooks_orm")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors (argparse printed them)
        return int(exc.code) if isinstance(exc.code, int) else 2
    key = tuple(
        v
        for v in (
            "resource" if getattr(args, "resource", None) else args.command,
            getattr(args, "sandbox_command", None),
            getattr(args, "resource_command", None),
            getattr(args, "runs_command", None),
        )
        if v
    )
    debug = bool(getattr(args, "debug", False))
    with ExitStack() as stack:
        ctx = Context(args, sys.stdout, sys.stderr, stack)
        try:
            with _debug_logging(debug):
                return COMMANDS[key](ctx)
        except batch.BatchInterrupted as exc:
            ctx.note(f"{PROG}: {exc}")
            ctx.note(f"finish it with: {PROG} runs resume {exc.result.run_id}")
            return 130
        except KeyboardInterrupt:
            ctx.note(f"{PROG}: interrupted")
            return 130
        except BrokenPipeError:  # e.g. piped into head: stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1
        except USAGE_ERRORS as exc:  # before FreshBooksError: ConfigurationError is both
            _fail(ctx, exc, debug)
            return 2
        except FreshBooksError as exc:
            _fail(ctx, exc, debug)
            return 1
        except OSError as exc:
            _fail(ctx, exc, debug)
            return 1
        except Exception as exc:  # a bug: one line, its own exit code, details with --debug
            _fail(ctx, exc, debug, internal=True)
            return EXIT_INTERNAL
    return 0  # pragma: no cover - every command returns above


def _fail(ctx: Context, exc: BaseException, debug: bool, *, internal: bool = False) -> None:
    if debug:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=ctx.err)
    text = redact(" ".join(str(exc).split()), known_secrets())  # one line, no secret
    if len(text) > 500:
        text = text[:500] + " ..."
    if internal:
        hint = "" if debug else "; run again with --debug for the traceback"
        ctx.note(f"{PROG}: internal error: {type(exc).__name__}: {text}{hint}")
    else:
        ctx.note(f"{PROG}: error: {text}")


# --- demo --------------------------------------------------------------------------------------


def run_demo(out: TextIO) -> int:
    """A tour on an in-process sandbox: each step's code, its result and the requests it sent."""
    from ..sandbox import Sandbox

    def say(text: str = "") -> None:
        print(text, file=out)

    with Sandbox(invoices=SANDBOX_INVOICES, seed=1) as sb:
        client = sb.client()
        base = f"/accounting/account/{sb.account_id}/invoices/invoices"

        def step(title: str, code: str, action: Callable[[], Any]) -> Any:
            sb.requests.clear()
            say(f"\n# {title}")
            for line in code.strip().splitlines():
                say(f"{'...' if line[:1].isspace() else '>>>'} {line}")
            value = action()
            if value is not None:
                for line in str(value).splitlines():
                    say(f"    {line}")
            sent = list(sb.requests)
            say(f"    [{len(sent)} request{'s' if len(sent) != 1 else ''}]")
            for r in sent:
                query = "&".join(f"{k}={v}" for k, v in r.query)
                path = r.path.replace(base, "…/invoices", 1)
                say(f"    {r.method} {path}{'?' + query if query else ''} -> {r.status}")
                if r.json is not None:
                    shortened = "lines" in str(r.json)
                    label = "body (each line cut to lineid, name, qty)" if shortened else "body"
                    say(f"        {label}: {_demo_body(r.json)}")
            return value

        say(f"freshbooks_orm {__version__} demo: an embedded FreshBooks sandbox at {sb.url}")
        say(f"with {SANDBOX_INVOICES} invoices; '…/invoices' below is {base}.")
        say("In your own code: configure(Client(access_token=..., account_id=...)), or set")
        say("FRESHBOOKS_ACCESS_TOKEN and FRESHBOOKS_ACCOUNT_ID.")
        configure(client)
        try:
            state: dict[str, Any] = {}

            def build() -> Any:
                state["qs"] = Invoice.objects.filter(v3_status="sent", date_min="2022-06-01")
                return unquote(str(state["qs"].url)).replace(sb.url + base, "…/invoices")

            step(
                "A filtered query is lazy: it knows its URL and has sent nothing",
                'sent = Invoice.objects.filter(v3_status="sent", date_min="2022-06-01")\nsent.url',
                build,
            )
            qs = state["qs"]
            step("count() asks for one row and reads the total", "sent.count()", qs.count)
            first = qs.first()
            step(
                "first() is one request too",
                "inv = sent.first()\nprint(inv.invoice_number, inv.amount, inv.create_date)",
                lambda: _row(qs.first()),
            )
            step(
                "A slice is one request of just those rows",
                "for inv in sent[2:5]:\n    print(inv.invoice_number, inv.amount, inv.create_date)",
                lambda: "\n".join(_row(inv) for inv in qs[2:5]),
            )
            step(
                "Iterating pages at 100 per request",
                "invoices = list(Invoice.objects.all()); len(invoices)",
                lambda: len(list(Invoice.objects.all())),
            )

            def related() -> Any:
                customer = first.customer
                paid = [str(p.amount) for p in first.payments]
                who = customer.organization if customer is not None else None
                return f"{who}; payments: {', '.join(paid) or 'none'}"

            step(
                "Relations: the customer is one GET (then cached), the payments a queryset",
                "inv.customer.organization\n[p.amount for p in inv.payments]",
                related,
            )
            step(
                "select_related: the customers of a whole page cost one extra request",
                'for inv in sent.select_related("customer")[:4]:\n'
                "    print(inv.invoice_number, inv.customer.organization)",
                lambda: "\n".join(
                    f"{inv.invoice_number} {inv.customer.organization if inv.customer else '-'}"
                    for inv in qs.select_related("customer")[:4]
                ),
            )

            def edit_line() -> Any:
                line = first.lines[0]
                line.qty = (line.qty or 0) + 1
                count = len(first.lines)
                first.save()
                return f"saved: one PUT carrying all {count} lines (ids kept)"

            step(
                "A line edit: lines load on first access; save() sends EVERY line "
                "(FreshBooks deletes lines a PUT leaves out)",
                "inv.lines[0].qty += 1\ninv.save()",
                edit_line,
            )
            step(
                "delete() sends vis_state alone (FreshBooks drops anything sent with it)",
                "inv.delete()",
                lambda: first.delete(),
            )
            step(
                "A batch fix, dry run first: shows every change, sends no write",
                'Invoice.objects.filter(v3_status="draft").update(po_number="PO-7", dry_run=True)',
                lambda: Invoice.objects.filter(v3_status="draft").update(
                    po_number="PO-7", dry_run=True
                ),
            )
        finally:
            configure(None)
            client.close()
    say("\nWithout dry_run=True the fix is journalled, resumable and undoable:")
    say(f"  {PROG} sandbox serve   # then, in another shell, the export lines it prints, and")
    say(f"  {PROG} invoices update --filter v3_status=draft --set po_number=PO-7 --dry-run")
    say(f"  {PROG} runs list; {PROG} runs undo latest")
    return 0


def _row(inv: Any) -> str:
    return f"{inv.invoice_number} {inv.amount} {inv.create_date}"


def _demo_body(body: Any) -> str:
    """A request body in one line, each line shortened to its id and name."""
    invoice = body.get("invoice") if isinstance(body, dict) else None
    if isinstance(invoice, dict) and isinstance(invoice.get("lines"), list):
        shown = dict(invoice)
        shown["lines"] = [
            {k: line[k] for k in ("lineid", "name", "qty") if k in line}
            for line in invoice["lines"]
        ]
        return json.dumps({"invoice": shown}, default=_json_default)
    return json.dumps(body, default=_json_default)
