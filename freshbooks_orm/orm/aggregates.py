"""Aggregates over the rows of a queryset: ``Sum``, ``Count``, ``Min``, ``Max``, ``Avg``.

>>> Invoice.objects.filter(v3_status="paid").aggregate(Sum("amount"))     # doctest: +SKIP
{'amount__sum': Money(amount=Decimal('12000.00'), code='USD')}

Money is aggregated within one currency.  Over rows of several currencies ``Sum``, ``Avg``,
``Min`` and ``Max`` raise ``MixedCurrencyError`` naming the currencies, unless made with
``by_currency=True``: then the result is ``{code: Money}`` (an empty dict when no row has a
value).  ``Count`` counts rows whose field is not None (``Count()`` counts rows).  Rows whose
value is None are skipped, as SQL does; an aggregate over no values is None (``Count``: 0).
``Sum`` and ``Avg`` take number and money fields only, ``Min``/``Max`` any field but a list; a
field they cannot take raises ``UnsupportedOperationError`` naming the ones they can, before any
request.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, NoReturn

from ..errors import MixedCurrencyError, UnknownFieldError, UnsupportedOperationError, closest
from .lookups import field_kind
from .types import Money

#: The field kinds ``Sum`` and ``Avg`` add up (see ``lookups.field_kind``).
NUMERIC_KINDS = ("int", "decimal", "money")

__all__ = ["MONEY_AVG_PLACES", "Aggregate", "Avg", "Count", "Max", "Min", "Sum"]

#: Decimal places an average of money keeps (``Money`` takes at most 10).
MONEY_AVG_PLACES = 4


class Aggregate:
    """One aggregate of one field over the matching rows."""

    function = ""
    #: the field kinds this aggregate takes (None: any but a list)
    kinds: tuple[str, ...] | None = None

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
        """Refuse, before any request, a field the model does not declare, one this aggregate
        cannot compute over (``Sum``/``Avg`` of text, dates or lines), and ``by_currency`` on a
        field that is not money."""
        fields = model._meta.fields
        if self.by_currency and isinstance(self, Count):
            self._refuse_by_currency(fields)
        if self.field == "*" and isinstance(self, Count):
            return
        name = model._meta.pk if self.field == "pk" else self.field
        if name not in fields:
            plain = sorted(fields)
            hint = closest(name, plain)
            did_you_mean = f" Did you mean {hint!r}?" if hint else ""
            raise UnknownFieldError(
                f"{model.__name__} has no field {self.field!r} to aggregate.{did_you_mean} "
                f"Fields: {', '.join(plain)}."
            )
        kind = field_kind(fields[name].type)
        function = type(self).__name__
        if (kind == "list" and not isinstance(self, Count)) or (
            self.kinds is not None and kind not in self.kinds
        ):
            valid = sorted(
                n
                for n, f in fields.items()
                if (k := field_kind(f.type)) != "list" and (self.kinds is None or k in self.kinds)
            )
            raise UnsupportedOperationError(
                f"{self!r}: {model.__name__}.{name} is a {kind} field, which {function}() cannot "
                f"compute over. Fields it takes: {', '.join(valid)}."
            )
        if self.by_currency and kind != "money":
            self._refuse_by_currency(fields)
        self._name = name

    def _refuse_by_currency(self, fields: Any) -> NoReturn:
        money = sorted(n for n, f in fields.items() if field_kind(f.type) == "money")
        raise UnsupportedOperationError(
            f"{self!r}: by_currency applies to money fields ({', '.join(money)}) with Sum, "
            "Avg, Min or Max"
        )

    def values(self, rows: Iterable[Any]) -> list[Any]:
        name = getattr(self, "_name", self.field)
        return [v for v in (getattr(r, name) for r in rows) if v is not None]

    def compute(self, rows: list[Any]) -> Any:
        values = self.values(rows)
        if self.by_currency and not values:
            return {}  # no row has a value: no currency to report
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
    kinds = NUMERIC_KINDS

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
    kinds = NUMERIC_KINDS

    def money(self, amount: Decimal) -> Decimal:
        return amount.quantize(Decimal(1).scaleb(-MONEY_AVG_PLACES))

    def reduce(self, values: list[Any]) -> Any:
        total = sum((Decimal(v) if isinstance(v, int) else v for v in values), Decimal(0))
        return total / len(values)
