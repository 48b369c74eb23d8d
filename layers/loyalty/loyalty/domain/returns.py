"""Returns: what a refund claws back from the order's points."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from loyalty.domain.errors import BusinessRuleViolation


@dataclass(frozen=True)
class ClawBack:
    points: int
    qualifying: int
    refunded_total: Decimal
    completes_order: bool


def claw_back(*, order_total: Decimal, already_refunded: Decimal, refund: Decimal, order_points: int,
              points_returned: int, order_qualifying: int, qualifying_returned: int) -> ClawBack:
    """Points back in proportion to the refund: floor(order points x refund / order total), the last
    return of an order taking the exact remainder. Refunds may not add up to more than was paid."""
    refunded_total = already_refunded + refund
    if refunded_total > order_total:
        raise BusinessRuleViolation(
            f"refunds would total {refunded_total} but the order was {order_total}",
            code="refund_exceeds_order",
        )
    completes = refunded_total == order_total
    if completes:
        points = order_points - points_returned
        qualifying = order_qualifying - qualifying_returned
    else:
        points = int((Decimal(order_points) * refund / order_total).to_integral_value(ROUND_FLOOR))
        qualifying = int((Decimal(order_qualifying) * refund / order_total).to_integral_value(ROUND_FLOOR))
        points = min(points, order_points - points_returned)
        qualifying = min(qualifying, order_qualifying - qualifying_returned)
    return ClawBack(points=max(points, 0), qualifying=max(qualifying, 0), refunded_total=refunded_total,
                    completes_order=completes)
