"""Request bodies of purchases, quotes, returns and adjustments (basket lines bounded here)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictInt, model_validator

from loyalty.domain.fields import Body, Fingerprint, Moment, OrderId, Text64, Text200, Text500
from loyalty.inputs.common import Money, PositiveMoney

# A basket as the contract bounds it (Conventions): lines count only as shares of what was paid.
MAX_LINE_QUANTITY = 9_999


MAX_LINES = 500


class LineItem(Body):
    sku: Text64
    category: Text64 | None = None
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_LINE_QUANTITY)]
    unit_price: Money = Field(description="the line's unit price as listed; when the lines add up to more than "
                                          "the total (an order-level discount), every line counts pro rata")


class PurchaseRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"order_id": "1001", "total": {"amount": "120.00", "currency": "USD"}, "channel": "online",
         "items": [{"sku": "latte", "quantity": 2, "unit_price": {"amount": "4.50", "currency": "USD"}}]}]})
    order_id: OrderId
    total: PositiveMoney
    channel: Literal["online", "store", "app"]
    occurred_at: Moment | None = None
    items: Annotated[list[LineItem], Field(max_length=MAX_LINES)] | None = Field(
        default=None, description="what was bought at line prices; rules on lines use each line's share of "
                                  "`total` (scaled down pro rata when the lines exceed it)")
    payment_fingerprint: Fingerprint | None = Field(default=None, description=(
        "the payment provider's card or account fingerprint (kept hashed): referral safeguards"))
    device_id: Fingerprint | None = Field(default=None, description="the device the order came from (kept hashed)")


class QuoteRequest(PurchaseRequest):
    """A purchase body, quoted before it is paid: `order_id` may not be known yet (then no order is checked)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"total": {"amount": "120.00", "currency": "USD"}, "channel": "online",
         "items": [{"sku": "latte", "quantity": 2, "unit_price": {"amount": "4.50", "currency": "USD"}}]}]})
    order_id: OrderId | None = None  # type: ignore[assignment]


class AdjustmentRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"points": 250, "reason": "Late delivery"}]})
    points: Annotated[StrictInt, Field(ge=-1_000_000_000, le=1_000_000_000, json_schema_extra={"not": {"const": 0}},
                                       description="points to add (positive) or take away (negative), not 0")]
    reason: Text500

    @model_validator(mode="after")
    def _not_zero(self) -> AdjustmentRequest:
        if self.points == 0:
            raise ValueError("points must not be zero")
        return self


class ReturnRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"order_id": "1001", "refund": {"amount": "30.00", "currency": "USD"}, "reason": "damaged"}]})
    order_id: OrderId
    refund: PositiveMoney
    items: Annotated[list[LineItem], Field(max_length=MAX_LINES)] | None = None
    reason: Text200 | None = None
