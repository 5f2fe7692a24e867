"""Aggregates over the rows of a queryset: ``Sum``, ``Count``, ``Min``, ``Max``, ``Avg``.

>>> Invoice.objects.filter(v3_status="paid").aggregate(Sum("amount"))     # doctest: +SKIP
{'amount__sum': Money(amount=Decimal('12000.00'), code='USD')}

Money is aggregated within one currency.  Over rows of several currencies ``Sum``, ``Avg``,
``Min`` and ``Max`` raise ``MixedCurrencyError`` naming the currencies, unless made with
``by_currency=True``: then the result is ``{code: Money}`` (an empty dict when no row has a
value).  ``Count`` counts rows whose field is not None (``Count()`` counts rows).  Rows whose
value is None are skipped, as SQL does; an aggregate over no values is None (``Count``: 0).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ..errors import MixedCurrencyError, UnknownFieldError, closest
from .types import Money

__all__ = ["MONEY_AVG_PLACES", "Aggregate", "Avg", "Count", "Max", "Min", "Sum"]

#: Decimal places an average of money keeps (``Money`` takes at most 10).
MONEY_AVG_PLACES = 4


class Aggregate:
    """One aggregate of one field over the matching rows."""

    function = ""

    def __init__(self, field: str = "*", *, by_currency: bool = False) -> None:
        if not isinstance(field, str) or not field:
            raise TypeError(f"{type(self).__name__}() takes a field name, got {field!r}")
        self.field = field
        self.by_currency = by_currency

    def __repr__(self) -> str:
        extra = ", by_currency=True" if self.by_currency else ""
        return f"{type(self).__name__}({self.field!r}{extra})"

    @property
    def default_alias(self) -> str:
        return f"{self.field}__{self.function}"

    @property
    def counts_rows(self) -> bool:
        return False

    def check(self, model: Any) -> None:
        """Refuse a field the model does not declare (before any request)."""
        if self.field == "*" and isinstance(self, Count):
            return
        name = model._meta.pk if self.field == "pk" else self.field
        if name not in model._meta.fields:
            plain = sorted(model._meta.fields)
            hint = closest(name, plain)
            did_you_mean = f" Did you mean {hint!r}?" if hint else ""
            raise UnknownFieldError(
                f"{model.__name__} has no field {self.field!r} to aggregate.{did_you_mean} "
                f"Fields: {', '.join(plain)}."
            )
        self._name = name

    def values(self, rows: Iterable[Any]) -> list[Any]:
        name = getattr(self, "_name", self.field)
        return [v for v in (getattr(r, name) for r in rows) if v is not None]

    def compute(self, rows: list[Any]) -> Any:
        values = self.values(rows)
        if values and all(isinstance(v, Money) for v in values):
            groups: dict[str, list[Decimal]] = {}
            for v in values:
                groups.setdefault(v.code, []).append(v.amount)
            if self.by_currency:
                return {
                    code: Money(self.money(self.reduce(amounts)), code)
                    for code, amounts in groups.items()
                }
            if len(groups) > 1:
                raise MixedCurrencyError(
                    f"{self!r} spans several currencies ({', '.join(sorted(groups))}); filter by "
                    f"one currency, or use {type(self).__name__}({self.field!r}, "
                    f"by_currency=True) for one result per currency"
                )
            ((code, amounts),) = groups.items()
            return Money(self.money(self.reduce(amounts)), code)
        if self.by_currency:
            raise TypeError(f"{self!r}: by_currency applies to money fields only")
        return self.reduce(values) if values else None

    def reduce(self, values: list[Any]) -> Any:
        raise NotImplementedError

    def money(self, amount: Decimal) -> Decimal:
        """The amount a money result keeps (``Avg`` rounds; the others are exact)."""
        return amount


class Sum(Aggregate):
    function = "sum"

    def reduce(self, values: list[Any]) -> Any:
        total: Any = values[0]
        for v in values[1:]:
            total = total + v
        return total


class Count(Aggregate):
    function = "count"

    @property
    def counts_rows(self) -> bool:
        return self.field in ("*", "pk")

    def compute(self, rows: list[Any]) -> Any:
        if self.field == "*":
            return len(rows)
        return len(self.values(rows))


class Min(Aggregate):
    function = "min"

    def reduce(self, values: list[Any]) -> Any:
        return min(values)


class Max(Aggregate):
    function = "max"

    def reduce(self, values: list[Any]) -> Any:
        return max(values)


class Avg(Aggregate):
    """The mean; over money it is rounded half-even to ``MONEY_AVG_PLACES`` (4) places."""

    function = "avg"

    def money(self, amount: Decimal) -> Decimal:
        return amount.quantize(Decimal(1).scaleb(-MONEY_AVG_PLACES))

    def reduce(self, values: list[Any]) -> Any:
        total = sum((Decimal(v) if isinstance(v, int) else v for v in values), Decimal(0))
        return total / len(values)
