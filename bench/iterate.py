"""Benchmark 1: iterate every invoice, ours against a hand-written page loop and FreshBooks' SDK."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import requests

from .common import Config, Section, Target, Timing, ms, ratio, time_interleaved
from .remote import RemoteSandbox

TITLE = "Iterate every invoice"
RAW = "requests + json page loop"
OURS = "freshbooks_orm list(Invoice.objects.all())"
OURS_PREFETCH = "freshbooks_orm list(...iterator(prefetch=4))"
SDK_HELD = "freshbooks-sdk, one resource object"
SDK_DOC = "freshbooks-sdk, client.invoices.list() per page"


def raw_loop(sb: RemoteSandbox) -> Callable[[], list[dict[str, Any]]]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {sb.access_token}"
    url = f"{sb.url}/accounting/account/{sb.account_id}/invoices/invoices"

    def run() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            response = session.get(url, params={"page": page, "per_page": 100})
            response.raise_for_status()
            result = json.loads(response.content)["response"]["result"]
            rows.extend(result["invoices"])
            if page >= result["pages"]:
                return rows
            page += 1

    return run


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
                OURS: lambda: list(Invoice.objects.all()),
                OURS_PREFETCH: lambda: list(Invoice.objects.all().iterator(prefetch=4)),
                **sdk_loops(sb),
            }
            timings = time_interleaved(contenders, reps=cfg.iterate_reps)
        finally:
            configure(None)
            client.close()
        n = sb.live
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
                ms(timing.median),
                ms(timing.min),
                f"{ratio(timing.median, raw.median):.2f}x",
                ms(timing.cpu_median),
                f"{n / timing.median:,.0f}",
            ]
        )
    ours = t[OURS]
    vs_raw = ratio(ours.median, raw.median)
    targets = [
        Target(
            "iterating: ours <= 1.15x the raw requests + json loop",
            f"{vs_raw:.2f}x (median), {ratio(ours.min, raw.min):.2f}x (min)",
            vs_raw <= 1.15,
            goal=f"iterate {n:,}: <= 1.15x the requests + json loop",
            result=f"{vs_raw:.2f}x",
        )
    ]
    sdk_names = [name for name in (SDK_HELD, SDK_DOC) if name in t]
    if sdk_names:
        best = min(sdk_names, key=lambda name: t[name].median)
        vs_sdk = ratio(ours.median, t[best].median)
        targets.append(
            Target(
                "iterating: ours faster than FreshBooks' SDK (its fastest way)",
                f"{vs_sdk:.2f}x the SDK's time ({best})",
                vs_sdk < 1.0,
                goal=f"iterate {n:,}: faster than freshbooks-sdk",
                result=f"{vs_sdk:.2f}x the SDK's time",
            )
        )
    else:
        targets.append(Target("iterating: faster than the SDK", "SDK not installed", False))
    return Section(
        key="iterate",
        title=f"1. {TITLE} ({n:,} invoices, per_page=100, {n // 100 + (n % 100 > 0)} pages)",
        method=(
            f"Sandbox in a separate process, {n:,} invoices, no added latency. Each contender "
            "builds its client/session once, then runs once as a warm-up and "
            f"{cfg.iterate_reps} times timed, round-robin with the others. Ratio is the median "
            "against the raw loop's median. CPU is the client process's CPU time (the server's "
            "is not in it)."
        ),
        columns=["contender", "median", "min", "vs raw", "client CPU", "invoices/s"],
        rows=rows,
        targets=targets,
        chart=[(name, timing.median) for name, timing in t.items()],
        chart_unit="seconds (median)",
    )
