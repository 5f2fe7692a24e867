"""Benchmark 5: latency-bound work, sequential against concurrent (page prefetch, batch workers)."""

from __future__ import annotations

import itertools
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import Config, Section, Target, Timing, ms, ratio, ratio_target, time_interleaved
from .iterate import raw_loop
from .remote import RemoteSandbox

TITLE = "Latency-bound work"
SEQ = "iterator() (sequential)"
RAW = "requests + json page loop (sequential)"
PREFETCH = "iterator(prefetch=4)"
PREFETCH8 = "iterator(prefetch=8)"


def run(cfg: Config) -> Section:
    from freshbooks_orm import Invoice

    rows: list[list[str]] = []
    chart: list[tuple[str, float]] = []

    # --- paging ----------------------------------------------------------------------------
    with RemoteSandbox(cfg.latency_n, seed=5) as sb:
        sb.set_latency(cfg.latency)
        client = sb.client()
        qs = Invoice.objects.using(client).all()
        contenders: dict[str, Callable[[], Any]] = {
            RAW: raw_loop(sb),
            SEQ: lambda: sum(1 for _ in qs.iterator()),
            PREFETCH: lambda: sum(1 for _ in qs.iterator(prefetch=4)),
            PREFETCH8: lambda: sum(1 for _ in qs.iterator(prefetch=8)),
        }
        paging = time_interleaved(contenders, reps=cfg.latency_reps)
        client.close()
        n = sb.live
    for name, t in paging.items():
        if t.result != n:
            raise AssertionError(f"{name} saw {t.result} invoices, not {n}")
    pages = math.ceil(n / 100)
    seq = paging[SEQ]
    for name, t in paging.items():
        rows.append(_row(f"iterate {n:,} ({pages} pages): {name}", t, seq))
        chart.append((f"iterate: {name}", t.median))
    paging_speedup = ratio(seq.median, paging[PREFETCH].median)
    # The physical floor of prefetch=N: the first page alone (it tells how many there are),
    # then the other pages N at a time, plus the client CPU the pages cost (the sequential
    # run's CPU: parsing and hydrating every page, which no window can avoid).
    page_cpu = seq.cpu_median
    floors = {
        workers: (1 + math.ceil((pages - 1) / workers)) * cfg.latency + page_cpu
        for workers in (4, 8)
    }
    for workers, floor in floors.items():
        rounds = 1 + math.ceil((pages - 1) / workers)
        rows.append(
            [
                f"physical floor of prefetch={workers}: (1 + ceil({pages - 1}/{workers})) x "
                f"{cfg.latency * 1000:.0f} ms + {ms(page_cpu)} CPU = {rounds} rounds",
                ms(floor),
                "",
                "",
                "",
                "",
            ]
        )
    vs_floor = ratio(paging[PREFETCH].median, floors[4])
    vs_floor_min = ratio(paging[PREFETCH].min, floors[4])

    # --- bulk update -----------------------------------------------------------------------
    bulk: dict[str, Timing] = {}
    k = cfg.bulk_n
    try:
        import freshbooks_orm.batch  # noqa: F401

        have_batch = True
    except ImportError:
        have_batch = False
    if have_batch:
        with RemoteSandbox(k, seed=6, cache=False) as sb, tempfile.TemporaryDirectory() as tmp:
            sb.set_latency(cfg.latency)
            client = sb.client()
            journal = Path(tmp) / "journal.sqlite"
            counter = itertools.count()
            # planning reads ceil(k/100) pages; each write is a fresh GET of the object and its PUT
            expected = (2 * k + math.ceil(k / 100), k)

            def update(workers: int) -> Callable[[], Any]:
                def go() -> Any:
                    sb.clear()
                    # a new value each run, so every invoice is dirty every time
                    result = Invoice.objects.using(client).update(
                        notes=f"bulk benchmark {next(counter)}",
                        workers=workers,
                        journal=journal,
                        progress=False,
                    )
                    sent = sb.requests()
                    puts = sum(1 for r in sent if r[0] == "PUT")
                    if (len(sent), puts) != expected or result.done != k:
                        raise AssertionError(
                            f"bulk update sent {len(sent)} requests ({puts} PUTs), "
                            f"done={result.done}; expected {expected}"
                        )
                    return result.done

                return go

            bulk = time_interleaved(
                {"workers=1": update(1), "workers=8": update(8)},
                reps=cfg.bulk_reps,
                warmup=0,
            )
            client.close()
        base = bulk["workers=1"]
        for name, t in bulk.items():
            rows.append(_row(f"bulk update of {k:,}: qs.update(notes=..., {name})", t, base))
            chart.append((f"bulk update: {name}", t.median))

    lat = f"{cfg.latency * 1000:.0f} ms"
    targets = [
        Target(
            f"latency: iterator(prefetch=4) within 1.2x of its physical floor "
            f"({ms(floors[4])} for {pages} pages at {lat})",
            f"{vs_floor:.2f}x",
            vs_floor <= 1.2,
            goal=f"iterate {n:,} at {lat}: prefetch=4 <= 1.2x the floor ({ms(floors[4])})",
            result=f"{vs_floor:.2f}x ({ms(paging[PREFETCH].median)})",
            limit="<= 1.2x",
            minimum=f"{vs_floor_min:.2f}x",
            note=f"prefetch=8: {ratio(paging[PREFETCH8].median, floors[8]):.2f}x its floor "
            f"({ms(floors[8])}).",
        ),
        ratio_target(
            "latency: iterator(prefetch=4) >= 3x faster than sequential paging (wall)",
            f"iterate {n:,} at {lat} latency: prefetch=4 >= 3x sequential",
            seq,
            paging[PREFETCH],
            3.0,
            cpu=False,
            at_most=False,
        ),
    ]
    _ = paging_speedup
    if bulk:
        targets.append(
            ratio_target(
                "latency: bulk update with workers=8 >= 6x faster than workers=1 (wall)",
                f"bulk update of {k:,} at {lat}: workers=8 >= 6x workers=1",
                bulk["workers=1"],
                bulk["workers=8"],
                6.0,
                cpu=False,
                at_most=False,
            )
        )
    else:
        targets.append(
            Target("latency: bulk update workers=8 vs 1", "freshbooks_orm.batch missing", False)
        )
    return Section(
        key="concurrency",
        title=f"5. {TITLE} (sandbox latency {cfg.latency * 1000:.0f} ms per request)",
        method=(
            f"Wall time. The server runs in its own process and answers every request after "
            f"{cfg.latency * 1000:.0f} ms (a threading server: concurrent requests wait "
            "concurrently); pages come pre-rendered (rendered once, in the warm-up round), "
            f"so the wait is the latency. Paging: warm-up plus {cfg.latency_reps} timed runs "
            "each, round-robin. The physical floor of prefetch=N is (1 + ceil((pages-1)/N)) "
            "rounds of the latency (the first page alone, since it tells how many pages "
            "there are; then N at a time) plus the client CPU the pages cost (the sequential "
            f"run's CPU). Bulk update: {cfg.bulk_reps} timed runs each, no warm-up, straight "
            "to the sandbox (writes are never cached), every invoice given a new notes value "
            "per run, the journal in a temporary SQLite file; each run is checked to send "
            f"exactly {k:,} PUTs and {k + math.ceil(k / 100):,} GETs (the plan's pages and "
            "one fresh read per object)."
        ),
        columns=["work", "wall median", "wall min", "speed-up", "requests/s", "client CPU"],
        rows=rows,
        targets=targets,
        chart=chart,
        chart_unit="seconds (median)",
    )


def _row(name: str, t: Timing, base: Timing) -> list[str]:
    requests = _requests_of(name)
    return [
        name,
        ms(t.median),
        ms(t.min),
        f"{ratio(base.median, t.median):.2f}x",
        f"{requests / t.median:,.0f}" if requests else "",
        ms(t.cpu_median),
    ]


def _requests_of(name: str) -> int:
    """The number of requests a row's work sends, read back from its label."""
    if "pages)" in name:
        return int(name.split("(")[1].split(" pages")[0].replace(",", ""))
    if name.startswith("bulk update of "):
        k = int(name.split("of ")[1].split(":")[0].replace(",", ""))
        return 2 * k + math.ceil(k / 100)
    return 0
