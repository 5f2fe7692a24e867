"""The line shape estimates, credit notes and recurring profiles share with invoice lines.

Each resource's line class adds its own read-only back-reference (``estimateid``,
``creditid``, ``profileid``).  Read-only keys the server adds on read (``amount``, ``taskno``,
``compounded_tax``, ``taxNumber1/2``) are never sent back: FreshBooks has refused
``taxNumber1/2`` in a PUT since 2023.  ``lineid`` is sent back when the server gave one (the
PHP and Java SDKs do) and the line is one its parent loaded (a copy or another document's line
goes as a new line: ids are unique within one document only); estimate lines in recorded
answers carry none.
"""

from __future__ import annotations

from decimal import Decimal

from ..orm.model import Model, computed, resource, writable
from ..orm.types import BOOL, DECIMAL, INT, MONEY, STR, Money

__all__ = ["DocumentLine"]


@resource(
    pk="lineid",
    repr_fields=("lineid", "name", "qty", "unit_cost", "amount"),
    columns=("lineid", "name", "description", "qty", "unit_cost", "amount"),
)
class DocumentLine(Model):
    """One line of an estimate, credit note or recurring profile. Tax amounts are percents."""

    lineid: int | None = computed(INT)
    amount: Money | None = computed(MONEY)
    taskno: int | None = computed(INT)
    compounded_tax: bool | None = computed(BOOL)
    taxNumber1: str | None = computed(STR)
    taxNumber2: str | None = computed(STR)
    type: int | None = writable(INT)
    name: str | None = writable(STR)
    description: str | None = writable(STR)
    qty: Decimal | None = writable(DECIMAL)
    unit_cost: Money | None = writable(MONEY)
    taxName1: str | None = writable(STR)
    taxAmount1: Decimal | None = writable(DECIMAL)
    taxName2: str | None = writable(STR)
    taxAmount2: Decimal | None = writable(DECIMAL)
