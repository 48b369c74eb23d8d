"""Request bodies of members: enrollment, profile, invitations, blocks, referral decisions."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StrictBool, StrictInt, StringConstraints, model_validator

from loyalty.domain.fields import (
    Birthday,
    Body,
    Email,
    Fingerprint,
    Identifier,
    Locale,
    Phone,
    PreferenceKey,
    PreferenceValue,
    Text200,
    Text500,
)

Nickname = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f]+$")]


class EnrollRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"email": "alice@example.com", "name": "Alice", "birthday": "1990-05-01", "preferences": {"drink": "tea"}}]})
    email: Email
    name: Text200
    birthday: Birthday | None = None
    phone: Phone | None = None
    locale: Locale | None = None
    nickname: Nickname | None = Field(default=None, description="shown on leaderboards")
    preferences: Annotated[dict[PreferenceKey, PreferenceValue], Field(max_length=50)] | None = None
    consents: Annotated[dict[PreferenceKey, StrictBool], Field(max_length=50)] | None = None
    referral_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{4,16}$")] | None = None
    member_id: Identifier | None = Field(default=None, description="admins only: enroll someone else")
    device_id: Fingerprint | None = Field(default=None, description=(
        "the app's device id (kept hashed): a referral from a device its referrer used earns nothing"))


class ProfilePatch(Body):
    """Only the fields present change; null clears an optional field."""

    email: Email | None = None
    name: Text200 | None = None
    birthday: Birthday | None = None
    phone: Phone | None = None
    locale: Locale | None = None
    nickname: Nickname | None = None
    preferences: Annotated[dict[PreferenceKey, PreferenceValue], Field(max_length=50)] | None = None
    consents: Annotated[dict[PreferenceKey, StrictBool], Field(max_length=50)] | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> ProfilePatch:
        for name in ("email", "name"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be cleared")
        return self


class InviteRequest(Body):
    channel: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")] | None = None
    count: Annotated[StrictInt, Field(ge=1, le=50)] = 1


class BlockRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "chargeback fraud"}]})
    reason: Text500


class ReferralDecisionRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "checked: a flatmate"}]})
    reason: Text500


class UnblockRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})
