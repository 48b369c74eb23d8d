"""Request bodies and file rows of bulk imports."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictInt

from loyalty.domain.fields import (
    Birthday,
    Body,
    Email,
    Identifier,
    Locale,
    Moment,
    OrderId,
    Phone,
    Points,
    PreferenceKey,
    PreferenceValue,
    Text64,
    Text200,
)
from loyalty.inputs.common import PositiveMoney


class ImportRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"kind": "members", "format": "jsonl"}]})
    kind: Literal["members", "transactions"]
    format: Literal["jsonl", "csv"] = "jsonl"


class ImportLot(Body):
    points: Points
    expires_at: Moment | None = Field(default=None, description="absent: the points never expire")


class ImportMemberRow(Body):
    """One member of a members import (a JSONL line, or a CSV row flattened the same way)."""

    member_id: Identifier
    email: Email
    name: Text200
    enrolled_at: Moment
    tier: Text64 | None = Field(default=None, description="absent: the program's first tier")
    tier_since: Moment | None = Field(default=None, description="absent: enrolled_at")
    lots: Annotated[list[ImportLot], Field(max_length=200)] | None = None
    lifetime_earned: Annotated[StrictInt, Field(ge=0, le=10**12)] | None = Field(
        default=None, description="absent: the points of the lots")
    birthday: Birthday | None = None
    phone: Phone | None = None
    locale: Locale | None = None
    preferences: Annotated[dict[PreferenceKey, PreferenceValue], Field(max_length=50)] | None = None
    consents: Annotated[dict[PreferenceKey, StrictBool], Field(max_length=50)] | None = None


class ImportTransactionRow(Body):
    """One historical purchase of a transactions import."""

    member_id: Identifier
    order_id: OrderId
    occurred_at: Moment
    total: PositiveMoney
    channel: Literal["online", "store", "app"]
