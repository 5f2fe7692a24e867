"""Deterministic, realistic seed data for the sandbox.

``generate(n, seed, account_id)`` returns wire-format objects of every resource, by resource
name, that depend only on ``(n, seed, account_id)``: every date lies in 2022-01-01..2025-06-30
(never relative to today).  When ``n >= 40`` every v3 status of the API's v3 table appears on an
active invoice.  The resources link up: every invoice's ``customerid`` is a client, every paid
or partly paid invoice has the payments that add up to its ``paid``, some invoices come from an
estimate (``estimateid``) of the same client.

The seed also carries the wire variety the live API sends (recorded in FreshBooks' PHP SDK
fixtures): ``net_paid_amount`` with three decimals, a numeric ``discount_value`` on some
invoices, ``taxNumber1: null`` on some lines, extra line keys (``taskno``, ``date``,
``modern_project_id``, ``modern_time_entries``) and fractional quantities.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import gc
import random
import uuid
from collections.abc import Iterator, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from .model import CENT, format_datetime, money
from .resources.clients import new_client
from .resources.credit_notes import new_credit_line, new_credit_note, recompute_credit_note
from .resources.estimates import new_estimate, new_estimate_line, recompute_estimate
from .resources.expense_categories import new_category
from .resources.expenses import new_expense
from .resources.invoice_profiles import new_profile, new_profile_line, recompute_profile
from .resources.invoices import STATUS_BY_V3, V3_STATUSES, net_paid, new_invoice
from .resources.items import new_item
from .resources.payments import new_payment
from .resources.taxes import new_tax

__all__ = [
    "FIRST_CUSTOMER_ID",
    "FIRST_INVOICE_ID",
    "SEED_END",
    "SEED_START",
    "Seed",
    "generate",
    "paused_gc",
]

Seed = dict[str, list[dict[str, Any]]]

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


def _some_day(rng: random.Random) -> dt.date:
    """A day of the seeded period, uniformly."""
    return SEED_START + dt.timedelta(days=rng.randrange(_NDAYS))


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


def generate(n: int, seed: int, account_id: str) -> Seed:
    """Objects of every resource by resource name, for ``n`` invoices, deterministic for ``seed``.

    The cyclic garbage collector is paused meanwhile: the seeder only allocates acyclic
    dicts, and collections triggered by ~1M new containers would cost ~35% of the time.
    """
    with paused_gc():
        customers, invoices = _generate(n, seed, account_id)
        # The linked resources draw from their own stream, so the invoices stay what they were.
        rng = random.Random(f"{seed}-links")
        out: Seed = {
            "clients": _clients(rng, customers, account_id),
            "invoices": invoices,
            "payments": _payments(rng, invoices, account_id),
            "estimates": _estimates(rng, invoices, customers, account_id),
            "taxes": _taxes_seed(account_id),
            "expense_categories": _categories(account_id),
        }
        out["items"] = _items(rng, account_id)
        out["expenses"] = _expenses(rng, invoices, customers, account_id)
        out["credit_notes"] = _credit_notes(rng, customers, account_id)
        out["invoice_profiles"] = _profiles(rng, invoices, customers, account_id)
        _variety(rng, invoices)
        return out


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector (the seed is ~1M acyclic dicts)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


#: The client keys a document (invoice, estimate, credit note, profile) copies from its client.
_BILL_TO = ("organization", "fname", "lname", "street", "city", "province", "code", "country")


def _billed_to(cust: dict[str, Any]) -> dict[str, Any]:
    """The name and address keys of ``cust`` that a document addressed to it carries."""
    return {key: cust[key] for key in _BILL_TO}


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
            **_billed_to(cust),
            currency_code=cur,
            create_date=create.isoformat(),
            invoice_number=f"{i + 1:07d}",
            due_offset_days=_pick(rng, _OFFSETS),
            terms=_pick(rng, _TERMS),
            uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            paid={"amount": "0.00", "code": cur},
            net_paid_amount={"amount": "0.000", "code": cur},
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
                    "taskno": lineid,
                    "date": None,
                    "modern_project_id": None,
                    "modern_time_entries": [],
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
            inv["net_paid_amount"] = net_paid(paid, cur)
            inv["outstanding"] = money(total - paid, cur)
        stamp = format_datetime(min(updated, _LAST_STAMP))
        inv["created_at"] = created_s
        inv["updated"] = stamp
        inv["version"] = stamp
        invoices.append(inv)
    return customers, invoices


# --------------------------------------------------------------------------- linked resources

_PAY_TYPES = ("Check", "Bank Transfer", "Credit Card", "Cash", "PayPal", "ACH", "Check")
_INDUSTRIES = ("Consulting", "Design", "Retail", "Software", "Construction", None)


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())[:16] or "example"


def _clients(
    rng: random.Random, customers: dict[int, dict[str, Any]], account_id: str
) -> list[dict[str, Any]]:
    out = []
    for cid, cust in customers.items():
        client = new_client(account_id)
        signup = dt.datetime.combine(
            SEED_START + dt.timedelta(days=_randint(rng, 0, 200)), dt.time(14)
        ) + dt.timedelta(seconds=_randint(rng, 0, 20000))
        org = cust["organization"]
        client.update(
            id=cid,
            userid=cid,
            uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            fname=cust["fname"],
            lname=cust["lname"],
            organization=org,
            email=f"{cust['fname'].lower()}.{cust['lname'].lower()}@{_slug(org)}.example",
            bus_phone=f"555-{_randint(rng, 100, 999)}-{_randint(rng, 1000, 9999)}",
            p_street=cust["street"],
            p_street2=cust["street2"],
            p_city=cust["city"],
            p_province=cust["province"],
            p_code=cust["code"],
            p_country=cust["country"],
            currency_code=cust["currency_code"],
            company_industry=_pick(rng, _INDUSTRIES),
            username=f"client{cid}",
            signup_date=format_datetime(signup),  # UTC
            updated=format_datetime(signup - dt.timedelta(hours=5) + dt.timedelta(days=30)),
        )
        if rng.random() < 0.2:
            client["note"] = "Prefers email."
        out.append(client)
    return out


def _payments(
    rng: random.Random, invoices: list[dict[str, Any]], account_id: str
) -> list[dict[str, Any]]:
    """The payments behind every paid or partly paid invoice (they sum to its ``paid``)."""
    out: list[dict[str, Any]] = []
    template = new_payment(account_id)
    pid = 5_000_001
    for inv in invoices:
        paid = Decimal(inv["paid"]["amount"])
        if paid <= 0:
            continue
        cur = inv["currency_code"]
        create = dt.date.fromisoformat(inv["create_date"])
        last = dt.date.fromisoformat(inv["date_paid"]) if inv["date_paid"] else None
        if last is None:
            last = min(create + dt.timedelta(days=_randint(rng, 0, 30)), SEED_END)
        parts = [paid]
        if paid >= 2 and rng.random() < 0.2:
            first = (paid * _randint(rng, 20, 80) / 100).quantize(CENT, ROUND_HALF_UP)
            parts = [first, paid - first]
        auto = inv["payment_status"] == "auto-paid"
        credit = not auto and rng.random() < 0.08
        for k, part in enumerate(parts):
            when = last if k == len(parts) - 1 else create + (last - create) // 2
            pay = dict(template)
            pay.update(
                id=pid,
                logid=pid,
                invoiceid=inv["id"],
                clientid=inv["customerid"],
                amount=money(part, cur),
                date=when.isoformat(),
                type="Credit Card" if auto else "Credit" if credit else _pick(rng, _PAY_TYPES),
                from_credit=credit,
                gateway="stripe" if auto else None,
                note=f"Ref {_randint(rng, 100000, 999999)}" if rng.random() < 0.3 else "",
                updated=f"{when.isoformat()} 17:00:00",
            )
            out.append(pay)
            pid += 1
    return out


_EST_STATUS = _weighted(tuple(zip(("1", "2", "3", "5", "6"), (25, 25, 15, 15, 20), strict=True)))


def _estimates(
    rng: random.Random,
    invoices: list[dict[str, Any]],
    customers: dict[int, dict[str, Any]],
    account_id: str,
) -> list[dict[str, Any]]:
    """Estimates of the seeded clients; an "invoiced" one is linked to an invoice of its client
    (that invoice's ``estimateid``)."""
    if not customers:
        return []
    by_customer: dict[int, list[dict[str, Any]]] = {}
    for inv in invoices:
        by_customer.setdefault(inv["customerid"], []).append(inv)
    cust_list = list(customers.values())
    out = []
    template = new_estimate(account_id)
    for i in range(max(3, len(invoices) // 10)):
        eid = 300_001 + i
        cust = _pick(rng, cust_list)
        cur = cust["currency_code"]
        create = _some_day(rng)
        est = dict(template)
        est.update(
            id=eid,
            estimateid=eid,
            customerid=cust["customerid"],
            create_date=create.isoformat(),
            estimate_number=f"{i + 1:07d}",
            status=int(_weighted_pick(rng, _EST_STATUS)),
            currency_code=cur,
            **_billed_to(cust),
            notes=_pick(rng, _NOTES) if rng.random() < 0.3 else "",
        )
        r = rng.random()
        est["vis_state"] = 1 if r < 0.05 else 2 if r < 0.10 else 0
        lines = []
        for _ in range(_randint(rng, 1, 3)):
            name, units = _pick(rng, _UNITS)
            t1n, t1, t2n, t2 = _taxes(rng, cur)
            line = new_estimate_line()
            line.update(
                estimateid=eid,
                name=name,
                description=_pick(rng, _DESCRIPTIONS),
                qty=_pick(rng, _QTYS)[1],
                unit_cost={"amount": _pick(rng, units)[1], "code": cur},
                taxName1=t1n,
                taxAmount1=t1,
                taxName2=t2n,
                taxAmount2=t2,
                taxNumber1=None if rng.random() < 0.5 else "",
            )
            lines.append(line)
        est["lines"] = lines
        stamp = dt.datetime.combine(create, dt.time(9)) + dt.timedelta(
            seconds=_randint(rng, 0, 30000)
        )
        est["created_at"] = format_datetime(stamp)
        est["updated"] = format_datetime(min(stamp + dt.timedelta(days=3), _LAST_STAMP))
        recompute_estimate(est)
        if est["status"] == 6:
            for inv in by_customer.get(cust["customerid"], ()):
                if not inv["estimateid"]:
                    inv["estimateid"] = eid
                    break
        out.append(est)
    return out


def _variety(rng: random.Random, invoices: list[dict[str, Any]]) -> None:
    """The wire variety of recorded live answers, on a few invoices and lines."""
    for inv in invoices:
        if rng.random() < 0.1:
            inv["discount_value"] = 0  # a number, not "0"
        if rng.random() < 0.15:
            line = inv["lines"][0]
            inv["lines"] = [{**line, "taxNumber1": None}, *inv["lines"][1:]]


# (name, percent, number, compound)
_TAX_TABLE = (
    ("HST", "13", "123456789RT0001", False),
    ("GST", "5", "123456789RT0001", False),
    ("PST", "7", None, False),
    ("Sales Tax", "8.875", None, False),
    ("VAT", "19", "DE123456789", False),
    ("UK VAT", "20", "GB123456789", False),
    ("QST", "9.975", None, True),
)
_TAX_IDS = {name: 7_001 + i for i, (name, *_) in enumerate(_TAX_TABLE)}
_FIXED_STAMP = "2022-01-03 09:00:00"


def _taxes_seed(account_id: str) -> list[dict[str, Any]]:
    out = []
    for i, (name, amount, number, compound) in enumerate(_TAX_TABLE):
        tax = new_tax(account_id)
        tax.update(id=7_001 + i, taxid=7_001 + i, name=name, amount=amount, number=number,
                   compound=compound, updated=f"2022-0{1 + i % 6}-1{i % 9} 09:00:00")  # fmt: skip
        out.append(tax)
    return out


# (name, parent name or None)
_CATEGORY_TABLE = (
    ("Advertising", None), ("Car & Truck Expenses", None), ("Gas", "Car & Truck Expenses"),
    ("Mileage", "Car & Truck Expenses"), ("Contractors", None), ("Education and Training", None),
    ("Employee Benefits", None), ("Meals and Entertainment", None),
    ("Restaurants/Dining", "Meals and Entertainment"), ("Office Expenses & Postage", None),
    ("Hardware", "Office Expenses & Postage"), ("Office Supplies", "Office Expenses & Postage"),
    ("Software", "Office Expenses & Postage"), ("Shipping & Couriers", "Office Expenses & Postage"),
    ("Professional Services", None), ("Accounting", "Professional Services"),
    ("Legal Fees", "Professional Services"), ("Rent or Lease", None), ("Supplies", None),
    ("Travel", None), ("Airfare", "Travel"), ("Hotel/Lodging/Accommodation", "Travel"),
    ("Taxi & Parking", "Travel"), ("Utilities", None), ("Cost of Goods Sold", None),
)  # fmt: skip


def _categories(account_id: str) -> list[dict[str, Any]]:
    ids = {name: 4_001 + i for i, (name, _) in enumerate(_CATEGORY_TABLE)}
    out = []
    for name, parent in _CATEGORY_TABLE:
        cat = new_category(account_id)
        cid = ids[name]
        cat.update(id=cid, categoryid=cid, category=name,
                   parentid=None if parent is None else ids[parent],
                   is_editable=parent is not None, is_cogs=name == "Cost of Goods Sold",
                   created_at=_FIXED_STAMP, updated_at=_FIXED_STAMP)  # fmt: skip
        out.append(cat)
    return out


def _items(rng: random.Random, account_id: str) -> list[dict[str, Any]]:
    out = []
    for i, (name, cents) in enumerate(_ITEMS):
        item = new_item(account_id)
        iid = 9_001 + i
        tax = _pick(rng, (0, 0, _TAX_IDS["HST"], _TAX_IDS["Sales Tax"], _TAX_IDS["VAT"]))
        item.update(
            id=iid,
            itemid=iid,
            name=name,
            description=_pick(rng, _DESCRIPTIONS),
            qty=_pick(rng, ("1", "1", "2", "0.5")),
            inventory=None if rng.random() < 0.5 else str(_randint(rng, 0, 40)),
            sku=f"SKU-{iid}" if rng.random() < 0.6 else None,
            unit_cost=money(Decimal(cents) / 100, "USD"),
            tax1=tax,
            updated=f"2023-{1 + i % 12:02d}-{10 + i:02d} 11:00:00",
        )
        out.append(item)
    return out


_VENDORS = ("Staples", "Amazon", "Delta", "Uber", "AWS", "Adobe", "FedEx", "Hilton", "Shell")


def _expenses(
    rng: random.Random,
    invoices: list[dict[str, Any]],
    customers: dict[int, dict[str, Any]],
    account_id: str,
) -> list[dict[str, Any]]:
    """Expenses; about a third billed to a client, some of those rebilled on an invoice."""
    if not customers:
        return []
    cust_list = list(customers.values())
    by_customer: dict[int, list[dict[str, Any]]] = {}
    for inv in invoices:
        if inv["vis_state"] == 0:
            by_customer.setdefault(inv["customerid"], []).append(inv)
    template = new_expense(account_id)
    out = []
    for i in range(max(4, len(invoices) // 10)):
        xid = 600_001 + i
        when = _some_day(rng)
        exp = dict(template)
        client_id, invoice_id, cur = 0, None, "USD"
        if rng.random() < 0.35:
            cust = _pick(rng, cust_list)
            client_id, cur = cust["customerid"], cust["currency_code"]
            candidates = by_customer.get(client_id)
            if candidates and rng.random() < 0.4:
                invoice_id = _pick(rng, candidates)["id"]
        amount = Decimal(_randint(rng, 500, 250000)) / 100
        exp.update(
            id=xid,
            expenseid=xid,
            categoryid=4_001 + int(rng.random() * len(_CATEGORY_TABLE)),
            amount=money(amount, cur),
            date=when.isoformat(),
            clientid=client_id,
            invoiceid=invoice_id,
            vendor=_pick(rng, _VENDORS),
            staffid=_pick(rng, (1, 1, 2, 3)),
            projectid=_pick(rng, (0, 0, 0, *_PROJECTS)),
            profileid=_pick(rng, (None, None, None, 51, 52)),
            billable=client_id != 0,
            has_receipt=rng.random() < 0.6,
            markup_percent=_pick(rng, ("0", "0", "10", "12.5")),
            status=4 if invoice_id else 1 if client_id else 0,
            updated=f"{when.isoformat()} 12:00:00",
        )
        if rng.random() < 0.2:
            exp.update(taxName1="HST", taxPercent1="13",
                       taxAmount1=money(amount * 13 / 113, cur))  # fmt: skip
        r = rng.random()
        exp["vis_state"] = 1 if r < 0.04 else 2 if r < 0.08 else 0
        out.append(exp)
    return out


def _credit_notes(
    rng: random.Random, customers: dict[int, dict[str, Any]], account_id: str
) -> list[dict[str, Any]]:
    if not customers:
        return []
    cust_list = list(customers.values())
    template = new_credit_note(account_id)
    out = []
    for i in range(max(3, len(cust_list) // 3)):
        nid = 800_001 + i
        cust = _pick(rng, cust_list)
        cur = cust["currency_code"]
        when = _some_day(rng)
        note = dict(template)
        note.update(
            id=nid,
            creditid=nid,
            clientid=cust["customerid"],
            create_date=when.isoformat(),
            credit_number=f"CN-{i + 1:05d}",
            credit_type=_pick(rng, ("goodwill", "goodwill", "prepayment")),
            currency_code=cur,
            **_billed_to(cust),
            status=_pick(rng, ("draft", "sent", "sent", "viewed")),
            updated=f"{when.isoformat()} 10:30:00",
        )
        note["display_status"] = note["status"]
        line = new_credit_line()
        name, units = _pick(rng, _UNITS)
        line.update(creditid=nid, name=name, description="Credit", qty="1",
                    unit_cost={"amount": _pick(rng, units)[1], "code": cur})  # fmt: skip
        note["lines"] = [line]
        recompute_credit_note(note)
        total = Decimal(note["amount"]["amount"])
        used = _pick(rng, (Decimal(0), Decimal(0), total, (total / 2).quantize(CENT)))
        note["paid"] = money(used, cur)
        recompute_credit_note(note)
        out.append(note)
    return out


def _profiles(
    rng: random.Random,
    invoices: list[dict[str, Any]],
    customers: dict[int, dict[str, Any]],
    account_id: str,
) -> list[dict[str, Any]]:
    """One recurring profile per seeded ``parent`` id; its client is its first invoice's."""
    if not customers:
        return []
    first: dict[int, dict[str, Any]] = {}
    for inv in invoices:
        if inv["parent"] and inv["parent"] not in first:
            first[inv["parent"]] = inv
    cust_list = list(customers.values())
    template = new_profile(account_id)
    out = []
    for pid in _PARENTS:
        gen = first.get(pid)
        cust = customers[gen["customerid"]] if gen else _pick(rng, cust_list)
        cur = cust["currency_code"]
        profile = dict(template)
        profile.update(
            id=pid,
            profileid=pid,
            customerid=cust["customerid"],
            create_date=gen["create_date"] if gen else "2023-01-01",
            frequency=_pick(rng, ("m", "m", "2w", "1y", "3m")),
            numberRecurring=_pick(rng, (0, 12, 24)),
            include_unbilled_time=pid % 2 == 0,
            currency_code=cur,
            **_billed_to(cust),
            updated="2025-06-01 08:00:00",
        )
        line = new_profile_line()
        name, units = _pick(rng, _UNITS)
        line.update(lineid=1, profileid=pid, name=name, qty="1",
                    unit_cost={"amount": _pick(rng, units)[1], "code": cur},
                    updated="2025-06-01 08:00:00")  # fmt: skip
        profile["lines"] = [line]
        recompute_profile(profile)
        out.append(profile)
    return out
