"""Money arithmetic across currencies and beyond the wire's decimal places."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from freshbooks_orm import InvoiceLine, Money
from freshbooks_orm.errors import InvalidFieldValue, MixedCurrencyError, UsageError


@pytest.mark.parametrize(
    ("operation", "verb"),
    [
        (lambda a, b: a + b, "add"),
        (lambda a, b: a - b, "subtract"),
        (lambda a, b: a < b, "compare"),
        (lambda a, b: a <= b, "compare"),
        (lambda a, b: a > b, "compare"),
        (lambda a, b: a >= b, "compare"),
        (lambda a, b: a / b, "divide"),
        (lambda a, b: sum([a, b]), "add"),
    ],
)
def test_mixing_currencies_raises_mixed_currency_error(operation: Any, verb: str) -> None:
    with pytest.raises(MixedCurrencyError, match=f"cannot {verb} .*'USD' and 'CAD'") as info:
        operation(Money("10.00", "USD"), Money("10.0", "CAD"))
    assert isinstance(info.value, ValueError) and isinstance(info.value, UsageError)


def test_equality_across_currencies_is_false_not_an_error() -> None:
    assert Money("10.00", "USD") != Money("10.00", "CAD")


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        (lambda m: m / 3, Decimal("10.00") / 3),
        (lambda m: m / Decimal("7"), Decimal("10.00") / 7),
        (lambda m: m * Decimal("1.23456789012"), Decimal("10.00") * Decimal("1.23456789012")),
        (lambda m: Decimal("1.23456789012") * m, Decimal("10.00") * Decimal("1.23456789012")),
        (lambda m: (m / 3) * 3, Decimal("10.00") / 3 * 3),
        (lambda m: m / 3 + m / 3, Decimal("10.00") / 3 + Decimal("10.00") / 3),
        (lambda m: -(m / 3), -(Decimal("10.00") / 3)),
        (lambda m: abs(m / -3), abs(Decimal("10.00") / -3)),
        (lambda m: m / 3 - m, Decimal("10.00") / 3 - Decimal("10.00")),
    ],
)
def test_arithmetic_keeps_every_digit_decimal_gives(operation: Any, expected: Decimal) -> None:
    result = operation(Money("10.00", "USD"))
    assert isinstance(result, Money)
    assert result.code == "USD"
    assert result.amount == expected
    assert str(result.amount) == str(expected)  # every digit, not rounded


def test_a_factor_is_any_finite_number_with_all_its_digits() -> None:
    assert (Money("1", "USD") * Decimal("0.000000000001")).amount == Decimal("1E-12")
    for bad in (Decimal("NaN"), Decimal("Infinity"), float("inf"), float("nan")):
        with pytest.raises(ValueError, match="finite"):
            Money("1", "USD") * bad


def test_quantize_rounds_to_cents_or_given_places() -> None:
    third = Money("10.00", "USD") / 3
    assert third.quantize() == Money("3.33", "USD")
    assert str(third.quantize().amount) == "3.33"
    assert (Money("2.675", "USD")).quantize(rounding=ROUND_HALF_UP).amount == Decimal("2.68")
    assert third.quantize("0.0001").amount == Decimal("3.3333")
    assert third.quantize(Decimal("1")).amount == Decimal("3")


def test_the_wire_limit_stays_where_values_go_to_freshbooks() -> None:
    third = Money("10.00", "USD") / 3
    with pytest.raises(InvalidFieldValue, match=r"InvoiceLine.unit_cost: .*quantize"):
        InvoiceLine(name="x", unit_cost=third)
    line = InvoiceLine(name="x", unit_cost=Money("1", "USD"))
    with pytest.raises(InvalidFieldValue, match="10 decimal places"):
        line.unit_cost = third
    assert line.unit_cost == Money("1", "USD")  # unchanged
    line.unit_cost = third.quantize()
    assert line.to_nested_payload()["unit_cost"] == {"amount": "3.33", "code": "USD"}
    with pytest.raises(InvalidFieldValue, match="10\\*\\*13"):
        line.unit_cost = Money("9999999999999", "USD") * 10
    # the constructor still checks what it is given
    with pytest.raises(ValueError, match="more than 10 decimal places"):
        Money("1.23456789012", "USD")
