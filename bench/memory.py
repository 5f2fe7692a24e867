"""Benchmark 4: peak memory while streaming every invoice, each contender in a fresh process.

Peak growth is measured with ``tracemalloc`` (every allocation Python makes, from just before
the first request to the last row), started after the imports and the client exist, in a
``spawn``-ed process per contender so nothing one contender left behind counts against the
next.  The growth of the resident set (``ru_maxrss`` at the end minus the RSS at the start) is
shown too (Linux ``VmHWM`` after resetting it, minus ``VmRSS`` at the start): it includes
what tracemalloc cannot see, and the allocator's own slack.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import time
import tracemalloc
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from .common import Config, Section, Target
from .remote import RemoteSandbox

TITLE = "Memory while streaming"
ITERATOR = "freshbooks_orm for inv in qs.iterator()"
TENTH = "freshbooks_orm, the same over a tenth: qs[:n/10].iterator()"
PREFETCH = "freshbooks_orm for inv in qs.iterator(prefetch=4)"
LIST = "freshbooks_orm list(qs)"
RAW_STREAM = "requests + json, one page at a time"
RAW_LIST = "requests + json, every dict kept"
CONTENDERS = (ITERATOR, TENTH, PREFETCH, LIST, RAW_STREAM, RAW_LIST)
MB = 1024 * 1024


def _status_bytes(key: str) -> int:
    """``VmRSS`` or ``VmHWM`` (peak RSS) of this process from /proc, in bytes; 0 elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _reset_peak_rss() -> None:
    # ru_maxrss survives exec, so a spawned child would inherit its parent's peak; Linux lets a
    # process reset its own high-water mark instead.
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        pass


def _workload(name: str, url: str, token: str, account: str, n: int) -> Callable[[], int]:
    if name in (RAW_STREAM, RAW_LIST):
        import requests

        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        endpoint = f"{url}/accounting/account/{account}/invoices/invoices"
        keep = name == RAW_LIST

        def raw() -> int:
            kept: list[dict[str, Any]] = []
            n = 0
            page = 1
            while True:
                response = session.get(endpoint, params={"page": page, "per_page": 100})
                result = json.loads(response.content)["response"]["result"]
                for row in result["invoices"]:
                    n += row["id"] > 0
                if keep:
                    kept.extend(result["invoices"])
                if page >= result["pages"]:
                    return n
                page += 1

        return raw

    from freshbooks_orm import Client, Invoice

    client = Client(access_token=token, account_id=account, base_url=url)
    qs = Invoice.objects.using(client).all()
    if name == LIST:
        return lambda: sum(inv.id is not None for inv in list(qs))
    if name == TENTH:
        qs = qs[: n // 10]  # type: ignore[assignment]
    prefetch = 4 if name == PREFETCH else 0
    return lambda: sum(inv.id is not None for inv in qs.iterator(prefetch=prefetch))


def _measure(conn: Connection, name: str, url: str, token: str, account: str, n: int) -> None:
    work = _workload(name, url, token, account, n)
    gc.collect()
    _reset_peak_rss()
    rss_before = _status_bytes("VmRSS")
    tracemalloc.start()
    started = time.perf_counter()
    n = work()
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_rss = _status_bytes("VmHWM")
    conn.send({"n": n, "peak": peak, "rss": max(0, peak_rss - rss_before), "seconds": seconds})
    conn.close()


def measure_in_fresh_process(name: str, sb: RemoteSandbox) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_measure, args=(child, name, sb.url, sb.access_token, sb.account_id, sb.live)
    )
    process.start()
    child.close()
    try:
        answer: dict[str, Any] = parent.recv()
    finally:
        process.join()
    return answer


def run(cfg: Config) -> Section:
    results: dict[str, dict[str, Any]] = {}
    with RemoteSandbox(cfg.memory_n, seed=4) as sb:
        for name in CONTENDERS:
            results[name] = measure_in_fresh_process(name, sb)
            expected = sb.live // 10 if name == TENTH else sb.live
            if results[name]["n"] != expected:
                raise AssertionError(f"{name} saw {results[name]['n']} invoices, not {expected}")
        n = sb.live
    rows = [
        [
            name.replace("n/10", f"{n // 10}"),
            f"{r['n']:,}",
            f"{r['peak'] / MB:,.1f} MB",
            f"{r['rss'] / MB:,.1f} MB",
            f"{r['seconds']:.1f} s",
        ]
        for name, r in results.items()
    ]
    peak = results[ITERATOR]["peak"] / MB
    tenth_peak = results[TENTH]["peak"] / MB
    prefetch_peak = results[PREFETCH]["peak"] / MB
    list_peak = results[LIST]["peak"] / MB
    return Section(
        key="memory",
        title=f"4. {TITLE} ({n:,} invoices, {n // 100 + (n % 100 > 0)} pages)",
        method=(
            "Sandbox in a separate process. Each contender runs once in a fresh spawned process; "
            "tracemalloc peak is counted from just before the first request (imports and the "
            "client already exist). Times are under tracemalloc, which slows allocation: they "
            "are not comparable with benchmark 1."
        ),
        columns=["contender", "invoices", "tracemalloc peak", "peak RSS growth", "time"],
        rows=rows,
        targets=[
            Target(
                "memory: iterator() peak growth < 25 MB, flat in the number of invoices",
                f"{peak:.1f} MB ({tenth_peak:.1f} MB over a tenth of them; prefetch=4: "
                f"{prefetch_peak:.1f} MB) vs {list_peak:,.0f} MB for list()",
                peak < 25 and prefetch_peak < 25,
                goal=f"iterator() over {n:,}: peak growth < 25 MB",
                result=f"{peak:.1f} MB (list(): {list_peak:,.0f} MB)",
                limit="< 25 MB",
                minimum="(one run)",
            )
        ],
        chart=[(name.replace("n/10", f"{n // 10}"), r["peak"] / MB) for name, r in results.items()],
        chart_unit="MB (tracemalloc peak)",
    )
