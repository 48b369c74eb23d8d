"""Request bodies of gamification beyond the definitions themselves (domain.gamification)."""

from __future__ import annotations

from pydantic import ConfigDict

from loyalty.domain.campaigns import CampaignId
from loyalty.domain.fields import Body, Text500


class BadgeAwardRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"badge_id": "founding-reviewer", "reason": "wrote our first hundred reviews"}]})
    badge_id: CampaignId
    reason: Text500
