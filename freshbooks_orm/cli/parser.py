"""The argument parser: global connection options, one command group per registered resource
(list and show; update and delete for writable ones), ``runs``, ``sandbox``, ``demo`` and the
login commands."""

from __future__ import annotations

import argparse

from .. import batch
from .._version import __version__
from ..orm import registry
from . import auth as cli_auth
from .output import PROG

__all__ = ["EXIT_CODES", "SANDBOX_INVOICES", "build_parser"]


SANDBOX_INVOICES = 200
RUN_HELP = "a run id, a unique prefix, or 'latest'"
EXIT_CODES = """exit codes:
  0    done
  1    the API or the network failed, an answer could not be read, some objects failed or
       were refused, a run stopped early (the server went away), a run is in use by another
       process, or the journal failed
  2    usage error (bad option, unknown filter or field, bad value, bad credentials, an
       empty, unknown or ambiguous run id, a run that cannot be resumed or undone)
  70   unexpected internal error: please report it with the output of --debug
  130  interrupted by Ctrl-C: writes in flight finish and are recorded; 'runs resume' finishes
       the run (a run whose writes had all finished reports done instead)"""


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
    _yes_option(p)
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=batch.DEFAULT_WORKERS,
        help=f"concurrent writers (default {batch.DEFAULT_WORKERS})",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _yes_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="do not ask for confirmation (required when stdin is not a terminal)",
    )


def _scope_and_batch_options(p: argparse.ArgumentParser) -> None:
    """The options of a resource's ``update`` and ``delete`` after its own ones."""
    p.add_argument("--all", action="store_true", help="allow running without --filter or --exclude")
    p.add_argument("--note", help="a note stored with the run in the journal")
    _batch_options(p)


def _run_writer(
    run_cmds: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    name: str,
    *,
    help: str,
    options: str,
    description: str,
    force: str,
) -> argparse.ArgumentParser:
    """``runs resume`` or ``runs undo``: a command that writes a journalled run again."""
    p = run_cmds.add_parser(
        name,
        parents=[common],
        help=help,
        usage=f"{PROG} runs {name} RUN {options} [options]",
        description=description,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run", metavar="RUN", help=RUN_HELP)
    p.add_argument("--force", action="store_true", help=force)
    return p


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
        _scope_and_batch_options(update)

        delete = res_cmds.add_parser(
            "delete",
            parents=[common],
            help=f"delete every matching one ({meta.lifecycle.delete_style})",
        )
        filters(delete)
        _scope_and_batch_options(delete)

    runs = commands.add_parser("runs", help="the journal of batch runs")
    run_cmds = runs.add_subparsers(dest="runs_command", metavar="SUBCOMMAND", required=True)
    runs_list = run_cmds.add_parser("list", parents=[common], help="recent runs, newest first")
    runs_list.add_argument("--limit", type=_positive_int, default=20)
    runs_show = run_cmds.add_parser("show", parents=[common], help="one run and its counts")
    runs_show.add_argument("run", metavar="RUN", help=RUN_HELP)
    runs_show.add_argument("--items", action="store_true", help="list every object of the run")
    resume = _run_writer(
        run_cmds,
        common,
        "resume",
        help="finish an interrupted run",
        options="[--yes] [--force] [--workers N]",
        description="Finish an interrupted run: every object not done is re-read first, so "
        "nothing is written twice. Asks for confirmation; off a terminal, --yes is required.",
        force="write objects changed since too",
    )
    _batch_options(resume, dry_run=False)
    undo = _run_writer(
        run_cmds,
        common,
        "undo",
        help="write a run's before-images back",
        options="[--yes] [--force] [--dry-run] [--workers N]",
        description="Write a run's before-images back, as a new run. Objects changed since the "
        "run wrote them are refused unless --force. Asks for confirmation; off a terminal, "
        "--yes is required.",
        force="also undo objects changed since",
    )
    undo.add_argument("--note", help="a note stored with the undo run")
    _batch_options(undo)
    unlock = run_cmds.add_parser(
        "unlock",
        parents=[common],
        help="break the lease of a run whose process is gone",
        usage=f"{PROG} runs unlock RUN [--yes] [options]",
        description="Break the lease of a run whose process is gone, so that 'runs resume' and "
        "'runs undo' can take it: a process gone from this host, or one on another host (a "
        "container, another machine sharing the journal) that you are sure is gone -- its "
        "liveness cannot be checked from here. A process still running on this host is never "
        "unlocked. Shows the holder and asks for confirmation; off a terminal, --yes is "
        "required.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    unlock.add_argument("run", metavar="RUN", help=RUN_HELP)
    _yes_option(unlock)
    cli_auth.add_commands(commands, common)
    return parser
