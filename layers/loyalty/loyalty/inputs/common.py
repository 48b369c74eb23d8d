"""Money in request bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from loyalty.domain.fields import AmountString, Body, CurrencyCode


class Money(Body):
    amount: AmountString = Field(description="decimal string, no sign or exponent", examples=["12.50"])
    currency: CurrencyCode = Field(examples=["USD"])


def _more_than_zero(amount: str) -> str:
    if not amount.strip("0."):
        raise ValueError("must be greater than zero")
    return amount


class PositiveMoney(Money):
    """A purchase's total or a refund: greater than zero (the schema says "not all zeros")."""

    amount: Annotated[AmountString, AfterValidator(_more_than_zero)] = Field(
        description="decimal string greater than zero, no sign or exponent", examples=["12.50"],
        json_schema_extra={"not": {"pattern": "^0+(\\.0+)?$"}})
