"""Shapes of gamification's answers: badges, challenges, a member's progress and badges."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from loyalty.api.schemas.common import Out
from loyalty.domain.gamification import Badge, Challenge


class BadgePage(Out):
    items: list[Badge]
    next_cursor: str | None = None


class ChallengePage(Out):
    items: list[Challenge]
    next_cursor: str | None = None


class MemberChallengeOut(Out):
    challenge_id: str
    name: str
    description: str | None = None
    starts_at: str
    ends_at: str
    target: int | str = Field(description="an integer, or a decimal string in the program currency for an "
                                          "amount goal")
    progress: int | str
    status: Literal["in_progress", "completed"]
    completed_at: str | None = Field(default=None, description="the last completion")
    times_completed: int
    repeatable: bool = False


class MemberChallengePage(Out):
    items: list[MemberChallengeOut]
    next_cursor: str | None = None


class MemberBadgeOut(Out):
    badge_id: str
    name: str
    earned_at: str = Field(description="the first time the member earned it")
    last_earned_at: str
    times: int


class MemberBadgesOut(Out):
    items: list[MemberBadgeOut]


class BadgeAwardedOut(Out):
    member_id: str
    badge_id: str
    name: str
    reason: str
    awarded_at: str
