"""Cap periods in the program's time zone: which period a local day falls in."""

from __future__ import annotations

from datetime import date


def period_key(per: str, day: date) -> str:
    """A stable name for the period containing `day`: equal keys mean the same cap window."""
    if per == "day":
        return day.isoformat()
    if per == "week":
        iso = day.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if per == "month":
        return f"{day.year}-{day.month:02d}"
    if per == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if per == "year":
        return f"{day.year}"
    if per == "lifetime":
        return "lifetime"
    raise ValueError(f"unknown period {per}")
