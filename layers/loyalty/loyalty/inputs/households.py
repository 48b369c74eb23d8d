"""Request bodies of households: create one, join one with an invitation's code."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, StringConstraints

from loyalty.domain.fields import Body, Text100


class HouseholdRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "The Garcias"}]})
    name: Text100


class InvitationRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})


class JoinRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"code": "7KQ2MX9PRT4H"}]})
    code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{4,64}$")]
