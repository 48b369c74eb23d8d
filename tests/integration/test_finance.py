"""Finance (issue 35, contract "Finance"): points as deferred revenue month after month, from the stream's
aggregates: the identities hold with purchases, returns, redemptions, expiry and adjustments; the points tie
to the ledger; a changed SSP leaves earlier months unchanged; the journal balances every day."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from loyalty.services import jobs
from tests.events import Api
from tests.stream_helpers import at, deliver, stream_records

MARCH = datetime(2026, 3, 10, 15, tzinfo=UTC)
APRIL = datetime(2026, 4, 12, 15, tzinfo=UTC)


def configure(api: Api, program: dict[str, Any], ssp: str) -> None:
    body = {**program, "expiry": {"policy": "rolling", "days": 30},
            "finance": {"ssp_per_point": {"amount": ssp, "currency": "USD"},
                        "breakage": {"method": "fixed", "rate": "0.2"}}}
    assert api.put("/admin/program", body, admin=True).status == 200, body


def report(api: Api, month: str) -> dict[str, Any]:
    found = api.get("/admin/finance/deferred-revenue", admin=True, query={"month": month})
    assert found.status == 200, found.body
    return dict(found.body)


def amount(money: dict[str, str]) -> Decimal:
    return Decimal(money["amount"])


def test_deferred_revenue_ties_to_the_ledger_month_after_month(api: Api, program: dict) -> None:
    # Given a program that defers a cent a point, with 20% expected breakage and points that expire in 30 days
    configure(api, program, "0.01")
    with at(MARCH):
        for member_id in ("ann", "bob"):
            assert api.enroll(member_id).status == 201
        assert api.purchase("ann", "m-1", "120.00").status == 201
        assert api.purchase("bob", "m-2", "80.00").status == 201
        assert api.redeem("ann", {"points": 300, "description": "a mug"}).status == 201
        returned = api.post("/members/bob/returns", {"order_id": "m-2", "refund": {"amount": "20.00",
                                                                                   "currency": "USD"}},
                            sub="pos", scopes=["loyalty/transactions"], headers={"Idempotency-Key": "r-1"})
        assert returned.status == 201, returned.body
        assert api.post("/admin/members/ann/adjustments", {"points": 50, "reason": "goodwill"}, admin=True,
                        headers={"Idempotency-Key": "adj-1"}).status == 201
    deliver(stream_records())
    march = report(api, "2026-03")
    # When the SSP changes, and April brings purchases, a redemption and March's points expiring
    configure(api, program, "0.02")
    with at(APRIL):
        assert api.purchase("ann", "a-1", "50.00").status == 201
        assert api.redeem("bob", {"points": 100, "description": "a coffee"}).status == 201
    jobs.run("member_maintenance", now=datetime(2026, 4, 20, 15, tzinfo=UTC))
    deliver(stream_records())
    # Then March is as it was (each entry keeps the SSP it was issued at)
    assert report(api, "2026-03") == {**march, "ssp_per_point": {"amount": "0.02", "currency": "USD"}}
    april, may = report(api, "2026-04"), report(api, "2026-05")
    for month in (march, april, may):
        points, money = month["points"], month["deferred_revenue"]
        assert points["closing"] == (points["opening"] + points["issued"] - points["redeemed"] - points["expired"]
                                     + points["adjusted"])
        assert amount(money["closing"]) == (amount(money["opening"]) + amount(money["deferred"])
                                            - amount(money["recognized_redemption"])
                                            - amount(money["recognized_breakage"]))
    # And each month opens where the one before closed (May, with no movement, opens and closes there)
    assert march["points"]["opening"] == 0 and amount(march["deferred_revenue"]["opening"]) == 0
    assert april["points"]["opening"] == march["points"]["closing"]
    assert april["deferred_revenue"]["opening"] == march["deferred_revenue"]["closing"]
    assert may["points"]["opening"] == may["points"]["closing"] == april["points"]["closing"]
    assert may["deferred_revenue"]["opening"] == may["deferred_revenue"]["closing"] == april["deferred_revenue"][
        "closing"]
    # And the points tie to the ledger: what is outstanding now
    liability = api.get("/admin/liability", admin=True).body
    assert april["points"]["closing"] == liability["outstanding_points"], liability
    assert march["points"]["redeemed"] == 300 and march["points"]["adjusted"] < 50  # the return's claw-back
    assert april["points"]["expired"] > 0 and april["points"]["redeemed"] == 100
    # And March's issued points deferred a cent each
    assert amount(march["deferred_revenue"]["deferred"]) > 0
    assert march["breakage_rate"] == "0.2" and march["method"] == "fixed"
    # And closed months keep their books when the breakage estimate changes later (it counts from then on)
    body = {**program, "expiry": {"policy": "rolling", "days": 30},
            "finance": {"ssp_per_point": {"amount": "0.02", "currency": "USD"},
                        "breakage": {"method": "fixed", "rate": "0.5"}}}
    assert api.put("/admin/program", body, admin=True).status == 200
    for before in (march, april):
        after = report(api, before["month"])
        assert (after["points"], after["deferred_revenue"]) == (before["points"], before["deferred_revenue"])
    # And the journal balances every day and adds up to the month
    journal = api.get("/admin/finance/journal", admin=True, query={"month": "2026-04"})
    assert journal.status == 200, journal.body
    by_day: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    liability_moved = Decimal(0)
    for line in journal.body["items"]:
        by_day[line["date"]][0] += amount(line["debit"])
        by_day[line["date"]][1] += amount(line["credit"])
        if line["account"].startswith("Contract liability"):
            liability_moved += amount(line["credit"]) - amount(line["debit"])
    assert by_day and all(debits == credits for debits, credits in by_day.values())
    moved = april["deferred_revenue"]
    assert liability_moved == amount(moved["closing"]) - amount(moved["opening"])
    csv = api.get("/admin/finance/journal", admin=True, query={"month": "2026-04"}, headers={"Accept": "text/csv"})
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.body.splitlines()[0] == "date,account,debit,credit,currency,memo"
    assert len(csv.body.splitlines()) == len(journal.body["items"]) + 1


def test_a_month_to_come_or_malformed_is_refused(api: Api, program: dict) -> None:
    for month in ("2099-01", "2026-13", "March"):
        refused = api.get("/admin/finance/deferred-revenue", admin=True, query={"month": month})
        assert refused.status == 422, (month, refused.body)
    assert api.get("/admin/finance/journal", admin=True, query={"month": "2099-01"}).status == 422
    assert api.get("/admin/finance/deferred-revenue", sub="ann", query={"month": "2026-01"}).status == 403
    # And a month before any activity opens and closes at zero
    empty = report(api, "2026-01")
    assert empty["points"]["closing"] == 0 and empty["deferred_revenue"]["closing"]["amount"] == "0.00"
