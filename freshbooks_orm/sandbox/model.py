"""Wire-format constants and helpers shared by the sandbox store and the seeder.

Everything here is pure: no I/O, no state.  Invoices are kept as plain ``dict`` objects in
the exact wire format the FreshBooks accounting API emits (money as ``{"amount": "8.00",
"code": "USD"}``, dates as ``YYYY-MM-DD``, datetimes as naive US/Eastern wall time).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "ACTION_SENT_KEYS",
    "CENT",
    "EASTERN",
    "INVOICE_WRITABLE_KEYS",
    "LINE_READ_ONLY_KEYS",
    "LINE_WRITABLE_KEYS",
    "STATUS_BY_V3",
    "V3_STATUSES",
    "StatusInfo",
    "eastern_now",
    "format_datetime",
    "line_amount",
    "money",
    "new_invoice",
    "new_line",
    "num_str",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "recompute_invoice",
]

CENT = Decimal("0.01")
EASTERN = ZoneInfo("America/New_York")
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"

#: Every v3 status of the seed doc's v3 table.
V3_STATUSES: tuple[str, ...] = (
    "created",
    "draft",
    "sent",
    "viewed",
    "failed",
    "retry",
    "success",
    "autopaid",
    "paid",
    "partial",
    "disputed",
    "resolved",
    "overdue",
    "deposit-partial",
    "deposit-paid",
    "declined",
    "pending",
)


class StatusInfo:
    """How one v3 status maps onto the other status-like invoice keys."""

    __slots__ = (
        "auto_bill",
        "autobill_status",
        "deposit_status",
        "display_status",
        "dispute_status",
        "last_order_status",
        "payment",
        "status",
    )

    def __init__(
        self,
        status: int,
        display_status: str,
        payment: str,
        *,
        autobill_status: str | None = None,
        dispute_status: str | None = None,
        deposit_status: str = "none",
        last_order_status: str | None = None,
    ) -> None:
        self.status = status
        self.display_status = display_status
        #: "unpaid" | "partial" | "paid" | "auto-paid": drives paid/outstanding amounts.
        self.payment = payment
        self.autobill_status = autobill_status
        self.dispute_status = dispute_status
        self.deposit_status = deposit_status
        self.last_order_status = last_order_status
        self.auto_bill = autobill_status is not None

    def apply(self, inv: dict[str, Any], v3_status: str) -> None:
        inv["status"] = self.status
        inv["v3_status"] = v3_status
        inv["display_status"] = self.display_status
        inv["payment_status"] = self.payment
        inv["autobill_status"] = self.autobill_status
        inv["dispute_status"] = self.dispute_status
        inv["deposit_status"] = self.deposit_status
        inv["last_order_status"] = self.last_order_status
        inv["auto_bill"] = self.auto_bill


STATUS_BY_V3: dict[str, StatusInfo] = {
    "created": StatusInfo(1, "created", "unpaid"),
    "draft": StatusInfo(1, "draft", "unpaid"),
    "sent": StatusInfo(2, "sent", "unpaid"),
    "viewed": StatusInfo(3, "viewed", "unpaid"),
    "failed": StatusInfo(7, "outstanding", "unpaid", autobill_status="failed"),
    "retry": StatusInfo(6, "outstanding", "unpaid", autobill_status="retry"),
    "success": StatusInfo(5, "paid", "auto-paid", autobill_status="success"),
    "autopaid": StatusInfo(5, "paid", "auto-paid", autobill_status="success"),
    "paid": StatusInfo(4, "paid", "paid"),
    "partial": StatusInfo(8, "outstanding", "partial"),
    "disputed": StatusInfo(0, "outstanding", "unpaid", dispute_status="disputed"),
    "resolved": StatusInfo(2, "sent", "unpaid", dispute_status="resolved"),
    "overdue": StatusInfo(2, "outstanding", "unpaid"),
    "deposit-partial": StatusInfo(8, "outstanding", "partial", deposit_status="partial"),
    "deposit-paid": StatusInfo(8, "outstanding", "partial", deposit_status="paid"),
    "declined": StatusInfo(2, "sent", "unpaid", last_order_status="declined"),
    "pending": StatusInfo(2, "sent", "unpaid", last_order_status="pending"),
}

#: Invoice keys a client may set with POST/PUT.  Everything else is computed or ignored.
INVOICE_WRITABLE_KEYS: frozenset[str] = frozenset(
    {
        "invoice_number",
        "customerid",
        "create_date",
        "generation_date",
        "discount_value",
        "discount_description",
        "po_number",
        "template",
        "currency_code",
        "language",
        "terms",
        "notes",
        "address",
        "return_uri",
        "deposit_amount",
        "deposit_percentage",
        "gmail",
        "show_attachments",
        "ext_archive",
        "street",
        "street2",
        "city",
        "province",
        "code",
        "country",
        "organization",
        "fname",
        "lname",
        "vat_name",
        "vat_number",
        "due_offset_days",
        "ownerid",
        "estimateid",
        "basecampid",
        "sentid",
        "parent",
    }
)

LINE_WRITABLE_KEYS: frozenset[str] = frozenset(
    {
        "type",
        "expenseid",
        "qty",
        "unit_cost",
        "description",
        "name",
        "taxName1",
        "taxAmount1",
        "taxName2",
        "taxAmount2",
    }
)

#: Line keys the live API rejects on PUT (since ~April 2023).
LINE_READ_ONLY_KEYS: tuple[str, ...] = ("amount", "updated", "taxNumber1", "taxNumber2")

#: ``action_*`` keys that move a draft invoice to "sent".
ACTION_SENT_KEYS: frozenset[str] = frozenset({"action_mark_as_sent", "action_email"})


def money(amount: Decimal, code: str) -> dict[str, str]:
    """A wire money object: ``{"amount": "800.00", "code": "USD"}``."""
    return {"amount": str(amount.quantize(CENT, ROUND_HALF_UP)), "code": code}


def num_str(value: Decimal) -> str:
    """A decimal as the API writes quantities and tax rates: ``"4"``, ``"1.5"``, ``"8.875"``."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def parse_decimal(value: Any) -> Decimal | None:
    """A finite Decimal from a JSON number or numeric string, else None (bools rejected)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, str, Decimal)):
        try:
            d = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            return None
        return d if d.is_finite() else None
    return None


def parse_date(value: Any) -> dt.date | None:
    """A date from a strict ``YYYY-MM-DD`` string, else None."""
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def parse_datetime(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, DATETIME_FORMAT)


def format_datetime(value: dt.datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (seconds precision)."""
    return value.replace(microsecond=0).isoformat(" ")


def eastern_now() -> dt.datetime:
    """Now as a naive US/Eastern wall-clock datetime, truncated to the second."""
    return dt.datetime.now(EASTERN).replace(tzinfo=None, microsecond=0)


def line_amount(line: dict[str, Any]) -> Decimal:
    qty = Decimal(line["qty"])
    unit = Decimal(line["unit_cost"]["amount"])
    return (qty * unit).quantize(CENT, ROUND_HALF_UP)


def recompute_invoice(inv: dict[str, Any]) -> None:
    """Recompute every derived key of a wire invoice (amounts, description, due date...).

    Each line's ``amount`` = qty x unit_cost; the invoice ``amount`` = sum of line amounts plus
    each line's taxes (line amount x taxAmount1/100, x taxAmount2/100, each rounded to cents);
    ``outstanding`` = amount - paid (never negative).
    """
    code = inv["currency_code"]
    total = Decimal(0)
    for line in inv["lines"]:
        amt = line_amount(line)
        line["amount"] = {"amount": str(amt), "code": code}
        line["unit_cost"]["code"] = code
        total += amt
        for key in ("taxAmount1", "taxAmount2"):
            rate = Decimal(line[key])
            if rate:
                total += (amt * rate / 100).quantize(CENT, ROUND_HALF_UP)
    paid = Decimal(inv["paid"]["amount"])
    outstanding = max(total - paid, Decimal(0))
    inv["amount"] = money(total, code)
    inv["paid"] = money(paid, code)
    inv["outstanding"] = money(outstanding, code)
    inv["discount_total"] = money(Decimal(inv["discount_total"]["amount"]), code)
    inv["description"] = inv["lines"][0]["description"] if inv["lines"] else ""
    inv["current_organization"] = inv["organization"]
    create = parse_date(inv["create_date"])
    if create is not None:
        offset = inv.get("due_offset_days") or 0
        inv["due_date"] = (create + dt.timedelta(days=int(offset))).isoformat()


def new_invoice(account_id: str) -> dict[str, Any]:
    """A fresh invoice with every wire key at its creation default (no id yet, no lines).

    Key order follows the seed doc's example, with the extra keys the live API sends at the end.
    Money objects are placeholders: :func:`recompute_invoice` replaces them.
    """
    zero = {"amount": "0.00", "code": "USD"}
    return {
        "status": 1,
        "deposit_percentage": None,
        "create_date": None,
        "outstanding": dict(zero),
        "payment_status": "unpaid",
        "code": "",
        "ownerid": 1,
        "vat_number": "",
        "id": 0,
        "gmail": False,
        "vat_name": "",
        "v3_status": "draft",
        "parent": 0,
        "country": "",
        "dispute_status": None,
        "lname": "",
        "deposit_status": "none",
        "estimateid": 0,
        "ext_archive": 0,
        "template": "clean-grouped",
        "basecampid": 0,
        "generation_date": None,
        "show_attachments": True,
        "vis_state": 0,
        "current_organization": "",
        "province": "",
        "due_date": None,
        "updated": None,
        "terms": "",
        "description": "",
        "discount_description": None,
        "last_order_status": None,
        "street2": "",
        "deposit_amount": None,
        "paid": dict(zero),
        "invoiceid": 0,
        "discount_total": dict(zero),
        "address": "",
        "invoice_number": "",
        "customerid": 0,
        "discount_value": "0",
        "accounting_systemid": account_id,
        "organization": "",
        "due_offset_days": 0,
        "language": "en",
        "po_number": None,
        "display_status": "draft",
        "notes": "",
        "date_paid": None,
        "amount": dict(zero),
        "street": "",
        "city": "",
        "currency_code": "USD",
        "sentid": 1,
        "autobill_status": None,
        "return_uri": None,
        "fname": "",
        "created_at": None,
        "auto_bill": False,
        "accountid": account_id,
        # Keys the live API sends that the seed doc does not list.
        "uuid": "",
        "version": None,
        "projectid": 0,
        "fulfillment_date": None,
        "lines": [],
    }


def new_line(lineid: int, invoiceid: int, code: str) -> dict[str, Any]:
    """A fresh invoice line with every wire key at its default."""
    return {
        "lineid": lineid,
        "invoiceid": invoiceid,
        "type": 0,
        "name": "",
        "description": "",
        "qty": "1",
        "unit_cost": {"amount": "0.00", "code": code},
        "amount": {"amount": "0.00", "code": code},
        "taxName1": "",
        "taxAmount1": "0",
        "taxName2": "",
        "taxAmount2": "0",
        "taxNumber1": "",
        "taxNumber2": "",
        "compounded_tax": False,
        "retainer_id": None,
        "retainer_period_id": None,
        "basecampid": 0,
        "expenseid": 0,
        "updated": None,
    }
