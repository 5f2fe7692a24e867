"""Benchmark 3: invoice dicts (with lines) to objects, against ``json.loads`` of the payload."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .common import Config, Section, Target, ms, ratio, time_interleaved

TITLE = "Hydration"
PARSE = "json.loads(payload)  (the parse)"
OURS = "freshbooks_orm Invoice.from_wire(d) for each"
OURS_FOUR = "freshbooks_orm + read id, invoice_number, amount, create_date"
OURS_ALL = "freshbooks_orm + read every field and every line field"
SDK = "freshbooks-sdk ListResult -> Result objects"
SDK_FOUR = "freshbooks-sdk + read the same four fields"
SDK_ALL = "freshbooks-sdk + read every field and every line field"

FOUR = ("id", "invoice_number", "amount", "create_date")


def wire_invoices(n: int) -> list[dict[str, Any]]:
    """``n`` invoices exactly as the list endpoint sends them with ``include[]=lines``."""
    from freshbooks_orm.sandbox import Sandbox
    from freshbooks_orm.sandbox.store import parse_list_query

    sb = Sandbox(invoices=n, seed=3)
    for iid, inv in sb.invoices.items():
        if inv["vis_state"] == 1:
            sb.store.update(iid, {"vis_state": 0})
    rows: list[dict[str, Any]] = []
    for page in range(1, -(-n // 100) + 1):
        query = (("page", str(page)), ("per_page", "100"), ("include[]", "lines"))
        rows.extend(sb.store.list_result(parse_list_query(query))["invoices"])
    return rows


def run(cfg: Config) -> Section:
    from freshbooks_orm import Invoice, InvoiceLine

    rows = wire_invoices(cfg.hydrate_n)
    payload = json.dumps(rows).encode()
    rows = json.loads(payload)  # fresh dicts, as a response would hold them
    field_names = list(Invoice._meta.fields)
    line_names = list(InvoiceLine._meta.fields)
    wire_names = [spec.wire for spec in Invoice._meta.fields.values()]
    line_wire_names = [spec.wire for spec in InvoiceLine._meta.fields.values()]
    from_wire = Invoice.from_wire

    def ours() -> list[Any]:
        return [from_wire(d) for d in rows]

    def ours_four() -> list[Any]:
        objs = [from_wire(d) for d in rows]
        for obj in objs:
            obj.id, obj.invoice_number, obj.amount, obj.create_date  # noqa: B018
        return objs

    def ours_all() -> list[Any]:
        objs = [from_wire(d) for d in rows]
        for obj in objs:
            for name in field_names:
                getattr(obj, name)
            for line in obj.lines:
                for name in line_names:
                    getattr(line, name)
        return objs

    contenders: dict[str, Callable[[], Any]] = {
        PARSE: lambda: json.loads(payload),
        OURS: ours,
        OURS_FOUR: ours_four,
        OURS_ALL: ours_all,
    }
    try:
        from freshbooks.models import ListResult

        def sdk() -> list[Any]:
            return list(ListResult("invoices", "invoice", {"invoices": rows}, include_pages=False))

        def sdk_four() -> list[Any]:
            objs = sdk()
            for obj in objs:
                obj.id, obj.invoice_number, obj.amount, obj.create_date  # noqa: B018
            return objs

        def sdk_all() -> list[Any]:
            objs = sdk()
            for obj in objs:
                for name in wire_names:
                    getattr(obj, name)
                for line in obj.lines:
                    for name in line_wire_names:
                        getattr(line, name)
            return objs

        contenders[SDK] = sdk
        contenders[SDK_FOUR] = sdk_four
        contenders[SDK_ALL] = sdk_all
    except ImportError:
        pass
    timings = time_interleaved(contenders, reps=cfg.hydrate_reps)
    n = len(rows)
    lines = sum(len(d.get("lines") or ()) for d in rows)
    parse = timings[PARSE]
    table = [
        [
            name,
            ms(t.median),
            ms(t.min),
            f"{ratio(t.median, parse.median):.3f}x",
            f"{t.median / n * 1e6:,.2f} us",
        ]
        for name, t in timings.items()
    ]
    hydrate = ratio(timings[OURS].median, parse.median)
    four = ratio(timings[OURS_FOUR].median, parse.median)
    full = ratio(timings[OURS_ALL].median, parse.median)
    return Section(
        key="hydration",
        title=(
            f"3. {TITLE} ({n:,} invoices with {lines:,} lines, {len(payload) / 1e6:.1f} MB of JSON)"
        ),
        method=(
            "CPU only, in one process, no network. The payload is the sandbox's list answer "
            "with include[]=lines. Each contender runs once as a warm-up and "
            f"{cfg.hydrate_reps} times timed, round-robin. Field reads happen on freshly "
            "hydrated objects each time, so every value is parsed from the wire dict."
        ),
        columns=["contender", "median", "min", "vs parse", "per invoice"],
        rows=table,
        targets=[
            Target(
                "hydration: building the objects costs less than parsing the JSON",
                f"{hydrate:.3f}x the parse ({ms(timings[OURS].median)} vs "
                f"{ms(parse.median)}); reading 4 fields: {four:.2f}x; every field: {full:.2f}x",
                hydrate < 1.0,
                goal=f"hydrate {n:,} invoices (with lines): cheaper than json.loads",
                result=f"{hydrate:.3f}x the parse",
                note="Fields are parsed by their declared types on first access; code that reads "
                "every field and line of every invoice pays that parsing then.",
            )
        ],
        chart=[(name, t.median) for name, t in timings.items()],
        chart_unit="seconds (median)",
    )
