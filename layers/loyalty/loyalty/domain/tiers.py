"""The tier ladder: qualifying points over a rolling window, upgrades at once, downgrades after retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from loyalty.domain.program import ProgramConfig, Tier


def window_start(today: date, window_days: int) -> date:
    """First day inside a rolling window of `window_days` days ending today (inclusive)."""
    return today - timedelta(days=window_days - 1)


def qualifying_points(buckets: dict[str, int], today: date, window_days: int) -> int:
    """Sum of the per-day qualifying buckets inside the window. Buckets are keyed by ISO local day."""
    first = window_start(today, window_days).isoformat()
    last = today.isoformat()
    return sum(points for day, points in buckets.items() if first <= day <= last)


def prune_buckets(buckets: dict[str, int], today: date, window_days: int) -> dict[str, int]:
    """Drop the days that fell out of the window (and empty days) so the member item stays small."""
    first = window_start(today, window_days).isoformat()
    return {day: points for day, points in buckets.items() if day >= first and points != 0}


def tier_for_points(config: ProgramConfig, qualifying: int) -> Tier:
    reached = config.tiers[0]
    for tier in config.tiers:
        if qualifying >= tier.threshold:
            reached = tier
    return reached


def rank(config: ProgramConfig, name: str) -> int:
    for index, tier in enumerate(config.tiers):
        if tier.name == name:
            return index
    return 0


@dataclass(frozen=True)
class NextTier:
    name: str
    points_needed: int


def next_tier(config: ProgramConfig, current: str, qualifying: int) -> NextTier | None:
    index = rank(config, current)
    if index + 1 >= len(config.tiers):
        return None
    target = config.tiers[index + 1]
    return NextTier(target.name, max(0, target.threshold - qualifying))


def upgrade(config: ProgramConfig, current: str, qualifying: int) -> str | None:
    """The new tier when `qualifying` reaches a higher threshold than the current tier, else None."""
    reached = tier_for_points(config, qualifying)
    return reached.name if rank(config, reached.name) > rank(config, current) else None


def downgrade(config: ProgramConfig, current: str, since: date, today: date, qualifying: int) -> str | None:
    """The lower tier a member falls to once `tier_retention_days` have passed since reaching the
    current tier and the window no longer qualifies for it; None when the member keeps the tier."""
    if today < since + timedelta(days=config.tier_retention_days):
        return None
    reached = tier_for_points(config, qualifying)
    return reached.name if rank(config, reached.name) < rank(config, current) else None


def review_day(config: ProgramConfig, current: str, since: date, today: date, buckets: dict[str, int]) -> date | None:
    """When the member's tier should next be reviewed: the end of its retention, or else the first day
    on which the window (without new points) would no longer qualify for it. None for the lowest tier."""
    if rank(config, current) == 0:
        return None
    retention_ends = since + timedelta(days=config.tier_retention_days)
    if today < retention_ends:
        return retention_ends
    threshold = config.tier_named(current).threshold
    for offset in range(1, config.tier_window_days + 1):
        day = today + timedelta(days=offset)
        if qualifying_points(buckets, day, config.tier_window_days) < threshold:
            return day
    return today + timedelta(days=config.tier_window_days)


def points_to_keep(config: ProgramConfig, current: str, review: date, buckets: dict[str, int]) -> int:
    """More qualifying points the member needs by its `review` day to keep `current` (0: it keeps it as is).
    Points earned from now on are inside the window on that day, so each one counts."""
    threshold = config.tier_named(current).threshold
    return max(0, threshold - qualifying_points(buckets, review, config.tier_window_days))
