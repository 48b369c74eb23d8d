"""No stored value may break a later read: times and URLs that would be refused at once (422)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from loyalty.domain.clock import iso_utc
from tests.events import Api


def _partner(api: Api) -> str:
    created = api.post("/admin/partners", {"name": "Brew", "contact_email": "ops@brew.example"}, sub="ops",
                       admin=True)
    assert created.status == 201, created.body
    return str(created.body["partner_id"])


def _field_errors(body: dict) -> str:
    return str(body.get("errors"))


@pytest.mark.parametrize("moment", ["0236-01-05T01:08:13Z", "0999-12-31T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_a_reward_window_outside_sane_years_is_refused_and_offers_keep_working(api: Api, program: dict,
                                                                                moment: str) -> None:
    # Given a member
    assert api.enroll("alice").status == 201

    # When an admin writes a reward whose window starts in an absurd year
    answer = api.post("/admin/rewards", {"reward_id": "odd", "name": "Odd", "points": 10, "starts_at": moment},
                      sub="ops", admin=True)

    # Then it is refused with 422 naming the field, and nothing is stored that breaks offers
    assert answer.status == 422 and "starts_at" in _field_errors(answer.body)
    assert api.get("/members/me/offers", sub="alice").status == 200
    assert api.get("/rewards/odd", sub="alice").status == 404


def test_a_promotion_starting_in_year_999_is_refused(api: Api, program: dict) -> None:
    # Given a partner
    partner = _partner(api)

    # When it creates a promotion that starts in year 999
    answer = api.post("/partner/promotions", {
        "name": "Old", "kind": "bonus_points", "points": 10, "starts_at": "0999-01-01T00:00:00Z",
        "ends_at": "2100-01-01T00:00:00Z", "budget_points": 100}, partner=partner)

    # Then it is a 422 on starts_at, and its promotions still list
    assert answer.status == 422 and "starts_at" in _field_errors(answer.body)
    assert api.get("/partner/promotions", partner=partner).status == 200


@pytest.mark.parametrize("url", ["https://[", "https://[::1", "https://example.com:99999/x", "https://:443/x"])
def test_a_malformed_webhook_url_is_refused(api: Api, program: dict, url: str) -> None:
    # Given a partner, when it registers a webhook whose URL cannot be parsed
    answer = api.post("/partner/webhooks", {"url": url}, partner=_partner(api))

    # Then the answer is 422 on url, not a 500
    assert answer.status == 422, answer.body
    assert "url" in _field_errors(answer.body)


def test_absurd_birthdays_and_bonus_event_years_are_refused(api: Api, program: dict) -> None:
    # When a member enrolls with a birthday in year 1, or the program gets a bonus event in year 236
    enrolled = api.post("/members", {"email": "a@example.com", "name": "A", "birthday": "0001-01-01"}, sub="a")
    event = {"name": "Old", "starts_at": "0236-01-05T00:00:00Z", "ends_at": "2100-01-01T00:00:00Z",
             "multiplier": 2}
    changed = api.put("/admin/program", {**program, "bonus_events": [event]}, admin=True)

    # Then both are refused with 422
    assert enrolled.status == 422 and "birthday" in _field_errors(enrolled.body)
    assert changed.status == 422


def test_stored_times_always_have_four_digit_years() -> None:
    # Given a time before the year 1000, when it is written as stored times are, then it has four digits
    assert iso_utc(datetime(999, 5, 1, 12, tzinfo=UTC)) == "0999-05-01T12:00:00.000Z"
