"""``freshbooks-orm``: a thin command line over the library (all logic lives in the library).

Exit codes (also in ``--help``):

===  ============================================================================================
0    done
1    the API or the network failed, an answer could not be read, some objects failed or were
     refused, a run stopped early (the server stopped answering), a run is in use by another
     process, or the journal failed
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

# Below, the ``X as X`` imports re-export names importable from here before the split.
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager

from .. import batch
from ..errors import FreshBooksError, known_secrets, redact
from ..errors import UsageError as LibraryUsageError
from . import auth as cli_auth
from .context import Context
from .context import UsageError as UsageError
from .demo import cmd_demo, cmd_serve
from .demo import run_demo as run_demo
from .output import PROG
from .parser import EXIT_CODES as EXIT_CODES
from .parser import SANDBOX_INVOICES as SANDBOX_INVOICES
from .parser import build_parser as build_parser
from .resources import cmd_delete, cmd_list, cmd_show, cmd_update
from .runs import cmd_runs_list, cmd_runs_resume, cmd_runs_show, cmd_runs_undo, cmd_runs_unlock

__all__ = ["main"]

EXIT_INTERNAL = 70


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
    ("runs", "unlock"): cmd_runs_unlock,
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
