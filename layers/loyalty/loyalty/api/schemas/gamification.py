"""Shapes of gamification's answers: badges, challenges, a member's progress and badges."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from loyalty.api.schemas.common import Out
from loyalty.domain.gamification import Badge, Challenge
from loyalty.domain.leaderboards import Leaderboard


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


class NextStreakRewardOut(Out):
    length: int
    points: int
    badge_id: str | None = None


class MemberStreakOut(Out):
    streak_id: str
    name: str
    period: Literal["day", "week", "month"]
    current: int = Field(description="periods counted in the run ending with the current or the last period "
                                     "(0 once more than the grace periods were missed)")
    best: int
    last_period_start: str | None = Field(default=None, description="the last period counted (a date)")
    next_reward: NextStreakRewardOut | None = None


class MemberStreaksOut(Out):
    items: list[MemberStreakOut]


class LeaderboardPage(Out):
    items: list[Leaderboard]
    next_cursor: str | None = None


class BoardPeriodOut(Out):
    from_: str = Field(alias="from")
    to: str


class BoardEntryOut(Out):
    rank: int = Field(description="ties share a rank")
    display_name: str
    value: int


class BoardStandingOut(Out):
    rank: int
    value: int
    rank_is_estimate: bool = Field(description="true when the rank is estimated from the stream's histogram of "
                                               "the ranked members' values (beyond its top lists, for values of "
                                               "1,000 and more)")


class BoardOut(Out):
    leaderboard_id: str
    name: str
    metric: str
    period: BoardPeriodOut
    entries: list[BoardEntryOut]
    members_ranked: int = Field(description="members with a value in the period who allow leaderboards")
    me: BoardStandingOut | None = Field(description="the caller's own standing (null: not a member, or "
                                                    "consents.leaderboard is false)")


class BadgeAwardedOut(Out):
    member_id: str
    badge_id: str
    name: str
    reason: str
    awarded_at: str
