"""Benchmark 1: iterate every invoice, ours against a hand-written page loop and FreshBooks' SDK."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import requests

from .common import Config, Section, Target, Timing, ms, ratio, ratio_target, time_interleaved
from .remote import RemoteSandbox

TITLE = "Iterate every invoice"
RAW = "requests + json page loop"
HAND = "requests + json loop, 5 fields typed by hand"
OURS = "freshbooks_orm list(Invoice.objects.all())"
OURS_FIVE = "freshbooks_orm for inv in Invoice.objects.iterator(), 5 fields read"
OURS_FIVE_CACHED = "freshbooks_orm for inv in Invoice.objects.all() (cached), 5 fields read"
OURS_PREFETCH = "freshbooks_orm list(...iterator(prefetch=4))"
SDK_HELD = "freshbooks-sdk, one resource object"
SDK_DOC = "freshbooks-sdk, client.invoices.list() per page"


def raw_loop(sb: RemoteSandbox, five: bool = False) -> Callable[[], list[Any]]:
    """The hand-written floor: one GET per 100 rows, ``json.loads``; with ``five``, the five
    typical fields of each row typed by hand (``Decimal`` money, ``date``)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {sb.access_token}"
    url = f"{sb.url}/accounting/account/{sb.account_id}/invoices/invoices"
    decimal, fromisoformat = Decimal, dt.date.fromisoformat

    def run() -> list[Any]:
        rows: list[Any] = []
        page = 1
        while True:
            response = session.get(url, params={"page": page, "per_page": 100})
            response.raise_for_status()
            result = json.loads(response.content)["response"]["result"]
            if five:
                for d in result["invoices"]:
                    rows.append(
                        (
                            d["id"],
                            d["invoice_number"],
                            decimal(d["amount"]["amount"]),
                            fromisoformat(d["create_date"]),
                            d["v3_status"],
                        )
                    )
            else:
                rows.extend(result["invoices"])
            if page >= result["pages"]:
                return rows
            page += 1

    return run


def ours_five() -> list[Any]:
    """Like the hand-written loop, keeps the five values of each invoice and nothing else."""
    from freshbooks_orm import Invoice

    return [
        (inv.id, inv.invoice_number, inv.amount, inv.create_date, inv.v3_status)
        for inv in Invoice.objects.iterator()
    ]


def ours_five_cached() -> list[Any]:
    """The queryset caches every object (as Django's does): all are alive when the loop runs."""
    from freshbooks_orm import Invoice

    return [
        (inv.id, inv.invoice_number, inv.amount, inv.create_date, inv.v3_status)
        for inv in Invoice.objects.all()
    ]


def sdk_loops(sb: RemoteSandbox) -> dict[str, Callable[[], list[Any]]]:
    try:
        from freshbooks.builders.paginator import PaginateBuilder
        from freshbooks.client import Client as FreshBooksClient
    except ImportError:
        return {}
    os.environ["FRESHBOOKS_API_URL"] = sb.url  # the SDK reads it when a client is built
    client = FreshBooksClient(client_id="bench", access_token=sb.access_token)
    held = client.invoices  # each ``client.invoices`` is a new resource with a new Session

    def pages(resource: Callable[[], Any]) -> list[Any]:
        rows: list[Any] = []
        page = 1
        while True:
            result = resource().list(sb.account_id, builders=[PaginateBuilder(page, 100)])
            rows.extend(result)
            if page >= result.pages.pages:
                return rows
            page += 1

    return {
        SDK_HELD: lambda: pages(lambda: held),
        SDK_DOC: lambda: pages(lambda: client.invoices),
    }


def run(cfg: Config) -> Section:
    from freshbooks_orm import Client, Invoice, configure

    with RemoteSandbox(cfg.iterate_n, seed=1) as sb:
        client: Client = sb.client()
        configure(client)
        try:
            contenders: dict[str, Callable[[], Any]] = {
                RAW: raw_loop(sb),
                HAND: raw_loop(sb, five=True),
                OURS: lambda: list(Invoice.objects.all()),
                OURS_FIVE: ours_five,
                OURS_FIVE_CACHED: ours_five_cached,
                OURS_PREFETCH: lambda: list(Invoice.objects.all().iterator(prefetch=4)),
                **sdk_loops(sb),
            }
            timings = time_interleaved(contenders, reps=cfg.iterate_reps)
            rendered = sb.misses()
        finally:
            configure(None)
            client.close()
        n = sb.live
    pages = -(-n // 100)
    if rendered > 2 * pages:  # the warm-up renders each page once for ours and once for raw
        raise AssertionError(f"the server rendered {rendered} pages; timed runs must hit its cache")
    for name, timing in timings.items():
        if timing.result != n:
            raise AssertionError(f"{name} returned {timing.result} rows, not {n}")
    return _section(cfg, n, timings)


def _section(cfg: Config, n: int, t: dict[str, Timing]) -> Section:
    raw = t[RAW]
    rows = []
    for name, timing in t.items():
        rows.append(
            [
                name,
                ms(timing.cpu_median),
                ms(timing.cpu_min),
                f"{ratio(timing.cpu_median, raw.cpu_median):.2f}x",
                ms(timing.median),
                ms(timing.min),
                f"{n / timing.median:,.0f}",
            ]
        )
    targets = [
        ratio_target(
            "iterating and reading 5 typical fields (client CPU): qs.iterator() <= 1.15x the "
            "hand-written requests + json loop typing the same 5 fields",
            f"iterate {n:,} + read 5 fields: client CPU <= 1.15x hand-written",
            t[OURS_FIVE],
            t[HAND],
            1.15,
            note="The same loop over the cached queryset (for inv in Invoice.objects.all(): "
            "every object is kept, so the garbage collector walks 10,000 live objects while "
            f"the loop runs): {ratio(t[OURS_FIVE_CACHED].cpu_median, t[HAND].cpu_median):.2f}x.",
        ),
        ratio_target(
            "iterating (client CPU): list(qs) <= 1.15x the raw requests + json loop",
            f"iterate {n:,}: client CPU <= 1.15x the requests + json loop",
            t[OURS],
            raw,
            1.15,
        ),
    ]
    sdk_names = [name for name in (SDK_HELD, SDK_DOC) if name in t]
    if sdk_names:
        best = min(sdk_names, key=lambda name: t[name].cpu_median)
        targets.append(
            ratio_target(
                f"iterating (client CPU): ours below FreshBooks' SDK at its fastest ({best})",
                f"iterate {n:,}: client CPU below freshbooks-sdk",
                t[OURS],
                t[best],
                1.0,
            )
        )
    else:
        targets.append(Target("iterating: faster than the SDK", "SDK not installed", False))
    return Section(
        key="iterate",
        title=f"1. {TITLE} ({n:,} invoices, per_page=100, {-(-n // 100)} pages)",
        method=(
            f"Client CPU time (user + system of the benchmark process, every thread) is the "
            "headline; wall time beside it. The server runs in its own process and answers "
            "from pre-rendered pages: each distinct page is rendered once, in the warm-up "
            "round, and every timed request is answered from memory, so neither the server's "
            "CPU nor its rendering time is in the client's figures. Each contender builds its "
            f"client or session once, runs once as a warm-up and {cfg.iterate_reps} times "
            "timed, round-robin with the others; ratios compare medians (the minima's ratio "
            "is shown beside each target). The 5 typical fields are id, invoice_number, "
            "amount, create_date and v3_status: typed by hand as Decimal(amount), "
            "date.fromisoformat(create_date); read from the ORM as its typed values "
            "(Money, date). The headline loop streams with iterator() and, like the "
            "hand-written loop, keeps the five values of each invoice and nothing else; the "
            "same loop over the cached queryset (which keeps every object) is shown beside it."
        ),
        columns=[
            "contender",
            "client CPU",
            "CPU min",
            "CPU vs raw",
            "wall median",
            "wall min",
            "invoices/s",
        ],
        rows=rows,
        targets=targets,
        chart=[(name, timing.cpu_median) for name, timing in t.items()],
        chart_unit="client CPU seconds (median)",
    )
