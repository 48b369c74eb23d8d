"""A holder of points and the rules that change it: the domain's member.

`Member` is a plain holder of points (balances, a wallet of lots with their expiry, pending lots, open holds,
qualifying days, tier, caps and reminders, with its profile), a member's or a household's pool, as the store
maps it from its item; `PointsHolder` is the shape the rules change. A `MemberChange` accumulates the ledger
entries (`Entry`) one request (or one scheduled visit) writes for one holder; the store then commits them
with the holder in one transaction. `finish` writes the wallet back, upgrades the tier when a threshold is
reached, and schedules the holder's next due day. Nothing here reads or writes storage.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from loyalty.domain import tiers
from loyalty.domain.actions import count_action
from loyalty.domain.balances import lapsed_holds
from loyalty.domain.clock import end_of_local_day, iso_utc, local_day, start_of_local_day
from loyalty.domain.entries import EntryType
from loyalty.domain.errors import Conflict, LimitReached, ValidationFailed
from loyalty.domain.holders import ClosedHold, Entry, Member, PointsHolder, SpentEntry
from loyalty.domain.ids import new_ulid
from loyalty.domain.lots import NEVER, Wallet, lot_expiry, split_lots
from loyalty.domain.program import ProgramConfig
from loyalty.domain.schedule import (
    birthday_due,
    expiry_reminder_anchor,
    inactivity_lapse,
    next_due,
    reminders_due,
)

# The holder and its records live in domain.holders; the rules' users import them from here too.
__all__ = ["ClosedHold", "Entry", "Member", "MemberChange", "PointsHolder", "SpentEntry", "award_action",
           "expires_at", "pending_release_day", "referral_release_day"]


def expires_at(config: ProgramConfig, last_valid_day: str | None) -> str | None:
    """The moment a lot expires: the end of its last valid day in the program's time zone (None: never)."""
    if not last_valid_day or last_valid_day == NEVER:
        return None
    return iso_utc(end_of_local_day(date.fromisoformat(last_valid_day), config.zone))


# Open holds a member may have at once: they live on the member item, which must stay small.
MAX_OPEN_HOLDS = 20
# Referees whose held rewards one maintenance visit releases: each adds its referral's record (and a release
# entry or two) to the visit's transaction, which takes at most 100 items.
MAX_REFERRALS_RELEASED = 25


class MemberChange:
    def __init__(self, member: PointsHolder, config: ProgramConfig, now: datetime) -> None:
        self.member = member
        self.config = config
        self.now = now
        self.today = local_day(now, config.zone)
        self.wallet = Wallet(dict(member.lots or {}), int(member.debt or 0))
        self.entries: list[Entry] = []
        self.previous_activity_day = member.last_activity_day
        self.released_referrals: list[str] = []
        # tier_basis household: the tier of the member's household pool, which the member's tier follows.
        self.followed_tier: str | None = None

    # --- entries ----------------------------------------------------------------------------------

    def _entry(self, entry_type: EntryType, points: int, occurred_at: datetime, **attributes: Any) -> Entry:
        entry_id = new_ulid()
        day = local_day(occurred_at, self.config.zone)
        issuing = points > 0 and (EntryType(entry_type).issues_points or entry_type == EntryType.IMPORT)
        entry = Entry(
            entry_id=entry_id, member_id=self.member.member_id, type=entry_type, points=points,
            occurred_at=iso_utc(occurred_at), recorded_at=iso_utc(self.now), day=day.isoformat(),
            recorded_day=self.today.isoformat(),
            balance_after=self.wallet.available, previous_activity_day=self.previous_activity_day,
            ssp=str(self.config.ssp_per_point) if issuing else None,
            **attributes,
        )
        if EntryType(entry_type).is_activity:
            self._touch(day)
        self.entries.append(entry)
        return entry

    def _touch(self, day: date) -> None:
        current = self.member.last_activity_day
        if current is None or day.isoformat() > current:
            self.member.last_activity_day = day.isoformat()

    def _qualify(self, earned_on: date, qualifying: int) -> None:
        if qualifying:
            days = dict(self.member.qualifying_days or {})
            days[earned_on.isoformat()] = days.get(earned_on.isoformat(), 0) + qualifying
            self.member.qualifying_days = tiers.prune_buckets(days, self.today, self.config.tier_window_days)

    def earn(self, entry_type: EntryType, points: int, *, qualifying: int, occurred_at: datetime,
             source: dict[str, Any], breakdown: list[dict[str, Any]] | None = None,
             pending_until: date | None = None, earned_on: date | None = None, **attributes: Any) -> Entry:
        """Credit points now, or (with `pending_until`) hold them as pending until that day. The lot's
        expiry and the qualifying day follow `earned_on` (default: the day of `occurred_at`). A held
        referral reward's pending lot names its referee (`source.referred_member_id`)."""
        earned_on = earned_on or local_day(occurred_at, self.config.zone)
        if pending_until is not None:
            lots = list(self.member.pending_lots or [])
            household_id = (self.member.household or {}).get("household_id")
            lots.append({"release": pending_until.isoformat(), "order_id": source.get("order_id"), "points": points,
                         "qualifying": qualifying, "earned": earned_on.isoformat(),
                         **({"referral": source["referred_member_id"]} if source.get("referred_member_id") else {}),
                         # Earned in a household: released into its pool (if the member is still in it).
                         **({"household": household_id} if household_id else {})})
            self.member.pending_lots = lots
            self.member.pending = int(self.member.pending or 0) + points
            return self._entry(entry_type, points, occurred_at, source=source, breakdown=breakdown or [],
                               qualifying=0, status="pending", lots={},
                               details={**(attributes.pop("details", None) or {}),
                                        "release_on": pending_until.isoformat()}, **attributes)
        lot = lot_expiry(self.config.expiry, earned_on)
        credited = self.wallet.add(lot, points)
        self.member.lifetime_earned = int(self.member.lifetime_earned or 0) + points
        self._qualify(earned_on, qualifying)
        return self._entry(
            entry_type, points, occurred_at, source=source, breakdown=breakdown or [], qualifying=qualifying,
            qualifying_day=earned_on.isoformat() if qualifying else None,
            lots={lot: credited} if credited else {}, expires_at=expires_at(self.config, lot), **attributes,
        )

    def open_balance(self, lots: dict[str, int], *, lifetime_earned: int, source: dict[str, Any]) -> Entry:
        """A migrated member's opening balance: its lots as they were (their own expiry days), and what it
        earned before (neither issued by this program nor qualifying here)."""
        for lot, points in lots.items():
            self.wallet.add(lot, points)
        self.member.lifetime_earned = lifetime_earned
        return self._entry(EntryType.IMPORT, sum(lots.values()), self.now, source=source, lots=dict(lots),
                           details={"lifetime_earned": lifetime_earned})

    def spend(self, entry_type: EntryType, points: int, *, source: dict[str, Any], **attributes: Any) -> Entry:
        drawn = self.wallet.draw(points)
        return self._entry(entry_type, -points, self.now, source=source, lots=dict(drawn), **attributes)

    def claw_back(self, points: int, *, qualifying: int, earned_on: date, lot: str | None, source: dict[str, Any],
                  **attributes: Any) -> Entry:
        """A return: points back from the order's lot first (debt or uncollected per return_policy)."""
        drawn, uncollected = self.wallet.claw_back(points, lot, self.config.return_policy == "allow_negative")
        if qualifying:
            days = dict(self.member.qualifying_days or {})
            key = earned_on.isoformat()
            if key in days:
                days[key] = days[key] - qualifying
            self.member.qualifying_days = tiers.prune_buckets(days, self.today, self.config.tier_window_days)
        details = {**(attributes.pop("details", None) or {}), "uncollected_points": uncollected}
        return self._entry(EntryType.RETURN, -(points - uncollected), self.now, source=source, lots=dict(drawn),
                           qualifying=-qualifying, qualifying_day=earned_on.isoformat() if qualifying else None,
                           details=details, **attributes)

    def cancel_pending(self, order_id: str, points: int, *, source: dict[str, Any], **attributes: Any) -> Entry:
        """A return inside the pending window: the order's pending points shrink (none were spendable)."""
        remaining = points
        kept = []
        for pending in self.member.pending_lots or []:
            if pending.get("order_id") == order_id and remaining:
                taken = min(remaining, int(pending["points"]))
                pending = {**pending, "points": int(pending["points"]) - taken,
                           "qualifying": max(0, int(pending["qualifying"]) - taken)}
                remaining -= taken
                self.member.pending = int(self.member.pending or 0) - taken
            if int(pending["points"]) > 0:
                kept.append(pending)
        self.member.pending_lots = kept
        return self._entry(EntryType.RETURN, -(points - remaining), self.now, source=source, status="pending", lots={},
                           **attributes)

    def cancel_referral(self, referee_id: str, *, source: dict[str, Any]) -> Entry | None:
        """The referral rewards still held for `referee_id` cancelled (its first order was fully returned):
        one pending referral_reversal entry, or None when nothing is held any more."""
        lots = list(self.member.pending_lots or [])
        held = [lot for lot in lots if lot.get("referral") == referee_id]
        if not held:
            return None
        cancelled = sum(int(lot["points"]) for lot in held)
        self.member.pending_lots = [lot for lot in lots if lot.get("referral") != referee_id]
        self.member.pending = int(self.member.pending or 0) - cancelled
        return self._entry(EntryType.REFERRAL_REVERSAL, -cancelled, self.now, source=source, status="pending",
                           lots={}, details={"reason": "first_order_returned"})

    def action(self, action: str, *, occurred_at: datetime, source: dict[str, Any],
               details: dict[str, Any] | None = None, entry_type: EntryType = EntryType.ACTION,
               pending_until: date | None = None) -> Entry:
        rule = self.config.actions.get(action)
        if rule is None:
            raise ValidationFailed(f"unknown action {action}",
                                   errors=[{"field": "action", "message": "not an action of this program"}])
        self.member.action_counts = count_action(rule, action, dict(self.member.action_counts or {}),
                                                 local_day(occurred_at, self.config.zone))
        return self.earn(
            entry_type, rule.points, qualifying=rule.points if rule.qualifying else 0, occurred_at=occurred_at,
            source={"action": action, **source},
            breakdown=[{"rule": f"action:{action}", "points": rule.points, "detail": action}],
            details=details, pending_until=pending_until,
        )

    def note(self, entry_type: EntryType, *, details: dict[str, Any],
             source: dict[str, Any] | None = None) -> Entry:
        """A 0-point ledger fact (feedback, a visit, a membership change) that metrics and events count."""
        return self._entry(entry_type, 0, self.now, source=source or {}, details=details)

    # --- holds, cancellations, transfers --------------------------------------------------------------

    def open_holds(self) -> dict[str, dict[str, Any]]:
        return dict(self.member.holds or {})

    def fold_expired_holds(self) -> list[ClosedHold]:
        """Holds past their `expires_at` give their points back into their lots, before anything else the
        change does. Returns the hold items to close (status expired), for the same transaction."""
        holds = self.open_holds()
        closed = []
        for hold_id, hold in sorted(lapsed_holds(self.member, self.now).items()):
            self.wallet.restore(hold["lots"])
            del holds[hold_id]
            closed.append(self._closed_hold(hold_id, "expired"))
        if closed:
            self.member.holds = holds
        return closed

    def hold(self, points: int, *, hold_id: str, expires_at: str) -> dict[str, int]:
        """Set points aside for a checkout (soonest-expiring lots first): out of `available` at once."""
        holds = self.open_holds()
        if len(holds) >= MAX_OPEN_HOLDS:
            raise Conflict(f"the member already has {MAX_OPEN_HOLDS} open holds; capture or release one first",
                           code="too_many_holds")
        lots = self.wallet.hold(points)
        holds[hold_id] = {"points": points, "expires_at": expires_at, "lots": lots}
        self.member.holds = holds
        return lots

    def capture(self, hold_id: str, points: int, *, redemption: dict[str, Any], description: str | None,
                source: dict[str, Any] | None = None) -> tuple[Entry, ClosedHold]:
        """Spend `points` of an open hold (one redeem entry, soonest-expiring held lots first); the rest goes
        back into its lots."""
        holds = self.open_holds()
        hold = holds.pop(hold_id)
        taken, rest = split_lots({day: int(amount) for day, amount in hold["lots"].items()}, points)
        self.wallet.restore(rest)
        self.member.holds = holds
        entry = self._entry(EntryType.REDEEM, -points, self.now, source={"hold_id": hold_id, **(source or {})},
                            lots=taken,
                            description=description, redemption=redemption)
        closed = self._closed_hold(hold_id, "captured", closed_id=entry.entry_id)
        closed.captured_points = points
        closed.redemption_id = entry.entry_id
        return entry, closed

    def release(self, hold_id: str) -> ClosedHold:
        holds = self.open_holds()
        hold = holds.pop(hold_id)
        self.wallet.restore(hold["lots"])
        self.member.holds = holds
        return self._closed_hold(hold_id, "released")

    def _closed_hold(self, hold_id: str, status: str, closed_id: str | None = None) -> ClosedHold:
        return ClosedHold(hold_id=hold_id, member_id=self.member.member_id, status=status, captured_points=0,
                          closed_id=closed_id or new_ulid(), closed_at=iso_utc(self.now),
                          balance_after=self.wallet.available)

    def give_back(self, redemption: SpentEntry, *, reason: str) -> Entry:
        """A cancelled redemption: its points back into the lots they came from, except lots already past
        their last valid day (those points stay expired; the entry says how many)."""
        lots = {day: int(amount) for day, amount in (redemption.lots or {}).items()}
        before = self.wallet.available
        returned, not_returned = self.wallet.give_back(lots, self.today)
        points = self.wallet.available - before
        source = {"redemption_id": redemption.entry_id, **({"reward_id": (redemption.redemption or {}).get(
            "reward_id")} if (redemption.redemption or {}).get("reward_id") else {})}
        return self._entry(EntryType.REDEEM_REVERSAL, points, self.now, source=source, lots=returned, reason=reason,
                           details={"points_not_returned": not_returned, "redeemed_points": -int(redemption.points)})

    def transfer_out(self, points: int, *, to_member_id: str, transfer_id: str,
                     message: str | None) -> Entry:
        drawn = self.wallet.draw(points)
        return self._entry(EntryType.TRANSFER_OUT, -points, self.now,
                           source={"to_member_id": to_member_id, "transfer_id": transfer_id}, lots=dict(drawn),
                           description=message)

    def transfer_in(self, points: int, *, from_member_id: str, transfer_id: str,
                    message: str | None) -> Entry:
        """Received points: a lot expiring by the program's policy counted from today; neither earned
        (lifetime) nor qualifying."""
        lot = lot_expiry(self.config.expiry, self.today)
        credited = self.wallet.add(lot, points)
        return self._entry(EntryType.TRANSFER_IN, points, self.now,
                           source={"from_member_id": from_member_id, "transfer_id": transfer_id},
                           lots={lot: credited} if credited else {}, expires_at=expires_at(self.config, lot),
                           description=message)

    # --- households -----------------------------------------------------------------------------------

    def pool_out(self, earned: Entry) -> int:
        """What `earned` just credited, out of this member's lots again (it goes on to the household's pool,
        recorded on `earned` itself: no entry of its own). Returns the points moved."""
        lots = dict(earned.lots or {})
        self.wallet.remove(lots)
        return sum(lots.values())

    def pool_in(self, earned: Entry) -> int:
        """A household member's earn, into this pool: the same lots (their expiry) and qualifying points, and
        the pool's own activity for the inactivity policy (the member's earn was the program's activity).
        Returns the pool's balance after it."""
        self.wallet.restore(dict(earned.lots or {}))
        if earned.qualifying_day and int(earned.qualifying):
            self._qualify(date.fromisoformat(earned.qualifying_day), int(earned.qualifying))
        self._touch(date.fromisoformat(earned.day))
        return self.wallet.available

    def household_return(self, points: int, *, qualifying: int, earned_on: date, lot: str | None,
                         source: dict[str, Any]) -> Entry:
        """A return of an order whose points went to this pool: they go back to the member, who returns
        them (from the order's lot first; what the pool no longer has is the member's to cover)."""
        drawn, _uncollected = self.wallet.claw_back(points, lot, False)
        if qualifying:
            days = dict(self.member.qualifying_days or {})
            if earned_on.isoformat() in days:
                days[earned_on.isoformat()] -= qualifying
            self.member.qualifying_days = tiers.prune_buckets(days, self.today, self.config.tier_window_days)
        return self._entry(EntryType.HOUSEHOLD_OUT, -sum(amount for _, amount in drawn), self.now,
                           lots=dict(drawn), source=source, qualifying=-qualifying,
                           qualifying_day=earned_on.isoformat() if qualifying else None)

    def household_returned(self, lots: dict[str, int], *, source: dict[str, Any]) -> Entry:
        """The pool's points of a returned order, back to the member for its return entry."""
        self.wallet.restore(lots)
        return self._entry(EntryType.HOUSEHOLD_IN, sum(lots.values()), self.now, lots=dict(lots), source=source)

    # --- scheduled work -------------------------------------------------------------------------------

    def release_due(self) -> list[Entry]:
        """Pending points whose day has come become available (and qualifying). Held referral rewards of at
        most MAX_REFERRALS_RELEASED referees a visit (each referral's record changes in the same transaction);
        the others wait for the next visit, which is due at once. `released_referrals` names the referees
        whose rewards are now all released."""
        released, waiting = [], []
        referees: set[str] = set()
        for pending in self.member.pending_lots or []:
            referee = pending.get("referral")
            due = pending["release"] <= self.today.isoformat()
            if due and referee and referee not in referees and len(referees) >= MAX_REFERRALS_RELEASED:
                due = False
            if due:
                released.append(pending)
                referees.update([referee] if referee else [])
            else:
                waiting.append(pending)
        self.member.pending_lots = waiting
        still_held = {pending.get("referral") for pending in waiting}
        self.released_referrals = sorted(referees - still_held)
        entries = []
        for pending in released:
            points = int(pending["points"])
            self.member.pending = int(self.member.pending or 0) - points
            source = ({"referred_member_id": pending["referral"]} if pending.get("referral")
                      else {"order_id": pending["order_id"]})
            if pending.get("household"):
                source["earned_in_household"] = pending["household"]
            entries.append(self.earn(
                EntryType.RELEASE, points, qualifying=int(pending["qualifying"]), occurred_at=self.now,
                earned_on=date.fromisoformat(pending["earned"]), source=source,
                details={"earned_on": pending["earned"]},
            ))
        return entries

    def expire_due(self) -> Entry | None:
        """Lots past their last valid day expire; with the inactivity policy, everything after a quiet spell."""
        lapse = inactivity_lapse(self.config, self.member.last_activity_day)
        if lapse is not None and lapse <= self.today:
            expired = self.wallet.expire_all()
            reason = "inactivity"
        else:
            expired = self.wallet.expire_through(self.today)
            reason = "lot_expired"
        total = sum(amount for _, amount in expired)
        if total <= 0:
            return None
        return self._entry(EntryType.EXPIRE, -total, self.now, source={}, lots=dict(expired),
                           details={"reason": reason})

    def notify_expiring(self) -> list[Entry]:
        """A 0-point expiry_notice entry (published as points.expiring) per lot and reminder day
        (`reminders.expiry_days`, else `expiry.notice_days` before it expires), each once: what was given is
        kept on the member. A member visited after several of a lot's reminder days gets one notice."""
        given = set(self.member.expiry_notified or [])
        notices = []
        for lot, amount in sorted(self.wallet.lots.items()):
            if lot == NEVER or amount <= 0:
                continue
            anchor, expires_on = expiry_reminder_anchor(lot)
            due = reminders_due(anchor, expires_on, self.config.expiry_reminder_days, self.today, given)
            if not due:
                continue
            given.update(due)
            if lot in given:  # told before reminders were kept per day (the bare lot): not again
                continue
            notices.append(self.note(EntryType.EXPIRY_NOTICE, details={
                "lot": lot, "points": amount, "expires_at": expires_at(self.config, lot),
                "days_left": (expires_on - self.today).days}))
        # Forget lots that are gone, so the list stays as small as the lots.
        self.member.expiry_notified = sorted(key for key in given if key.split("/")[0] in self.wallet.lots)
        return notices

    def remind_tier_review(self) -> Entry | None:
        """A 0-point tier_reminder entry (published as tier.at_risk) on each of `reminders.tier_review_days`
        before the tier's review while the member needs more points by then to keep it; once per review and
        reminder day (what was given is kept on the member, for the review it is about)."""
        review = self.member.tier_review_day
        if not review or not self.config.tier_reminder_days:
            self.member.tier_reminded = None
            return None
        given = {key for key in self.member.tier_reminded or [] if key.startswith(f"{review}/")}
        review_on = date.fromisoformat(review)
        due = reminders_due(review, review_on, self.config.tier_reminder_days, self.today, given)
        self.member.tier_reminded = sorted(given | set(due)) or None
        if not due or review_on <= self.today:
            return None
        keep = tiers.points_to_keep(self.config, self.member.tier, review_on, self.member.qualifying_days or {})
        if keep <= 0:
            return None
        return self.note(EntryType.TIER_REMINDER, details={
            "tier": self.member.tier, "review_at": iso_utc(start_of_local_day(review_on, self.config.zone)),
            "points_to_keep": keep, "days_left": (review_on - self.today).days})

    def birthday(self) -> Entry | None:
        birthday = date.fromisoformat(self.member.birthday) if self.member.birthday else None
        awarded = int(self.member.birthday_awarded_year) if self.member.birthday_awarded_year else None
        if "birthday" not in self.config.actions or not birthday_due(birthday, self.today, awarded):
            return None
        if self.member.status == "blocked":
            return None  # a blocked member earns nothing; the year is not marked, so an unblock still gets it
        self.member.birthday_awarded_year = self.today.year
        try:
            return self.action("birthday", occurred_at=self.now, source={"year": self.today.year},
                               entry_type=EntryType.BIRTHDAY)
        except LimitReached:
            return None

    def expire_membership(self) -> Entry | None:
        """A paid plan whose period ended without a renewal lapses."""
        membership = dict(self.member.membership or {})
        if membership.get("status") != "active" or membership.get("current_period_end", "") >= self.today.isoformat():
            return None
        membership["status"] = "expired"
        self.member.membership = membership
        return self.note(EntryType.MEMBERSHIP, details={"action": "expired", "plan_id": membership.get("plan_id"),
                                                "current_period_end": membership.get("current_period_end")})

    def follow_tier(self, tier: str) -> Entry | None:
        """tier_basis household: the member's tier is its household pool's (reached and reviewed on the pool's
        qualifying points), not one of its own: no upgrade or review of its own while it follows."""
        self.followed_tier = tier
        entry = None
        if self.member.tier != tier:
            qualifying = tiers.qualifying_points(self.member.qualifying_days or {}, self.today,
                                                 self.config.tier_window_days)
            entry = self.change_tier(tier, qualifying, "household")
        self.member.tier_review_day = None
        return entry

    def review_tier(self) -> Entry | None:
        """Downgrade once retention has passed and the window no longer qualifies; else review later."""
        if self.followed_tier is not None:
            return None
        if not self.member.tier_review_day or self.member.tier_review_day > self.today.isoformat():
            return None
        since = local_day(datetime.fromisoformat(self.member.tier_since.replace("Z", "+00:00")), self.config.zone)
        buckets = self.member.qualifying_days or {}
        qualifying = tiers.qualifying_points(buckets, self.today, self.config.tier_window_days)
        lower = tiers.downgrade(self.config, self.member.tier, since, self.today, qualifying)
        if lower is not None:
            return self.change_tier(lower, qualifying, "retention_ended")
        review = tiers.review_day(self.config, self.member.tier, since, self.today, buckets)
        self.member.tier_review_day = review.isoformat() if review else None
        return None

    def change_tier(self, tier: str, qualifying: int, reason: str) -> Entry:
        previous = self.member.tier
        self.member.tier = tier
        self.member.tier_since = iso_utc(self.now)
        review = tiers.review_day(self.config, tier, self.today, self.today, self.member.qualifying_days or {})
        self.member.tier_review_day = review.isoformat() if review else None
        return self._entry(EntryType.TIER_CHANGE, 0, self.now, source={}, details={
            "from": previous, "to": tier, "qualifying_points": qualifying, "reason": reason,
        })

    # --- the end ------------------------------------------------------------------------------------

    def finish(self) -> list[Entry]:
        """Write the wallet back, upgrade the tier when a threshold is reached, schedule the next visit."""
        self.member.lots = dict(self.wallet.lots)
        self.member.debt = self.wallet.debt
        self.member.available = self.wallet.available
        qualifying = tiers.qualifying_points(self.member.qualifying_days or {}, self.today,
                                             self.config.tier_window_days)
        reached = tiers.upgrade(self.config, self.member.tier, qualifying) if self.followed_tier is None else None
        if reached is not None:
            self.change_tier(reached, qualifying, "upgrade")
        due = next_due(
            self.config, self.today, lots=self.member.lots, pending_lots=list(self.member.pending_lots or []),
            tier_review_day=self.member.tier_review_day, birthday=self.member.birthday,
            birthday_awarded_year=int(self.member.birthday_awarded_year) if self.member.birthday_awarded_year else None,
            last_activity_day=self.member.last_activity_day, notified=list(self.member.expiry_notified or []),
            membership_end=(self.member.membership or {}).get("current_period_end")
            if (self.member.membership or {}).get("status") == "active" else None,
            hold_expiries=[local_day(datetime.fromisoformat(hold["expires_at"]), self.config.zone)
                           for hold in (self.member.holds or {}).values()],
            tier_reminded=list(self.member.tier_reminded or []),
        )
        self.member.set_next_due(due.isoformat() if due else None)
        return self.entries


def award_action(member: PointsHolder, config: ProgramConfig, action: str, now: datetime, *,
                 source: dict[str, Any], silent_when_capped: bool = False,
                 pending_until: date | None = None) -> list[Entry]:
    """Award `action` to `member` (mutated in place); [] when capped and `silent_when_capped`."""
    change = MemberChange(member, config, now)
    try:
        change.action(action, occurred_at=now, source=source, pending_until=pending_until)
    except LimitReached:
        if silent_when_capped:
            return []
        raise
    return change.finish()


def pending_release_day(config: ProgramConfig, occurred_at: datetime) -> date | None:
    if config.pending_days <= 0:
        return None
    return local_day(occurred_at, config.zone) + timedelta(days=config.pending_days)


def referral_release_day(config: ProgramConfig, now: datetime) -> date | None:
    """When a referral reward given now becomes available: None (at once) unless `referrals.hold_days`."""
    hold = config.referral_rules.hold_days
    return local_day(now, config.zone) + timedelta(days=hold) if hold > 0 else None
