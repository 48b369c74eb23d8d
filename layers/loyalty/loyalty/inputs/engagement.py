"""Request bodies of engagement: actions, feedback, memberships, donations, visits."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictInt, StringConstraints

from loyalty.domain.fields import Body, Identifier, Points, PreferenceKey, Slug, Text200, Text500, Text1000


class ActionRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"action": "social_share", "reference": "post-123"}]})
    action: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    reference: Text200 | None = Field(default=None, description="e.g. the review or post id")
    details: Annotated[dict[PreferenceKey, Text500 | StrictInt | StrictBool], Field(max_length=20)] | None = None


class FeedbackRequest(Body):
    score: Annotated[StrictInt, Field(ge=0, le=10, description="How likely to recommend us, 0-10")]
    comment: Text1000 | None = None


class MembershipRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"plan_id": "prime", "payment_reference": "pi_3NfZ2", "action": "subscribe"}]})

    plan_id: Slug
    payment_reference: Annotated[str, StringConstraints(pattern=r"^[!-~]{1,128}$")]
    action: Literal["subscribe", "renew", "cancel"] = "subscribe"


class DonationRequest(Body):
    cause_id: Slug
    points: Points


class VisitRequest(Body):
    store_id: Identifier | None = None
