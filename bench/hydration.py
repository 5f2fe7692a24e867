"""Benchmark 3: field reads, the real cost of typed values, against ``json.loads`` and by hand.

``Invoice.from_wire(d)`` parses nothing: it keeps the wire dict, so its row measures deferral,
not work.  The work is done when a field is first read (parsed by its declared type, then
kept); the field-read rows carry that cost.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .common import Config, Section, Timing, ms, ratio, ratio_target, time_interleaved

TITLE = "Field reads"
PARSE = "json.loads(payload)  (the parse)"
DEFER = "hydrate the objects, page by page  (deferred: parses nothing)"
HAND = "5 fields typed by hand from the dicts"
OURS_FIVE = "hydrate + read the same 5 fields"
HAND_MONEY = "the same 5 fields by hand, amount as Money(amount, code) (information)"
FLOOR_FIVE = "pure-Python floor: one loop builds each object and types its 5 fields (information)"
OURS_ALL = "hydrate + read every field and every line field"
LINES = "hydrate + first access to inv.lines"
LINES_COPY = "copy each invoice's raw line dicts (reference)"
ONE = "hydrate + read {}"
PARSE_NOGC = "json.loads(payload), collector paused (information)"
OURS_ALL_NOGC = "hydrate + read every field and every line field, collector paused (information)"
SDK = "freshbooks-sdk ListResult -> Result objects"
SDK_ALL = "freshbooks-sdk + read every field and every line field"

#: One field of each kind whose first read the table prices.
SINGLE = {
    "invoice_number": "a string",
    "amount": "Money",
    "create_date": "a date",
    "updated": "a datetime (US/Eastern)",
}


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
    from freshbooks_orm import Invoice, InvoiceLine, Money

    rows = wire_invoices(cfg.hydrate_n)
    payload = json.dumps(rows).encode()
    rows = json.loads(payload)  # fresh dicts, as a response would hold them
    field_names = list(Invoice._meta.fields)
    line_names = list(InvoiceLine._meta.fields)
    wire_names = [spec.wire for spec in Invoice._meta.fields.values()]
    line_wire_names = [spec.wire for spec in InvoiceLine._meta.fields.values()]
    # Objects are hydrated as a listed page is (QuerySet does this for every page of 100): a
    # field read on one object of a page is parsed for the whole page at once, for as long as
    # a loop over the queryset runs; every contender reads inside its loop.
    hydrate_page = Invoice._from_page
    pages = [rows[i : i + 100] for i in range(0, len(rows), 100)]
    decimal, fromisoformat = Decimal, dt.date.fromisoformat

    def hydrate() -> Any:
        for page in pages:
            yield from hydrate_page(page, None)

    def defer() -> list[Any]:
        return list(hydrate())

    def hand() -> list[Any]:
        return [
            (
                d["id"],
                d["invoice_number"],
                decimal(d["amount"]["amount"]),
                fromisoformat(d["create_date"]),
                d["v3_status"],
            )
            for d in rows
        ]

    def hand_money() -> list[Any]:
        # What a hand-written loop costs when it makes the typed value the model gives
        # (Money, amount and currency both checked) instead of a bare Decimal.
        return [
            (
                d["id"],
                d["invoice_number"],
                Money(decimal(d["amount"]["amount"]), d["amount"]["code"]),
                fromisoformat(d["create_date"]),
                d["v3_status"],
            )
            for d in rows
        ]

    def ours_five() -> list[Any]:
        return [
            (inv.id, inv.invoice_number, inv.amount, inv.create_date, inv.v3_status)
            for inv in hydrate()
        ]

    def floor_five() -> list[Any]:
        # The least any pure-Python model of typed objects can spend on the same work: one
        # fused loop that builds each object and stores its 5 typed values (canonical values
        # only: no checks, no fallbacks, no page), then the same 5 reads.  Reference only.
        from freshbooks_orm.orm.types import _set_amount, _set_code, _wire_currency

        new, cls = object.__new__, Invoice
        out: list[Any] = []
        for page in pages:
            objs = []
            for r in page:
                obj = new(cls)
                d = obj.__dict__
                d["_raw"] = r
                d["_client"] = None
                d["id"] = r["id"]
                d["invoice_number"] = r["invoice_number"]
                money = new(Money)
                _set_amount(money, decimal(r["amount"]["amount"]))
                _set_code(money, _wire_currency(r["amount"]["code"]))
                d["amount"] = money
                d["create_date"] = fromisoformat(r["create_date"])
                d["v3_status"] = r["v3_status"]
                objs.append(obj)
            out.extend(
                (inv.id, inv.invoice_number, inv.amount, inv.create_date, inv.v3_status)
                for inv in objs
            )
        return out

    def ours_all() -> list[Any]:
        objs = []
        for obj in hydrate():  # read inside the loop, as `for inv in qs:` does
            for name in field_names:
                getattr(obj, name)
            for line in obj.lines:
                for name in line_names:
                    getattr(line, name)
            objs.append(obj)
        return objs

    def lines() -> list[Any]:
        return [inv.lines for inv in hydrate()]

    def lines_copy() -> list[Any]:
        return [[dict(line) for line in d["lines"]] for d in rows]

    def one(name: str) -> Callable[[], list[Any]]:
        def read() -> list[Any]:
            return [getattr(inv, name) for inv in hydrate()]

        return read

    def paused(fn: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            gc.disable()
            try:
                return fn()
            finally:
                gc.enable()

        return run

    contenders: dict[str, Callable[[], Any]] = {
        PARSE: lambda: json.loads(payload),
        PARSE_NOGC: paused(lambda: json.loads(payload)),
        DEFER: defer,
        HAND: hand,
        HAND_MONEY: hand_money,
        OURS_FIVE: ours_five,
        FLOOR_FIVE: floor_five,
        OURS_ALL: ours_all,
        OURS_ALL_NOGC: paused(ours_all),
        LINES: lines,
        LINES_COPY: lines_copy,
        **{ONE.format(name): one(name) for name in SINGLE},
    }
    try:
        from freshbooks.models import ListResult

        def sdk() -> list[Any]:
            return list(ListResult("invoices", "invoice", {"invoices": rows}, include_pages=False))

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
        contenders[SDK_ALL] = sdk_all
    except ImportError:
        pass
    t = time_interleaved(contenders, reps=cfg.hydrate_reps)
    n = len(rows)
    n_lines = sum(len(d.get("lines") or ()) for d in rows)
    parse = t[PARSE]
    defer_t = t[DEFER]

    def per_read(timing: Timing) -> str:
        return f"{(timing.cpu_median - defer_t.cpu_median) / n * 1e6:,.2f} us per read"

    table = []
    for name, timing in t.items():
        extra = ""
        if name.startswith("hydrate + read ") and name[len("hydrate + read ") :] in SINGLE:
            field = name[len("hydrate + read ") :]
            extra = f"{SINGLE[field]}: {per_read(timing)}"
        table.append(
            [
                name,
                ms(timing.cpu_median),
                ms(timing.cpu_min),
                f"{ratio(timing.cpu_median, parse.cpu_median):.3f}x",
                f"{timing.cpu_median / n * 1e6:,.2f} us",
                extra,
            ]
        )
    lines_note = (
        f"first access to inv.lines: {t[LINES].cpu_median / n * 1e6:,.1f} us per invoice "
        f"({n_lines / n:.1f} lines) against {t[LINES_COPY].cpu_median / n * 1e6:,.1f} us to "
        "copy its raw line dicts; with the collector paused (information), every field "
        f"read costs {ratio(t[OURS_ALL_NOGC].cpu_median, t[PARSE_NOGC].cpu_median):.2f}x "
        "json.loads"
    )
    floor = t[FLOOR_FIVE].cpu_median
    floor_note = (
        "the pure-Python floor (one loop building each object with its 5 typed values, no "
        f"checks; information) costs {ratio(floor, t[HAND].cpu_median):.2f}x the hand-written "
        f"loop; the model costs {ratio(t[OURS_FIVE].cpu_median, floor):.2f}x that floor, and "
        f"{ratio(t[OURS_FIVE].cpu_median, t[HAND_MONEY].cpu_median):.2f}x a hand-written loop "
        "that makes the same Money values with Money(amount, code)"
    )
    targets = [
        ratio_target(
            "reading 5 typical fields of each invoice (hydration included) <= 1.5x typing "
            "the same 5 fields by hand from the dicts",
            f"read 5 fields of {n:,} invoices: <= 1.5x typed by hand",
            t[OURS_FIVE],
            t[HAND],
            1.5,
            note=floor_note,
        ),
        ratio_target(
            "reading every field of every invoice and line <= 1.5x json.loads of the payload",
            f"read every field of {n:,} invoices and {n_lines:,} lines: <= 1.5x json.loads",
            t[OURS_ALL],
            parse,
            1.5,
            note=lines_note + ".",
        ),
    ]
    return Section(
        key="hydration",
        title=(
            f"3. {TITLE} ({n:,} invoices with {n_lines:,} lines, "
            f"{len(payload) / 1e6:.1f} MB of JSON)"
        ),
        method=(
            "CPU time, in one process, no network. The payload is the sandbox's list answer "
            "with include[]=lines. Objects are hydrated as QuerySet hydrates a listed page "
            "(Invoice.from_wire for each row of a page of 100, sharing the page). Each "
            f"contender runs once as a warm-up and {cfg.hydrate_reps} times timed, "
            "round-robin; ratios compare medians. Every field-read contender hydrates fresh "
            "objects each time, so every value is parsed from its wire dict. The hydrate row "
            "measures deferral (nothing is parsed); the field-read rows carry the real cost. "
            "A first read's price is its row minus the hydrate row, per invoice."
        ),
        columns=["contender", "CPU median", "CPU min", "vs parse", "per invoice", "first read"],
        rows=table,
        targets=targets,
        chart=[(name, timing.cpu_median) for name, timing in t.items()],
        chart_unit="CPU seconds (median)",
    )
