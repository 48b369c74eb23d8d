"""Request bodies of the program's history and what-if replays."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictInt, model_validator

from loyalty.domain.fields import Body, Day


class RollbackRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"version": 3}]})
    version: Annotated[StrictInt, Field(ge=1, le=10**8)]


class WhatIfRequest(Body):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, json_schema_extra={"examples": [
        {"config": {"name": "Demo", "currency": "USD", "earn_rates": {"online": 12}}, "from": "2026-01-01",
         "to": "2026-06-30"}]})
    config: dict[str, Any] = Field(description="a whole program config, as PUT /admin/program takes it")
    from_day: Day = Field(alias="from", description="first day of the period replayed (program time zone)")
    to_day: Day = Field(alias="to", description="last day of the period")

    @model_validator(mode="after")
    def _ordered(self) -> WhatIfRequest:
        if self.to_day < self.from_day:
            raise ValueError("to is on or after from")
        if (self.to_day - self.from_day).days > 3 * 366:
            raise ValueError("a period covers at most three years")
        return self
