"""The demo program `make run` seeds: the example config of the API contract, and a small catalog."""

from __future__ import annotations

from typing import Any

DEMO_PROGRAM: dict[str, Any] = {
    "name": "Demo Rewards",
    "currency": "USD",
    "timezone": "America/New_York",
    "earn_rates": {"online": 10, "store": 5, "app": 10, "partner": 5},
    "exchange_rates": {"EUR": "1.08"},
    "point_value": {"amount": "0.01", "currency": "USD"},
    "rounding": "floor",
    "pending_days": 0,
    "expiry": {"policy": "rolling", "days": 365},
    "tiers": [
        {"name": "Bronze", "threshold": 0, "multiplier": "1.0", "benefits": ["birthday_gift"]},
        {"name": "Silver", "threshold": 1000, "multiplier": "1.25", "benefits": ["free_shipping"]},
        {"name": "Gold", "threshold": 5000, "multiplier": "1.5", "benefits": ["early_access"]},
        {"name": "Platinum", "threshold": 15000, "multiplier": "2.0", "benefits": ["events"]},
    ],
    "tier_window_days": 365,
    "tier_retention_days": 365,
    "actions": {
        "social_share": {"points": 50, "limit": {"count": 1, "per": "day"}},
        "review": {"points": 100, "limit": {"count": 5, "per": "month"}},
        "profile_completed": {"points": 200, "limit": {"count": 1, "per": "lifetime"}},
        "survey": {"points": 100, "limit": {"count": 1, "per": "quarter"}},
        "referral_signup": {"points": 500, "limit": {"count": 20, "per": "year"}},
        "birthday": {"points": 500, "limit": {"count": 1, "per": "year"}},
    },
    "bonus_events": [
        {"name": "Double points weekend", "starts_at": "2026-11-27T05:00:00Z", "ends_at": "2026-11-30T05:00:00Z",
         "multiplier": "2.0", "channels": ["online"]},
    ],
    "return_policy": "allow_negative",
}

DEMO_REWARDS: list[dict[str, Any]] = [
    {"reward_id": "free-coffee", "name": "Free coffee", "description": "Any size", "points": 40,
     "tags": ["coffee"]},
    {"reward_id": "free-tea", "name": "Free tea", "description": "Any blend", "points": 40, "tags": ["tea"]},
    {"reward_id": "five-off", "name": "$5 off", "description": "On any order", "points": 500},
    {"reward_id": "gold-lounge", "name": "Lounge access", "description": "Gold members and above",
     "points": 2000, "min_tier": "Gold"},
    {"reward_id": "tote-bag", "name": "Limited tote bag", "description": "While stock lasts", "points": 800,
     "stock": 10, "per_member_limit": 1},
]
