"""Request bodies of redemptions, holds, captures, releases, cancellations and transfers."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StrictInt, model_validator

from loyalty.domain.fields import Body, Identifier, OrderId, Points, Text200, Text500


class RedemptionRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reward_id": "free-coffee"}, {"points": 100, "description": "Paid with points at the till"}],
        # Either a reward, or points with a description (null is the same as absent).
        "if": {"properties": {"points": {"type": "integer"}}, "required": ["points"]},
        "then": {"required": ["description"], "properties": {"description": {"type": "string"},
                                                            "reward_id": {"type": "null"}}},
        "else": {"required": ["reward_id"], "properties": {"reward_id": {"type": "string"}}}})
    reward_id: Identifier | None = None
    points: Points | None = None
    description: Text200 | None = None

    @model_validator(mode="after")
    def _one_way(self) -> RedemptionRequest:
        if (self.reward_id is None) == (self.points is None):
            raise ValueError("give either reward_id or points (with a description), not both")
        if self.points is not None and self.description is None:
            raise ValueError("a redemption by points needs a description")
        return self


class HoldRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"points": 500, "order_id": "basket-1001", "description": "Part payment at checkout"}]})
    points: Points
    order_id: OrderId | None = None
    description: Text200 | None = None
    expires_in_seconds: Annotated[StrictInt, Field(ge=60, le=86400, description=(
        "how long the hold lasts unless captured or released; then its points come back by themselves"))] = 900


class CaptureRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}, {"points": 300}]})
    points: Annotated[Points | None, Field(description="what to spend (default: everything held); the rest "
                                                       "goes back to the member")] = None


class ReleaseRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})


class CancelRedemptionRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "order refunded"}]})
    reason: Text500


class TransferRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"to_member_id": "member-42", "points": 500, "message": "Happy birthday!"}]})
    to_member_id: Identifier
    points: Points
    message: Text200 | None = None
