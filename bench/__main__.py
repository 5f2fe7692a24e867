"""``python -m bench``: run the benchmarks, print the tables, write docs/benchmarks.*."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from . import concurrency, hydration, iterate, memory, overhead, report, requests_per_op
from .common import Config, Section, machine

BENCHMARKS: dict[str, Callable[[Config], Section]] = {
    "iterate": iterate.run,
    "requests": requests_per_op.run,
    "hydration": hydration.run,
    "memory": memory.run,
    "concurrency": concurrency.run,
    "overhead": overhead.run,
}
DOCS = Path(__file__).resolve().parent.parent / "docs"


@contextlib.contextmanager
def user_files_in_a_temporary_directory() -> Iterator[Path]:
    """Point ``$FRESHBOOKS_ORM_JOURNAL`` and ``$FRESHBOOKS_ORM_TOKENS`` at a temporary directory.

    A benchmark run writes batch runs and may log in; none of it may reach the user's real
    journal or token file.  The variables are restored afterwards.
    """
    names = ("FRESHBOOKS_ORM_JOURNAL", "FRESHBOOKS_ORM_TOKENS")
    saved = {name: os.environ.get(name) for name in names}
    with tempfile.TemporaryDirectory(prefix="freshbooks-orm-bench-") as tmp:
        os.environ["FRESHBOOKS_ORM_JOURNAL"] = str(Path(tmp) / "journal.sqlite3")
        os.environ["FRESHBOOKS_ORM_TOKENS"] = str(Path(tmp) / "tokens.json")
        try:
            yield Path(tmp)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes, fewer repetitions: a smoke run"
    )
    parser.add_argument(
        "--only",
        metavar="NAME",
        action="append",
        choices=list(BENCHMARKS),
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--write",
        dest="write",
        action="store_true",
        default=None,
        help="write docs/benchmarks.* (the default for a full run of every benchmark)",
    )
    parser.add_argument("--no-write", dest="write", action="store_false")
    parser.add_argument("--docs", type=Path, default=DOCS, help="where to write (default: docs/)")
    args = parser.parse_args(argv)

    cfg = Config.quick_run() if args.quick else Config.full()
    # Nothing a benchmark does may touch the user's journal (bulk updates journal by default)
    # or token file: point both, for this process and the ones it spawns, at temporary files.
    with user_files_in_a_temporary_directory():
        return _run(args, cfg)


def _run(args: argparse.Namespace, cfg: Config) -> int:
    names = args.only or list(BENCHMARKS)
    write = args.write if args.write is not None else not args.quick and not args.only
    info = machine()
    print(f"Machine: {report.machine_line(info)}", flush=True)
    sections: list[Section] = []
    started = time.perf_counter()
    for name in names:
        print(f"running {name} ...", flush=True)
        t0 = time.perf_counter()
        section = BENCHMARKS[name](cfg)
        section.seconds = time.perf_counter() - t0
        sections.append(section)
    total = time.perf_counter() - started
    print()
    print(report.terminal(sections, info, cfg.quick))
    print(f"\n{total:.0f} s in all")
    if write:
        args.docs.mkdir(parents=True, exist_ok=True)
        (args.docs / "benchmarks.md").write_text(report.markdown(sections, info, total, cfg.quick))
        (args.docs / "benchmarks-section.rst").write_text(report.readme_section(sections, info))
        wrote = ["benchmarks.md", "benchmarks-section.rst"]
        readme = args.docs.parent / "README.rst"
        if readme.exists() and report.update_readme(readme, report.readme_section(sections, info)):
            wrote.append("../README.rst")
        if report.chart(sections, info, args.docs / "benchmarks.png"):
            wrote.append("benchmarks.png")
        else:
            print("matplotlib is not installed: no chart (pip install -e '.[bench]')")
        print(f"wrote {', '.join(str(args.docs / w) for w in wrote)}")
    return 0 if all(t.held for s in sections for t in s.targets) or cfg.quick else 1


if __name__ == "__main__":
    sys.exit(main())
