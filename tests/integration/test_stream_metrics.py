"""The stream processor: exactly-once aggregates under replays, poison records, and the metrics they
give, checked against a straightforward recomputation from the ledger."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from loyalty import observability
from loyalty.domain import metrics as m
from loyalty.domain.program import ProgramConfig
from loyalty.services import reports
from tests.events import Api
from tests.stream_helpers import (
    assert_reconciled,
    at,
    deliver,
    ledger_items,
    metrics_contents,
    reset_metrics_table,
    stream_records,
)

START = datetime(2026, 1, 5, 15, tzinfo=UTC)
SKUS = ["latte", "mocha", "tea", "scone", "beans"]


def run_workload(api: Api, seed: int = 7, members: int = 16, days: int = 140) -> None:
    """Enrollments, purchases on every channel, redemptions and actions spread over `days` days."""
    rng = random.Random(seed)
    events: list[tuple[datetime, str, str]] = []
    for number in range(members):
        member = f"member{number:02d}"
        joined = START + timedelta(days=rng.randrange(0, 60), hours=rng.randrange(0, 8))
        events.append((joined, "enroll", member))
        moment = joined
        while True:
            moment += timedelta(days=rng.choice([1, 2, 3, 5, 8, 13, 30, 70]), minutes=rng.randrange(0, 600))
            if moment > START + timedelta(days=days):
                break
            events.append((moment, rng.choice(["purchase", "purchase", "purchase", "redeem", "share"]), member))
    for moment, kind, member in sorted(events):
        with at(moment):
            if kind == "enroll":
                assert api.enroll(member).status == 201
            elif kind == "purchase":
                items = [{"sku": sku, "quantity": 1, "unit_price": {"amount": "3.00", "currency": "USD"}}
                         for sku in rng.sample(SKUS, rng.randrange(1, 3))]
                amount = f"{rng.randrange(1, 80)}.{rng.randrange(0, 99):02d}"
                response = api.purchase(member, f"{member}-{moment.timestamp()}", amount,
                                        channel=rng.choice(["online", "store", "app"]), items=items)
                assert response.status == 201, response.body
            elif kind == "redeem":
                api.redeem(member, {"points": rng.randrange(10, 200), "description": "treat"})
            else:
                api.post(f"/members/{member}/actions", {"action": "social_share"}, sub=member)


def batches(records: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [records[start:start + size] for start in range(0, len(records), size)]


def test_replayed_batches_leave_the_same_aggregates_as_single_delivery(api: Api, program: dict) -> None:
    # Given a few months of program activity and the ledger's stream
    run_workload(api)
    records = stream_records()
    assert len(records) > 300

    # When every batch is delivered exactly once
    for batch in batches(records, 25):
        assert deliver(batch) == {"batchItemFailures": [], "state": {}}
    once = metrics_contents()

    # And, on a fresh MetricsTable, every batch three times with partial failures in between
    reset_metrics_table()
    rng = random.Random(3)
    for batch in batches(records, 25):
        cut = rng.randrange(1, len(batch)) if len(batch) > 1 else 1
        deliver(batch[:cut])  # the function stopped after the first part (timeout, crash)
        deliver(batch)  # whole batch again
        deliver(batch[cut:])  # resumed from the middle, as after a partial batch response
        deliver(batch)
    replayed = metrics_contents()

    # Then the aggregates are identical
    assert replayed == once
    assert any(key[0] == m.DAYS_PK for key in once)
    assert_reconciled()


# The oracle's own reading of the contract, not the code's sets: what makes a member active, and
# which entries are points the program issued.
ACTIVE_BY = {"earn", "redeem", "action", "partner_earn", "promo", "referral", "return", "bonus", "spin", "visit",
             "donation"}
ISSUED_BY = {"earn", "action", "partner_earn", "promo", "bonus", "referral", "birthday", "release", "spin"}


def reference_metrics(items: list[dict[str, Any]], period: m.Period) -> dict[str, Any]:
    """A straightforward recomputation from the ledger: sets of members, no histograms."""
    enrolled = {item["member_id"]: item["enrolled_day"] for item in items if item["sk"] == "PROFILE"}
    entries = [item for item in items if str(item["sk"]).startswith("ENTRY#")]
    activity: dict[str, set[str]] = {member: {day} for member, day in enrolled.items()}
    for entry in entries:
        if entry["type"] in ACTIVE_BY:
            activity[entry["member_id"]].add(entry["day"])

    def active(day: date) -> set[str]:
        first = (day - timedelta(days=89)).isoformat()
        return {member for member, days in activity.items() if any(first <= d <= day.isoformat() for d in days)}

    inside = [e for e in entries if period.first.isoformat() <= e["day"] <= period.last.isoformat()]
    purchases = [e for e in inside if e["type"] == "earn" and json.loads(e["source"]).get("order_id")]
    per_member: dict[str, list[dict[str, Any]]] = {}
    for entry in purchases:
        per_member.setdefault(entry["member_id"], []).append(entry)
    start, end = active(period.first), active(period.last)
    joined = sum(1 for day in enrolled.values() if period.first.isoformat() <= day <= period.last.isoformat())
    return {
        "members": {"start": len(start), "end": len(end), "retained": len(start & end), "new": joined},
        "points_issued": sum(int(e["points"]) for e in inside if e["type"] in ISSUED_BY),
        "points_redeemed": -sum(int(e["points"]) for e in inside if e["type"] == "redeem"),
        "purchases": len(purchases),
        "purchasers": len(per_member),
        "repeat": sum(1 for entries_ in per_member.values() if len(entries_) > 1),
        "upsell": sum(1 for entries_ in per_member.values()
                      if len({sku for e in entries_ for sku in json.loads(e["details"])["skus"]}) > 1),
        "daily_active": [len(active(period.first + timedelta(days=offset))) for offset in range(period.days)],
    }


WINDOWS = [(date(2026, 2, 1), date(2026, 2, 28)), (date(2026, 3, 10), date(2026, 5, 20)),
           (date(2026, 1, 5), date(2026, 1, 5)), (date(2026, 4, 1), date(2026, 4, 30)),
           (date(2026, 1, 1), date(2026, 6, 30))]


def test_metrics_equal_a_recomputation_from_the_ledger(api: Api, program: dict) -> None:
    # Given a few months of activity folded into the aggregates
    run_workload(api, seed=11)
    for batch in batches(stream_records(), 40):
        deliver(batch)
    config = ProgramConfig.model_validate(program)
    items = ledger_items()
    for window in WINDOWS:
        # When a period is summarized, Then it matches a set-based recomputation from the ledger
        check_period(config, items, m.Period(*window))
    assert_reconciled()


def check_period(config: ProgramConfig, items: list[dict[str, Any]], period: m.Period) -> None:
    days = reports.aggregates.read_days((period.first - timedelta(days=89)).isoformat(), period.last.isoformat())
    summary = reports.summarize(config, days, period, reports.cumulative_at(period.last, days))
    expected = reference_metrics(items, period)

    assert summary["members"]["start"] == expected["members"]["start"]
    assert summary["members"]["end"] == expected["members"]["end"]
    assert summary["members"]["new"] == expected["members"]["new"]
    assert summary["members"]["retained"] == expected["members"]["retained"]
    assert summary["points"]["issued"] == expected["points_issued"]
    assert summary["points"]["redeemed"] == expected["points_redeemed"]
    assert summary["purchases"]["count"] == expected["purchases"]
    assert summary["purchases"]["purchasers"] == expected["purchasers"]
    assert summary["purchases"]["repeat_purchasers"] == expected["repeat"]
    assert summary["upsell_rate"] == (m.rate(expected["upsell"], expected["purchasers"]) or "0.0")
    assert [day["active_members"] for day in summary["daily"]] == expected["daily_active"]


def test_a_poison_record_is_reported_without_blocking_the_batch(api: Api, program: dict) -> None:
    with at(START):
        api.enroll("alice")
        api.purchase("alice", "o-1", "10.00")
    records = stream_records()
    earn = next(record for record in records
                if record["eventName"] == "INSERT" and record["dynamodb"]["Keys"]["sk"]["S"].startswith("ENTRY#"))
    poison = json.loads(json.dumps(earn))
    poison["dynamodb"]["NewImage"]["points"] = {"S": "not a number"}
    poison["dynamodb"]["SequenceNumber"] = str(int(records[-1]["dynamodb"]["SequenceNumber"]) + 1)
    result = deliver([*records, poison])
    assert result["batchItemFailures"] == [{"itemIdentifier": poison["dynamodb"]["SequenceNumber"]}]
    day = metrics_contents()[(m.DAYS_PK, "2026-01-05")]
    assert day["new_members"] == 1 and day["points_issued"] == 100 and day["purchases"] == 1
    # Redelivered from the poison record on: still reported, and nothing counted twice
    again = deliver([poison])
    assert again["batchItemFailures"] == [{"itemIdentifier": poison["dynamodb"]["SequenceNumber"]}]
    assert metrics_contents()[(m.DAYS_PK, "2026-01-05")] == day


def _shards_in_one_bucket(count: int) -> list[str]:
    from loyalty.store.aggregates import bucket_of

    shards = [f"shardId-{number:020d}" for number in range(2000)]
    target = bucket_of(shards[0])
    return [shard for shard in shards if bucket_of(shard) == target][:count]


def test_shards_sharing_a_bucket_each_count_once_under_replays(api: Api, program: dict) -> None:
    # Given two days of activity whose records two shards deliver into the same bucket's partials
    run_workload(api, seed=5, members=8, days=30)
    records = stream_records()
    first, second = _shards_in_one_bucket(2)
    half = len(records) // 2
    for batch in batches(records, 20):
        deliver(batch)
    once = metrics_contents()
    reset_metrics_table()

    # When shard A carries the first half and shard B the second, interleaved, each batch replayed
    a_batches, b_batches = batches(records[:half], 20), batches(records[half:], 20)
    for index in range(max(len(a_batches), len(b_batches))):
        for shard, shard_batches in ((first, a_batches), (second, b_batches)):
            if index < len(shard_batches):
                deliver(shard_batches[index], shard=shard)
                deliver(shard_batches[index][len(shard_batches[index]) // 2:], shard=shard)
                deliver(shard_batches[index], shard=shard)

    # Then the logical aggregates are those of a single delivery by one shard
    assert metrics_contents() == once


def test_a_history_partial_stays_small_after_a_year_of_days_and_shards(api: Api, program: dict) -> None:
    # Given one day's purchases whose previous purchases fall on each of the 367 days before it,
    # delivered by 8 shards of one bucket (64 live shards over 16 buckets, twice over for rollovers)
    from collections import Counter as Tally

    from loyalty.store import aggregates

    day = date(2026, 6, 30)
    shards = _shards_in_one_bucket(8)
    sequence = 10**30  # sequence numbers are long: the watermarks are measured at full length
    for number, shard in enumerate(shards):
        pending: dict[tuple[str, str], list[tuple[int, Tally[str]]]] = {}
        for offset in range(number, 368, 8):
            previous = (day - timedelta(days=offset)).isoformat()
            pending.setdefault((m.DAYS_PK, day.isoformat()), []).append((sequence, Tally({f"p1:{previous}": 1})))
            sequence += 1
        aggregates.apply_contributions(shard, pending)

    # Then the p1 partial of that day holds every bucket yet stays under 4 KB (watermarks included)
    from bench.dynamo import item_size

    key = aggregates.partial_key((m.DAYS_PK, day.isoformat()), aggregates.bucket_of(shards[0]), "p1")
    raw = _client_get(key)
    assert len([name for name in raw if not name.startswith("wm:")]) == 2 + 368
    assert item_size(raw) < 4096, item_size(raw)
    assert sum(metrics_contents()[(m.DAYS_PK, day.isoformat())].values()) == 368


def _client_get(key: tuple[str, str]) -> dict[str, Any]:
    from tests.stream_helpers import _client

    item: dict[str, Any] = _client("dynamodb").get_item(
        TableName="MetricsTable", Key={"pk": {"S": key[0]}, "sk": {"S": key[1]}}, ConsistentRead=True)["Item"]
    return item


def test_business_metrics_come_from_the_stream_exactly_once(api: Api, program: dict,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a purchase (1,200 points) and a redemption of 100 points in the ledger
    reset_metrics_table()
    assert api.enroll("emf").status == 201
    assert api.purchase("emf", "emf-1", "120.00").status == 201
    assert api.redeem("emf", {"points": 100, "description": "a mug"}).status == 201
    emitted: list[tuple[str, float]] = []
    monkeypatch.setattr(observability, "count", lambda name, value=1, unit=None: emitted.append((name, value)))
    records = stream_records()

    # When the stream processor folds the batch, and then the same batch comes again
    deliver(records)
    first = [metric for metric in emitted if metric[0] in observability.BUSINESS_METRICS.values()]
    emitted.clear()
    deliver(records)
    again = [metric for metric in emitted if metric[0] in observability.BUSINESS_METRICS.values()]

    # Then the business metrics were emitted once, with the ledger's exact amounts
    assert sorted(first) == [("PointsIssued", 1200), ("PointsRedeemed", 100), ("Purchases", 1), ("Redemptions", 1)]
    assert again == []


def test_a_window_whose_partial_needs_many_updates_is_applied_whole(tables) -> None:  # type: ignore[no-untyped-def]
    # Given one shard's window holding 1,500 lots on distinct expiry days (an import of history, a busy
    # tumbling window): the liability's lots partial takes more updates than a write has room for
    from collections import Counter

    from loyalty.store import aggregates

    first = date(2027, 1, 1)
    days = [(first + timedelta(days=number)).isoformat() for number in range(1500)]
    contributions = [(number + 1, Counter({f"{m.LOT_COUNTER}{day}": 1
                                           for day in days[number * 100:(number + 1) * 100]}))
                     for number in range(15)]
    # When the window is applied
    stats = aggregates.apply_contributions("shardId-000042", {m.LIABILITY_KEY: contributions})
    # Then every lot is counted once, in several updates, none of them refused
    lots = {name: value for name, value in aggregates.read_item(m.LIABILITY_KEY).items()
            if name.startswith(m.LOT_COUNTER)}
    assert len(lots) == 1500 and set(lots.values()) == {1}
    assert stats.writes > 10 and stats.replays == 0


def test_the_stream_filter_keeps_every_record_the_metrics_count_and_drops_the_rest(
        api: Api, program: dict) -> None:
    # Given a few months of activity (enrollments, purchases, returns, redemptions, stocked rewards, actions)
    # and a code claim that fails
    from loyalty_local.filtering import passes
    from loyalty_local.template import read_stack

    run_workload(api, seed=11)
    assert api.post("/members/me/promo-codes", {"code": "NOPE-NOPE-NOPE"}, sub="m0").status in (404, 409, 410)
    (source,) = [source for source in read_stack().streams if source.function == "StreamProcessorFunction"]
    records = stream_records()

    # When each record is judged by the template's FilterCriteria and by what the metrics count
    kept = [record for record in records if passes(list(source.filters), record)]
    counted = [record for record in records if m.contributions(
        record["eventName"], {name: next(iter(value.values())) for name, value in record["dynamodb"]["Keys"].items()},
        {name: next(iter(value.values())) for name, value in (record["dynamodb"].get("NewImage") or {}).items()})]

    # Then every counted record passes the filter, and the filter drops the records nothing counts
    assert counted and all(passes(list(source.filters), record) for record in counted)
    assert any(record["dynamodb"]["Keys"]["pk"]["S"].startswith("CLAIMFAIL#") for record in kept)
    assert len(kept) < len(records) / 2, (len(kept), len(records))
