"""Deterministic, realistic seed data for the sandbox.

``generate(n, seed, account_id)`` returns customers and wire-format invoices that depend only
on ``(n, seed, account_id)``: every date lies in 2022-01-01..2025-06-30 (never relative to
today).  When ``n >= 40`` every v3 status of the API's v3 table appears on an active invoice.
"""

from __future__ import annotations

import bisect
import datetime as dt
import gc
import random
import uuid
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from .model import (
    CENT,
    STATUS_BY_V3,
    V3_STATUSES,
    format_datetime,
    money,
    new_invoice,
)

__all__ = ["FIRST_CUSTOMER_ID", "FIRST_INVOICE_ID", "SEED_END", "SEED_START", "generate"]

SEED_START = dt.date(2022, 1, 1)
SEED_END = dt.date(2025, 6, 30)
FIRST_INVOICE_ID = 1_000_001
FIRST_CUSTOMER_ID = 200_001
_NDAYS = (SEED_END - SEED_START).days + 1
_LAST_STAMP = dt.datetime(2025, 6, 30, 23, 59, 59)

_ORGS = (
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent",
    "Tyrell", "Wonka", "Cyberdyne", "Aperture", "Oceanic", "Pied Piper", "Dunder Mifflin",
    "Massive Dynamic", "Prestige Worldwide", "Bluth", "Monarch", "Gekko", "Sterling Cooper",
)  # fmt: skip
_SUFFIXES = ("Inc.", "LLC", "Ltd.", "Co.", "Group", "Partners", "Studio", "Labs")
_FIRST = (
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemi",
    "Liam",
    "Maya",
    "Noor",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
)
_LAST = (
    "Nguyen",
    "Smith",
    "Garcia",
    "Okafor",
    "Muller",
    "Rossi",
    "Tanaka",
    "Dubois",
    "Kowalski",
    "Silva",
    "Cohen",
    "Haddad",
    "Larsen",
    "Murphy",
    "Patel",
    "Singh",
    "Walker",
    "Young",
)
_STREETS = (
    "Main St",
    "King St W",
    "Market St",
    "High Street",
    "Rue de Rivoli",
    "Hauptstrasse",
    "Queen St E",
    "Broadway",
    "Church Road",
    "Elm Avenue",
)
_US, _CA = "United States", "Canada"
_PLACES: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "USD": (("New York", "NY", "10001", _US), ("Austin", "TX", "73301", _US),
            ("Chicago", "IL", "60601", _US), ("Denver", "CO", "80202", _US)),
    "CAD": (("Toronto", "ON", "M5V 2T6", _CA), ("Vancouver", "BC", "V6B 1A1", _CA),
            ("Montreal", "QC", "H2Y 1C6", _CA)),
    "EUR": (("Berlin", "", "10115", "Germany"), ("Paris", "", "75001", "France"),
            ("Madrid", "", "28013", "Spain")),
    "GBP": (("London", "", "EC1A 1BB", "United Kingdom"),
            ("Leeds", "", "LS1 4DY", "United Kingdom")),
}  # fmt: skip
_CURRENCIES = ("USD", "CAD", "EUR", "GBP")
# (name, typical unit cost in cents)
_ITEMS: tuple[tuple[str, int], ...] = (
    ("Consulting", 15000), ("Web design", 9500), ("Hosting", 2500), ("Logo design", 45000),
    ("Support retainer", 120000), ("Travel", 32000), ("Photography", 18000), ("Copywriting", 7500),
    ("SEO audit", 60000), ("Training session", 40000), ("Maintenance", 8500), ("Licence", 19900),
)  # fmt: skip
_DESCRIPTIONS = (
    "",
    "",
    "Hourly rate",
    "Monthly plan",
    "Phase 1 deliverables",
    "On-site visit",
    "Rush delivery",
    "Includes two revisions",
    "Annual subscription",
    "Q3 work",
)
_NOTES = (
    "Thank you for your business.",
    "Payment due within 30 days.",
    "Please include the invoice number with your payment.",
    "Late payments incur a 2% monthly fee.",
    "Wire transfer preferred.",
)
_TERMS = ("", "", "Net 30", "Due on receipt", "Net 15")
_OFFSETS = (0, 15, 30, 30, 30, 45, 60)
_PARENTS = (41001, 41002, 41003, 41004, 41005)
_PROJECTS = (701, 702, 703, 704, 705, 706)
_QTYS = tuple(
    (Decimal(q), q) for q in ("1", "1", "1", "2", "3", "4", "5", "8", "10", "12", "1.5", "2.5")
)
# Per item: the possible unit costs (80%..120% of the typical price), as (Decimal, wire string).
_UNIT_COSTS = {
    cents: tuple((Decimal(cents * k) / 10000).quantize(CENT) for k in range(80, 121))
    for _, cents in _ITEMS
}
_UNITS = tuple((name, tuple((d, str(d)) for d in _UNIT_COSTS[cents])) for name, cents in _ITEMS)
_RATES = {r: Decimal(r) for r in ("0", "5", "7", "8.875", "13", "19", "20")}
# v3 status weights: recent invoices (last 120 days) vs older ones.
_RECENT = (
    ("draft", 18),
    ("created", 3),
    ("sent", 22),
    ("viewed", 14),
    ("overdue", 6),
    ("partial", 8),
    ("paid", 18),
    ("autopaid", 3),
    ("retry", 2),
    ("pending", 2),
    ("disputed", 1),
    ("deposit-partial", 2),
    ("declined", 1),
)
_OLDER = (
    ("paid", 62),
    ("autopaid", 6),
    ("success", 2),
    ("overdue", 8),
    ("partial", 5),
    ("sent", 4),
    ("viewed", 3),
    ("failed", 2),
    ("resolved", 2),
    ("deposit-paid", 2),
    ("draft", 2),
    ("disputed", 1),
    ("declined", 1),
)


_T = TypeVar("_T")


def _pick(rng: random.Random, seq: Sequence[_T]) -> _T:
    """``rng.choice`` without its per-call overhead (the seeder makes ~1M picks for 50k)."""
    return seq[int(rng.random() * len(seq))]


def _randint(rng: random.Random, a: int, b: int) -> int:
    return a + int(rng.random() * (b - a + 1))


def _weighted(table: tuple[tuple[str, int], ...]) -> tuple[list[str], list[float]]:
    """Names and cumulative weights normalised to 1.0, for :func:`_weighted_pick`."""
    total = sum(w for _, w in table)
    cum, acc = [], 0
    for _, w in table:
        acc += w
        cum.append(acc / total)
    return [name for name, _ in table], cum


def _weighted_pick(rng: random.Random, weighted: tuple[list[str], list[float]]) -> str:
    names, cum = weighted
    return names[min(bisect.bisect_right(cum, rng.random()), len(names) - 1)]


def _taxes(rng: random.Random, currency: str) -> tuple[str, str, str, str]:
    r = rng.random()
    if currency == "CAD":
        if r < 0.4:
            return "HST", "13", "", "0"
        if r < 0.6:
            return "GST", "5", "PST", "7"
    elif currency == "USD":
        if r < 0.25:
            return "Sales Tax", "8.875", "", "0"
    elif currency == "EUR":
        if r < 0.5:
            return "VAT", "19", "", "0"
    elif r < 0.5:
        return "VAT", "20", "", "0"
    return "", "0", "", "0"


_CURRENCY_TABLE = _weighted(tuple(zip(_CURRENCIES, (55, 20, 15, 10), strict=True)))


def make_customers(rng: random.Random, count: int) -> dict[int, dict[str, Any]]:
    customers: dict[int, dict[str, Any]] = {}
    for i in range(count):
        currency = _weighted_pick(rng, _CURRENCY_TABLE)
        city, province, code, country = _pick(rng, _PLACES[currency])
        cid = FIRST_CUSTOMER_ID + i
        customers[cid] = {
            "customerid": cid,
            "organization": f"{_pick(rng, _ORGS)} {_pick(rng, _SUFFIXES)}",
            "fname": _pick(rng, _FIRST),
            "lname": _pick(rng, _LAST),
            "street": f"{_randint(rng, 1, 999)} {_pick(rng, _STREETS)}",
            "street2": "",
            "city": city,
            "province": province,
            "code": code,
            "country": country,
            "currency_code": currency,
        }
    return customers


def generate(
    n: int, seed: int, account_id: str
) -> tuple[dict[int, dict[str, Any]], list[dict[str, Any]]]:
    """``(customers by id, invoices)`` for ``n`` invoices, deterministic for ``seed``.

    The cyclic garbage collector is paused meanwhile: the seeder only allocates acyclic
    dicts, and collections triggered by ~1M new containers would cost ~35% of the time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(n, seed, account_id)
    finally:
        if was_enabled:
            gc.enable()


def _generate(
    n: int, seed: int, account_id: str
) -> tuple[dict[int, dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    customers = make_customers(rng, max(5, n // 8))
    cust_list = list(customers.values())
    days = sorted(rng.randrange(_NDAYS) for _ in range(n))
    for i in range(n):  # ~10% are back-dated: ids are not strictly in date order
        if rng.random() < 0.1:
            days[i] = rng.randrange(_NDAYS)
    forced: dict[int, str] = {}
    if n >= 40:
        forced = dict(zip(rng.sample(range(n), len(V3_STATUSES)), V3_STATUSES, strict=True))
    recent, older = _weighted(_RECENT), _weighted(_OLDER)
    template = new_invoice(account_id)
    dates = [SEED_START + dt.timedelta(days=d) for d in range(_NDAYS)]
    invoices: list[dict[str, Any]] = []
    for i in range(n):
        iid = FIRST_INVOICE_ID + i
        day = days[i]
        create = dates[day]
        cust = _pick(rng, cust_list)
        cur = cust["currency_code"]
        inv = dict(template)
        inv.update(
            id=iid,
            invoiceid=iid,
            customerid=cust["customerid"],
            organization=cust["organization"],
            fname=cust["fname"],
            lname=cust["lname"],
            street=cust["street"],
            city=cust["city"],
            province=cust["province"],
            code=cust["code"],
            country=cust["country"],
            currency_code=cur,
            create_date=create.isoformat(),
            invoice_number=f"{i + 1:07d}",
            due_offset_days=_pick(rng, _OFFSETS),
            terms=_pick(rng, _TERMS),
            uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            paid={"amount": "0.00", "code": cur},
            discount_total={"amount": "0.00", "code": cur},
        )
        if rng.random() < 0.25:
            inv["po_number"] = f"PO-{_randint(rng, 10000, 99999)}"
        if rng.random() < 0.3:
            inv["notes"] = _pick(rng, _NOTES)
        if rng.random() < 0.04:
            inv["parent"] = _pick(rng, _PARENTS)
            inv["generation_date"] = inv["create_date"]
        if rng.random() < 0.05:
            inv["projectid"] = _pick(rng, _PROJECTS)
        v3 = forced.get(i)
        if v3 is None:
            v3 = _weighted_pick(rng, recent if day >= _NDAYS - 120 else older)
            r = rng.random()
            inv["vis_state"] = 1 if r < 0.05 else 2 if r < 0.10 else 0
            inv["ext_archive"] = 1 if inv["vis_state"] == 2 else 0
        info = STATUS_BY_V3[v3]
        info.apply(inv, v3)
        if info.deposit_status != "none":
            inv["deposit_percentage"] = "25"
        created = dt.datetime.combine(create, dt.time(8)) + dt.timedelta(
            seconds=int(rng.random() * 11 * 3600)
        )
        created_s = format_datetime(created)
        lines = []
        total = Decimal(0)
        for lineid in range(1, _randint(rng, 1, 5) + 1):
            name, units = _pick(rng, _UNITS)
            unit, unit_s = units[int(rng.random() * len(units))]
            qty, qty_s = _pick(rng, _QTYS)
            t1n, t1, t2n, t2 = _taxes(rng, cur)
            line_total = (qty * unit).quantize(CENT, ROUND_HALF_UP)
            total += line_total
            if t1n:
                total += (line_total * _RATES[t1] / 100).quantize(CENT, ROUND_HALF_UP)
            if t2n:
                total += (line_total * _RATES[t2] / 100).quantize(CENT, ROUND_HALF_UP)
            lines.append(
                {
                    "lineid": lineid,
                    "invoiceid": iid,
                    "type": 0,
                    "name": name,
                    "description": _pick(rng, _DESCRIPTIONS),
                    "qty": qty_s,
                    "unit_cost": {"amount": unit_s, "code": cur},
                    "amount": {"amount": str(line_total), "code": cur},
                    "taxName1": t1n,
                    "taxAmount1": t1,
                    "taxName2": t2n,
                    "taxAmount2": t2,
                    "taxNumber1": "",
                    "taxNumber2": "",
                    "compounded_tax": False,
                    "retainer_id": None,
                    "retainer_period_id": None,
                    "basecampid": 0,
                    "expenseid": 0,
                    "updated": created_s,
                }
            )
        inv["lines"] = lines
        inv["description"] = lines[0]["description"]
        inv["current_organization"] = inv["organization"]
        inv["due_date"] = (create + dt.timedelta(days=inv["due_offset_days"])).isoformat()
        inv["amount"] = money(total, cur)
        inv["outstanding"] = money(total, cur)
        updated = created + dt.timedelta(seconds=int(rng.random() * 30 * 86400))
        if info.payment in ("paid", "auto-paid") or info.payment == "partial":
            if info.payment == "partial":
                paid = (total * _randint(rng, 10, 90) / 100).quantize(CENT, ROUND_HALF_UP)
                paid = min(max(paid, CENT), total - CENT)
            else:
                paid = total
                paid_day = min(create + dt.timedelta(days=_randint(rng, 0, 40)), SEED_END)
                inv["date_paid"] = paid_day.isoformat()
                updated = max(updated, dt.datetime.combine(paid_day, dt.time(17)))
            inv["paid"] = money(paid, cur)
            inv["outstanding"] = money(total - paid, cur)
        stamp = format_datetime(min(updated, _LAST_STAMP))
        inv["created_at"] = created_s
        inv["updated"] = stamp
        inv["version"] = stamp
        invoices.append(inv)
    return customers, invoices
