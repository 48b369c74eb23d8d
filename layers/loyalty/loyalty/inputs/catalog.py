"""Request bodies of the catalog: rewards and code batches."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, StringConstraints, model_validator

from loyalty.domain.fields import MAX_BUDGET_POINTS, Body, Identifier, Moment, Slug, Text100, Text1000


class RewardRequest(Body):
    reward_id: Identifier | None = None
    name: Text100
    description: Text1000 | None = None
    points: Annotated[StrictInt, Field(ge=0, le=1_000_000_000)]
    tags: Annotated[list[Text100], Field(max_length=20)] = Field(default_factory=list)
    min_tier: Text100 | None = None
    stock: Annotated[StrictInt, Field(ge=0, le=1_000_000_000)] | None = None
    per_member_limit: Annotated[StrictInt, Field(ge=1, le=1_000_000)] | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    partner_id: Identifier | None = None
    active: StrictBool = True
    membership_plans: Annotated[list[Slug], Field(max_length=20)] | None = Field(
        default=None, description="member-only: visible and redeemable only with one of these paid plans")

    @model_validator(mode="after")
    def _window(self) -> RewardRequest:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class CodeBatchRequest(Body):
    name: Text100
    points: Annotated[StrictInt, Field(ge=1, le=1_000_000)]
    count: Annotated[StrictInt, Field(ge=1, le=10_000)]
    prefix: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,8}$")] | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    max_per_member: Annotated[StrictInt, Field(ge=1, le=1_000_000)] | None = None

    @model_validator(mode="after")
    def _window(self) -> CodeBatchRequest:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.points * self.count > MAX_BUDGET_POINTS:
            raise ValueError(f"points x count is the batch's budget: at most {MAX_BUDGET_POINTS:,} points")
        return self
