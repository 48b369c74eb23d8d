"""Badges and challenges through the handlers on moto: validation, progress counted once per fact under
retries and races, completions with their ledger entry and badge, the member's views, badges by hand."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.events import Api
from tests.stream_helpers import assert_reconciled

WINDOW = {"starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}
SHOES = [{"sku": "run-1", "category": "shoes", "quantity": 1, "unit_price": {"amount": "80.00", "currency": "USD"}},
         {"sku": "sock-1", "category": "socks", "quantity": 2, "unit_price": {"amount": "10.00", "currency": "USD"}}]


def challenge(challenge_id: str, goal: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"challenge_id": challenge_id, "name": challenge_id.replace("-", " ").title(), **WINDOW,
            "goal": goal, "reward": {"points": 300}, **fields}


def create(api: Api, body: dict[str, Any]) -> Any:
    return api.post("/admin/challenges", body, admin=True)


def badge(api: Api, badge_id: str) -> None:
    assert api.post("/admin/badges", {"badge_id": badge_id, "name": badge_id.title()}, admin=True).status == 201


def review(api: Api, member_id: str, reference: str) -> Any:
    return api.post(f"/members/{member_id}/actions", {"action": "review", "reference": reference}, sub=member_id,
                    headers={"Idempotency-Key": f"review-{reference}"})


def entries(api: Api, member_id: str, kind: str) -> list[dict[str, Any]]:
    return api.get(f"/members/{member_id}/activity", sub=member_id, query={"type": kind}).body["items"]


def mine(api: Api, member_id: str) -> dict[str, dict[str, Any]]:
    answer = api.get(f"/members/{member_id}/challenges", sub=member_id)
    assert answer.status == 200, answer.body
    return {item["challenge_id"]: item for item in answer.body["items"]}


def test_bad_challenges_and_badges_get_a_422_naming_the_field_and_write_nothing(api: Api, program: dict) -> None:
    # When challenges with an unknown badge, two goals, a window that ends before it starts are written
    unknown_badge = create(api, challenge("c1", {"event": "purchase", "count": 2},
                                          reward={"points": 10, "badge_id": "nope"}))
    two_goals = create(api, challenge("c2", {"event": "purchase", "count": 2, "distinct_days": 2}))
    backwards = create(api, challenge("c3", {"event": "purchase", "count": 2},
                                      starts_at="2030-01-01T00:00:00Z", ends_at="2029-01-01T00:00:00Z"))
    no_reward = create(api, challenge("c4", {"event": "purchase", "count": 2}, reward={}))
    basket_on_action = create(api, challenge("c5", {"event": "action:review", "count": 2, "conditions": [
        {"fact": "channel", "op": "eq", "value": "online"}]}))
    unknown_action = create(api, challenge("c6", {"event": "action:dance", "count": 2}))
    bad_badge = api.post("/admin/badges", {"badge_id": "Bad Id!", "name": "x"}, admin=True)
    # Then each is a 422 problem naming what is wrong, and nothing was written
    answers = [unknown_badge, two_goals, backwards, no_reward, basket_on_action, unknown_action, bad_badge]
    assert [answer.status for answer in answers] == [422] * 7
    assert all(answer.headers["content-type"] == "application/problem+json" for answer in answers)
    assert [error["field"] for error in unknown_badge.body["errors"]] == ["reward.badge_id"]
    assert [error["field"] for error in unknown_action.body["errors"]] == ["goal.event"]
    assert "exactly one of count, amount or distinct_days" in str(two_goals.body["errors"])
    assert "ends_at must be after starts_at" in str(backwards.body["errors"])
    assert api.get("/admin/challenges", admin=True).body["items"] == []
    assert api.get("/badges", sub="anyone").body["items"] == []


def test_review_three_products_gives_a_badge_and_300_points_once(api: Api, program: dict) -> None:
    # Given the badge and the challenge "review three products: a badge and 300 points"
    badge(api, "critic")
    body = challenge("review-3", {"event": "action:review", "count": 3}, reward={"points": 300, "badge_id": "critic"})
    assert create(api, body).status == 201
    stored = api.get("/admin/challenges/review-3", admin=True).body
    assert (stored["goal"]["count"], stored["reward"], stored["repeatable"]) == (3, body["reward"], False)
    # And what GET answers PUTs back unchanged
    assert api.put("/admin/challenges/review-3", stored, admin=True).body == stored
    api.enroll("rita")
    # When Rita reviews two products
    for number in (1, 2):
        assert review(api, "rita", f"p{number}").status == 201
    # Then she is on her way, with nothing given yet
    shown = mine(api, "rita")["review-3"]
    assert (shown["progress"], shown["target"], shown["status"], shown["times_completed"]) == (2, 3, "in_progress", 0)
    assert entries(api, "rita", "challenge") == []
    # When she reviews a third, then retries that call, then reviews a fourth
    third = review(api, "rita", "p3")
    assert review(api, "rita", "p3").headers.get("idempotent-replayed") == "true"
    assert review(api, "rita", "p4").status == 201
    # Then the challenge was completed once: one challenge entry of 300 points, the badge once
    assert third.status == 201
    given = entries(api, "rita", "challenge")
    assert [(entry["points"], entry["breakdown"]) for entry in given] == [
        (300, [{"rule": "challenge:review-3", "points": 300}])]
    shown = mine(api, "rita")["review-3"]
    assert (shown["status"], shown["times_completed"], shown["progress"]) == ("completed", 1, 3)
    assert shown["completed_at"] is not None
    badges = api.get("/members/rita/badges", sub="rita").body["items"]
    assert [(item["badge_id"], item["name"], item["times"]) for item in badges] == [("critic", "Critic", 1)]
    assert_reconciled()


def test_a_retried_purchase_counts_once_and_racing_purchases_complete_exactly_as_often_as_they_should(
        api: Api, program: dict) -> None:
    # Given a repeatable challenge "three purchases: 100 points"
    assert create(api, challenge("three", {"event": "purchase", "count": 3}, reward={"points": 100},
                                 repeatable=True)).status == 201
    api.enroll("pat")
    # When one purchase is sent three times with its Idempotency-Key
    for _ in range(3):
        assert api.purchase("pat", "o-retried", "10.00").status == 201
    # Then it counted once
    assert mine(api, "pat")["three"]["progress"] == 1
    # When eight more purchases race
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda n: api.purchase("pat", f"o-{n}", "10.00"), range(8)))
    # Then all nine counted, each once: three completions, and progress 0 on the fourth round
    assert [answer.status for answer in answers] == [201] * 8
    shown = mine(api, "pat")["three"]
    assert (shown["times_completed"], shown["progress"], shown["status"]) == (3, 0, "in_progress")
    assert len(entries(api, "pat", "challenge")) == 3
    assert_reconciled()


def test_an_amount_goal_counts_what_was_paid_for_the_lines_it_names(api: Api, program: dict) -> None:
    # Given "spend $100 on shoes" (conditions name the category)
    assert create(api, challenge("shoes-100", {
        "event": "purchase", "amount": {"amount": "100.00", "currency": "USD"},
        "conditions": [{"fact": "basket.categories", "op": "contains", "value": "shoes"}]})).status == 201
    api.enroll("sam")
    # When Sam buys $80 of shoes and $20 of socks but pays $50 (an order discount): the shoes' share is $40
    assert api.purchase("sam", "o-1", "50.00", items=SHOES).status == 201
    # And buys socks only (no shoes: the condition fails)
    assert api.purchase("sam", "o-2", "20.00", items=[SHOES[1]]).status == 201
    # Then only the shoes' share of what was paid counted
    shown = mine(api, "sam")["shoes-100"]
    assert (shown["progress"], shown["target"]) == ("40.0000000000", "100.00")
    # When he buys shoes at full price, $80: past the target
    assert api.purchase("sam", "o-3", "80.00", items=[SHOES[0]]).status == 201
    assert mine(api, "sam")["shoes-100"]["status"] == "completed"


def test_distinct_days_count_each_day_once_in_the_program_time_zone(api: Api, program: dict) -> None:
    # Given "shop on two different days"
    assert create(api, challenge("two-days", {"event": "purchase", "distinct_days": 2})).status == 201
    api.enroll("dee")
    today = datetime.now(UTC).replace(microsecond=0)
    # When Dee buys twice on one day (New York), then again two days before
    for order, moment in (("d-1", today), ("d-2", today - timedelta(minutes=1)), ("d-3", today - timedelta(days=2))):
        assert api.purchase("dee", order, "5.00", occurred_at=moment.isoformat().replace("+00:00", "Z")).status == 201
        if order == "d-2":
            # Then the second purchase of the day did not count
            assert mine(api, "dee")["two-days"]["progress"] == 1
    # And the other day completed it
    assert mine(api, "dee")["two-days"]["status"] == "completed"


def test_the_audience_and_the_window_decide_who_sees_and_advances(api: Api, program: dict) -> None:
    # Given a challenge for Gold members and up, and one that ended
    assert create(api, challenge("gold-only", {"event": "purchase", "count": 1},
                                 audience={"min_tier": "Gold"})).status == 201
    assert create(api, challenge("over", {"event": "purchase", "count": 1}, starts_at="2020-01-01T00:00:00Z",
                                 ends_at="2021-01-01T00:00:00Z")).status == 201
    api.enroll("bob")
    # When a Bronze member buys
    assert api.purchase("bob", "b-1", "1.00").status == 201
    # Then neither is open to it, and nothing was given
    assert mine(api, "bob") == {}
    assert entries(api, "bob", "challenge") == []


def test_members_see_only_their_own_and_admins_give_badges_by_hand(api: Api, program: dict) -> None:
    badge(api, "vip")
    api.enroll("ann")
    api.enroll("eve")
    # When Eve reads Ann's challenges or badges
    assert api.get("/members/ann/challenges", sub="eve").status == 403
    assert api.get("/members/ann/badges", sub="eve").status == 403
    # When an admin gives Ann a badge twice, a member badges itself, and an admin names nobody or no badge
    given = api.post("/admin/members/ann/badges", {"badge_id": "vip", "reason": "launch party"}, admin=True)
    again = api.post("/admin/members/ann/badges", {"badge_id": "vip", "reason": "second party"}, admin=True)
    itself = api.post("/admin/members/ann/badges", {"badge_id": "vip", "reason": "me"}, sub="ann")
    nobody = api.post("/admin/members/ghost/badges", {"badge_id": "vip", "reason": "x"}, admin=True)
    no_badge = api.post("/admin/members/ann/badges", {"badge_id": "nope", "reason": "x"}, admin=True)
    # Then the admin's count twice, audited with their reason; the others change nothing
    assert (given.status, again.status, itself.status, nobody.status, no_badge.status) == (201, 201, 403, 404, 422)
    assert [item["times"] for item in api.get("/members/ann/badges", sub="ann").body["items"]] == [2]
    log = api.get("/admin/audit", admin=True, query={"limit": "100"}).body["items"]
    assert [entry["details"]["reason"] for entry in log if entry["action"] == "badge.awarded"] == [
        "launch party", "second party"]
    assert api.get("/members/ghost/badges", admin=True).status == 404
    # And a duplicate badge id is a 409
    assert api.post("/admin/badges", {"badge_id": "vip", "name": "VIP"}, admin=True).status == 409


def with_streaks(api: Api, program: dict, streaks: list[dict[str, Any]]) -> Any:
    return api.put("/admin/program", {**program, "streaks": streaks}, admin=True)


def at(days_ago: int) -> str:
    moment = datetime.now(UTC).replace(hour=17, minute=0, second=0, microsecond=0) - timedelta(days=days_ago)
    return moment.isoformat().replace("+00:00", "Z")


def test_a_daily_streak_rewards_each_length_once_and_shows_the_run(api: Api, program: dict) -> None:
    # Given a daily purchase streak: 50 points at 2 days, 100 points and a badge at 3
    badge(api, "regular")
    answer = with_streaks(api, program, [{"streak_id": "daily", "name": "Daily", "event": "purchase",
                                          "period": "day", "rewards": [{"length": 2, "points": 50},
                                                                       {"length": 3, "points": 100,
                                                                        "badge_id": "regular"}]}])
    assert answer.status == 200, answer.body
    # And the config reads back with it, and PUTs back unchanged
    stored = api.get("/program", sub="anyone").body
    assert stored["streaks"][0]["rewards"][1]["badge_id"] == "regular"
    assert api.put("/admin/program", stored, admin=True).status == 200
    api.enroll("dan")
    # When Dan buys on three days in a row, twice on the last (noon in New York each day)
    for number, days_ago in enumerate((3, 2, 1, 1)):
        assert api.purchase("dan", f"s-{number}", "5.00", occurred_at=at(days_ago)).status == 201
    # Then two streak entries were given, once each, and the badge once
    given = sorted((entry["points"], entry["source"]["streak_id"]) for entry in entries(api, "dan", "streak"))
    assert given == [(50, "daily"), (100, "daily")]
    assert [item["times"] for item in api.get("/members/dan/badges", sub="dan").body["items"]] == [1]
    shown = api.get("/members/dan/streaks", sub="dan").body["items"]
    assert [(item["current"], item["best"], item["next_reward"]) for item in shown] == [(3, 3, None)]
    assert_reconciled()


def test_after_a_gap_the_run_shows_zero_and_the_best_stays(api: Api, program: dict) -> None:
    assert with_streaks(api, program, [{"streak_id": "daily", "name": "Daily", "event": "purchase",
                                        "period": "day", "rewards": [{"length": 5, "points": 10}]}]).status == 200
    api.enroll("gus")
    for number, days_ago in enumerate((6, 5, 4)):
        assert api.purchase("gus", f"g-{number}", "5.00", occurred_at=at(days_ago)).status == 201
    shown = api.get("/members/gus/streaks", sub="gus").body["items"][0]
    assert (shown["current"], shown["best"], shown["next_reward"]["length"]) == (0, 3, 5)


def test_bad_streaks_get_a_422_and_leave_the_program_as_it_was(api: Api, program: dict) -> None:
    version = api.get("/program", sub="anyone").body["version"]
    zero = with_streaks(api, program, [{"streak_id": "s", "name": "S", "event": "purchase", "period": "day",
                                        "rewards": [{"length": 0, "points": 10}]}])
    no_badge = with_streaks(api, program, [{"streak_id": "s", "name": "S", "event": "purchase", "period": "week",
                                            "rewards": [{"length": 2, "badge_id": "ghost"}]}])
    no_action = with_streaks(api, program, [{"streak_id": "s", "name": "S", "event": "action:dance",
                                             "period": "week"}])
    assert (zero.status, no_badge.status, no_action.status) == (422, 422, 422)
    assert [error["field"] for error in no_badge.body["errors"]] == ["streaks.0.rewards.0.badge_id"]
    assert api.get("/program", sub="anyone").body["version"] == version


def leaderboard(api: Api, leaderboard_id: str, metric: str = "points_earned", size: int = 3) -> None:
    created = api.post("/admin/leaderboards", {"leaderboard_id": leaderboard_id, "name": leaderboard_id.title(),
                                               "metric": metric, "period": "week", "size": size}, admin=True)
    assert created.status == 201, created.body


def test_a_leaderboard_ranks_members_from_the_stream_with_ties_consent_and_the_callers_standing(
        api: Api, program: dict) -> None:
    from tests.stream_helpers import deliver, stream_records

    # Given a weekly points leaderboard of three, and six members who buy (one with a nickname, one who opted out)
    leaderboard(api, "weekly")
    names = {"ann": ("Ann Brown", {}), "bob": ("Bob Stone", {"nickname": "Bobby"}), "cy": ("Cy Twombly", {}),
             "dee": ("Dee Dee Ramone", {}), "eve": ("Eve Out", {"consents": {"leaderboard": False}}),
             "fay": ("Fay Wray", {})}
    for member_id, (name, extra) in names.items():
        assert api.post("/members", {"email": f"{member_id}@example.com", "name": name, **extra},
                        sub=member_id).status == 201
    for member_id, amount in (("ann", "30.00"), ("bob", "50.00"), ("cy", "30.00"), ("dee", "5.00"),
                              ("eve", "90.00"), ("fay", "1.00")):
        assert api.purchase(member_id, f"lb-{member_id}", amount).status == 201
    # When the stream has been delivered, twice (a replay)
    records = stream_records()
    deliver(records)
    deliver(records)
    board = api.get("/leaderboards/weekly", sub="dee")
    # Then the three best who allow it are listed, ties sharing a rank, by nickname or first name and initial
    assert board.status == 200, board.body
    assert [(entry["rank"], entry["display_name"], entry["value"]) for entry in board.body["entries"]] == [
        (1, "Bobby", 500), (2, "Ann B.", 300), (2, "Cy T.", 300)]
    assert board.body["members_ranked"] == 5
    # And Dee, fourth, beyond the list, sees her exact rank (every member above her is in the stream's lists)
    assert board.body["me"] == {"rank": 4, "value": 50, "rank_is_estimate": False}
    # And a listed member's own standing is exact; the member who opted out sees none and is not listed
    assert api.get("/leaderboards/weekly", sub="cy").body["me"] == {"rank": 2, "value": 300,
                                                                    "rank_is_estimate": False}
    assert api.get("/leaderboards/weekly", sub="eve").body["me"] is None
    # When Bob withdraws his consent, he leaves the board
    assert api.patch("/members/bob", {"consents": {"leaderboard": False}}, sub="bob").status == 200
    deliver(stream_records())
    shown = api.get("/leaderboards/weekly", sub="fay").body
    assert [entry["display_name"] for entry in shown["entries"]] == ["Ann B.", "Cy T.", "Dee R."]
    assert shown["members_ranked"] == 4 and shown["me"] == {"rank": 4, "value": 10, "rank_is_estimate": False}
    # When Ann erases her account, she leaves the board too
    assert api.request("DELETE", "/members/ann", sub="ann").status == 200
    deliver(stream_records())
    assert [entry["display_name"] for entry in api.get("/leaderboards/weekly", sub="fay").body["entries"]] == [
        "Cy T.", "Dee R.", "Fay W."]
    # And last week's board is empty
    assert api.get("/leaderboards/weekly", sub="fay", query={"period": "previous"}).body["entries"] == []


def test_leaderboards_are_validated_and_unknown_ones_are_404(api: Api, program: dict) -> None:
    small = api.post("/admin/leaderboards", {"leaderboard_id": "x", "name": "X", "metric": "points_earned",
                                             "period": "week", "size": 2}, admin=True)
    odd = api.post("/admin/leaderboards", {"leaderboard_id": "y", "name": "Y", "metric": "logins",
                                           "period": "week"}, admin=True)
    assert (small.status, odd.status) == (422, 422)
    assert api.get("/admin/leaderboards", admin=True).body["items"] == []
    assert api.get("/leaderboards/nope", sub="ann").status == 404
    leaderboard(api, "dup")
    assert api.post("/admin/leaderboards", {"leaderboard_id": "dup", "name": "D", "metric": "purchases",
                                            "period": "month"}, admin=True).status == 409
