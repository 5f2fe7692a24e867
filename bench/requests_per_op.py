"""Benchmark 2: requests each operation sends, read from the sandbox's own request log.

Request counts do not depend on timing, so this one uses an in-process sandbox.
``tests/test_request_counts.py`` pins the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .common import Config, Section, Target

TITLE = "Requests per operation"


def _summary(requests: list[Any]) -> str:
    """'1 GET', '10 GET + 150 PUT {notes}' ..."""
    groups: dict[str, int] = {}
    for r in requests:
        key = r.method
        if r.method == "PUT" and isinstance(r.json, dict):
            body = r.json.get("invoice", {})
            key += " {" + ", ".join(sorted(body)) + "}"
        groups[key] = groups.get(key, 0) + 1
    return " + ".join(f"{n} {key}" for key, n in groups.items()) or "nothing"


def run(cfg: Config) -> Section:
    from freshbooks_orm import Invoice, configure
    from freshbooks_orm.sandbox import Sandbox

    sb = Sandbox(invoices=cfg.counts_n, seed=2)
    for iid, inv in sb.invoices.items():
        if inv["vis_state"] == 1:
            sb.store.update(iid, {"vis_state": 0})
    n = cfg.counts_n
    k = cfg.bulk_k_counts
    rows: list[list[str]] = []
    targets: list[Target] = []
    with sb:
        client = sb.client()
        configure(client)
        try:
            stored = sb.invoices  # a deep copy: take it once
            ids = sorted(stored, reverse=True)  # the default order: newest first
            sent = [i for i in ids if stored[i]["v3_status"] == "sent"]

            def loaded(pk: int, lines: bool = False) -> Any:
                qs = Invoice.objects.include("lines") if lines else Invoice.objects
                return qs.get(pk)

            def dirty_save(inv: Any) -> None:
                inv.notes = "benchmark note"
                inv.save()

            def line_edit(inv: Any) -> None:
                inv.lines[0].qty = inv.lines[0].qty + 1
                inv.save()

            def cached_questions() -> None:
                qs = Invoice.objects.all()
                list(qs)
                sb.requests.clear()
                _ = len(qs), qs.count(), qs.exists(), qs.first(), qs[5]

            ops: list[tuple[str, Callable[[], Any], int, str]] = [
                ("count()", lambda: Invoice.objects.count(), 1, "1 GET"),
                ("exists()", lambda: Invoice.objects.exists(), 1, "1 GET"),
                ("first()", lambda: Invoice.objects.first(), 1, "1 GET"),
                ("qs[30:45]", lambda: list(Invoice.objects.all()[30:45]), 1, "1 GET"),
                ("qs[250]", lambda: Invoice.objects.all()[250], 1, "1 GET"),
                ("get(pk)", lambda: Invoice.objects.get(ids[7]), 1, "1 GET"),
                (
                    "get(invoice_number=...)",
                    lambda: Invoice.objects.get(invoice_number=stored[ids[7]]["invoice_number"]),
                    1,
                    "1 GET",
                ),
                (
                    f"iterate N={n:,} (list(qs))",
                    lambda: list(Invoice.objects.all()),
                    math.ceil(n / 100),
                    f"{math.ceil(n / 100)} GET",
                ),
                (
                    f"iterate N={n:,} (iterator(prefetch=4))",
                    lambda: list(Invoice.objects.all().iterator(prefetch=4)),
                    math.ceil(n / 100),
                    f"{math.ceil(n / 100)} GET",
                ),
                (
                    f"filter(v3_status='sent'), M={len(sent):,}",
                    lambda: list(Invoice.objects.filter(v3_status="sent")),
                    math.ceil(len(sent) / 100),
                    f"{math.ceil(len(sent) / 100)} GET",
                ),
                (
                    "len, count, exists, first, [5] after iterating",
                    cached_questions,
                    0,
                    "nothing",
                ),
            ]
            # Writes on an object already in hand: the preparation is not counted.
            writes: list[tuple[str, Callable[[], Any], Callable[[Any], Any], int, str]] = [
                ("save(), clean (object in hand)", lambda: loaded(ids[3]), lambda o: o.save(), 0,
                 "nothing"),
                ("save(), one field changed", lambda: loaded(ids[4]), dirty_save, 1,
                 "1 PUT {notes}"),
                ("line edit + save (loaded with lines)", lambda: loaded(ids[5], lines=True),
                 line_edit, 1, "1 PUT {lines}"),
                ("line edit + save (lines not loaded)", lambda: loaded(ids[6]), line_edit, 2,
                 "1 GET + 1 PUT {lines}"),
                ("delete()", lambda: loaded(ids[8]), lambda o: o.delete(), 1,
                 "1 PUT {vis_state}"),
                ("create()", lambda: None, lambda _: Invoice.objects.create(
                    customerid=stored[ids[0]]["customerid"], create_date="2024-05-01",
                    lines=[{"name": "Bench", "qty": 1, "unit_cost": {"amount": "10.00",
                                                                    "code": "USD"}}]),
                 1, "1 POST"),
            ]  # fmt: skip
            for name, op, minimum, expected in ops:
                sb.requests.clear()
                op()
                rows.append(_row(name, list(sb.requests), minimum, expected))
            for label, prepare, write, least, summary in writes:
                obj = prepare()
                sb.requests.clear()
                write(obj)
                rows.append(_row(label, list(sb.requests), least, summary))
            rows.append(_bulk_row(sb, k))
        finally:
            configure(None)
            client.close()
    worst = [r for r in rows if r[4] != "yes"]
    targets.append(
        Target(
            "requests: every operation sends the minimum",
            f"{len(rows) - len(worst)} of {len(rows)} at the minimum"
            + (f"; above it: {', '.join(r[0] for r in worst)}" if worst else ""),
            not worst,
            goal="requests per operation: the minimum (count 1, clean save 0, ...)",
            result=f"{len(rows) - len(worst)} of {len(rows)} operations",
            limit="every one",
            minimum="(counts)",
        )
    )
    return Section(
        key="requests",
        title=f"2. {TITLE} (sandbox of {n:,} invoices, counted from its request log)",
        method=(
            "An in-process sandbox (counts do not depend on timing). Each operation runs alone "
            "with the request log cleared before it; writes start from an object already "
            "loaded (its loading is not counted). The minimum is what the API allows: one "
            "request per answer, one per 100 rows, one PUT per changed invoice, nothing for "
            "answers already in hand."
        ),
        columns=["operation", "requests", "minimum", "sent", "at minimum"],
        rows=rows,
        targets=targets,
    )


def _row(name: str, requests: list[Any], minimum: int, expected: str) -> list[str]:
    summary = _summary(requests)
    ok = len(requests) == minimum and (summary == expected or minimum == 0)
    return [name, str(len(requests)), str(minimum), summary, "yes" if ok else "NO"]


def _bulk_row(sb: Any, k: int) -> list[str]:
    from freshbooks_orm import Invoice

    name = f"bulk update of K={k} (qs.update(notes=...))"
    # planning reads ceil(K/100) pages; each write is one fresh GET of the object, then its PUT
    minimum = 2 * k + math.ceil(k / 100)
    expected = f"{math.ceil(k / 100) + k} GET + {k} PUT {{notes}}"
    try:
        import freshbooks_orm.batch  # noqa: F401
    except ImportError:
        return [name, "-", str(minimum), "freshbooks_orm.batch not available", "NO"]
    ids = sorted(sb.store.snapshot())[:k]
    sb.requests.clear()
    Invoice.objects.filter(id__in=ids).update(notes="bulk benchmark note", workers=4)
    return _row(name, list(sb.requests), minimum, expected)
