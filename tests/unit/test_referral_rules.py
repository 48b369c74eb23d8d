"""Referral safeguards' rules: one mailbox under many spellings, one phone under many formats, hashes only."""

from __future__ import annotations

from datetime import date

import pytest

from loyalty.domain.referrals import (
    MAX_HASHES,
    Identity,
    hashed,
    mailbox,
    past_weekly_limit,
    phone_number,
    remember,
    shared,
    week_of,
)

ALL = ("email", "phone", "device_id", "payment_fingerprint")


@pytest.mark.parametrize(("one", "other", "same"), [
    ("Jane.Doe@gmail.com", "janedoe@gmail.com", True),  # gmail ignores dots
    ("jane.doe+promo@gmail.com", "JaneDoe@googlemail.com", True),  # +tag, case, googlemail is gmail
    ("jane+x@outlook.com", "jane@outlook.com", True),  # outlook drops +tags
    ("jane.doe@outlook.com", "janedoe@outlook.com", False),  # but keeps dots
    ("jane+x@example.com", "jane@example.com", False),  # an unknown provider: as written (but case)
    ("JANE@Example.com", "jane@example.com", True),
])
def test_one_mailbox_under_the_spellings_its_provider_ignores(one: str, other: str, same: bool) -> None:
    assert (mailbox(one) == mailbox(other)) is same


@pytest.mark.parametrize(("one", "other", "same"), [
    ("+1 (415) 555-0100", "+14155550100", True),
    ("0014155550100", "+14155550100", True),  # the international prefix 00 is +
    ("+44 20 7946 0958", "+44 (0)20 7946 0958", False),  # a trunk 0 written in is another string of digits
    ("415-555-0100", "+14155550100", False),  # no country code: not guessed
])
def test_one_phone_under_many_formats(one: str, other: str, same: bool) -> None:
    assert (phone_number(one) == phone_number(other)) is same


def test_devices_and_payments_are_kept_hashed_and_few() -> None:
    kept = remember(None, "device-0001-abcd")
    assert kept == [hashed("device-0001-abcd")] and "device-0001-abcd" not in kept[0]
    for number in range(10):
        kept = remember(kept, f"device-{number:04d}")
    assert len(kept) == MAX_HASHES and kept[-1] == hashed("device-0009")
    assert remember(kept, "device-0005")[-1] == hashed("device-0005") and len(remember(kept, "device-0005")) == 5


def test_a_referee_is_flagged_for_what_it_shares_among_the_checks_the_program_lists() -> None:
    referrer = Identity(email="a.b@gmail.com", phone="+14155550100", devices=frozenset({hashed("dev-1")}),
                        payments=frozenset({hashed("card-1")}))
    twin = Identity(email="ab+2@gmail.com", phone="+1 415 555 0100", devices=frozenset({hashed("dev-1")}),
                    payments=frozenset({hashed("card-1")}))
    stranger = Identity(email="c@gmail.com", phone="+14155550199", devices=frozenset({hashed("dev-2")}))
    assert shared(twin, referrer, ALL) == list(ALL)
    assert shared(twin, referrer, ("phone",)) == ["phone"]
    assert shared(stranger, referrer, ALL) == []
    assert shared(Identity(), Identity(), ALL) == []  # nothing known is nothing shared


def test_the_weekly_cap_counts_this_week_only() -> None:
    assert week_of(date(2026, 12, 6)) == "2026-W49" and week_of(date(2026, 12, 7)) == "2026-W50"
    assert not past_weekly_limit(None, "2026-W49", "2026-W49", 1000)
    assert not past_weekly_limit(3, "2026-W49", "2026-W49", 2)
    assert past_weekly_limit(3, "2026-W49", "2026-W49", 3)
    assert not past_weekly_limit(3, "2026-W50", "2026-W49", 3)  # a new week starts again
