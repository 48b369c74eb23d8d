"""What-if on moto: a proposed config replayed over the recorded purchases and actions, as a job on the
work queue, in steps."""

from __future__ import annotations

from typing import Any

import pytest

from loyalty_local import queues
from loyalty_local.motoserver import MotoServer
from tests.events import Api
from tests.import_helpers import Importer


@pytest.fixture
def worker(api: Api, program: dict, tables: MotoServer, stack, monkeypatch: pytest.MonkeyPatch) -> Importer:  # type: ignore[no-untyped-def]
    refs, arns = queues.create(stack, tables.url)
    monkeypatch.setenv("IMPORT_BUCKET", refs["ImportBucket"])
    monkeypatch.setenv("WORK_QUEUE_URL", refs["WorkQueue"])
    importer = Importer(api, refs, arns, tables.url)
    importer.drain()
    return importer


def history(api: Api) -> None:
    """Three members: Ann buys $90 and $30 online in June (900 + 300 points, Bronze then no tier), Bo buys
    $50 in store in June (250), Cy buys $40 online in August (outside the period)."""
    for member in ("ann", "bo", "cy"):
        api.enroll(member)
    assert api.purchase("ann", "a1", "90.00", occurred_at="2026-06-02T15:00:00Z").status == 201
    assert api.purchase("ann", "a2", "30.00", occurred_at="2026-06-03T15:00:00Z").status == 201
    assert api.purchase("bo", "b1", "50.00", channel="store", occurred_at="2026-06-05T15:00:00Z").status == 201
    assert api.purchase("cy", "c1", "40.00", occurred_at="2026-08-05T15:00:00Z").status == 201


def run(api: Api, worker: Importer, config: dict[str, Any]) -> dict[str, Any]:
    started = api.post("/admin/what-if", {"config": config, "from": "2026-06-01", "to": "2026-06-30"}, admin=True)
    assert started.status == 202, started.body
    worker.drain()
    found = api.get(f"/admin/what-if/{started.body['job_id']}", admin=True)
    assert found.status == 200 and found.body["status"] == "completed", found.body
    return dict(found.body["report"])


def test_double_online_rates_would_have_issued_more_and_made_ann_silver(api: Api, program: dict,
                                                                        worker: Importer) -> None:
    # Given a history, and a proposal: 20 points per dollar online (was 10)
    history(api)
    proposed = {**program, "earn_rates": {**program["earn_rates"], "online": 20}}
    # When the June period is replayed under it
    report = run(api, worker, proposed)
    # Then the three June purchases are replayed: Ann's 1,200 points become 2,550 (she reaches Silver,
    # 1,000 qualifying, after the first, so the second earns x1.25), Bo's store purchase is unchanged
    assert report["purchases_replayed"] == 3
    assert report["points"] == {"current": 1450, "proposed": 1800 + 750 + 250, "delta": 1350}
    assert report["tier_changes"] == {}  # Silver either way, sooner
    assert report["members_affected"] == 1
    # And the liability would grow by the extra points at $0.01
    assert report["liability_value_delta"] == {"amount": "13.50", "currency": "USD"}
    # When Silver needs 1,500 qualifying points instead
    tiers = [{**tier, "threshold": 1500} if tier["name"] == "Silver" else tier for tier in program["tiers"]]
    stricter = run(api, worker, {**program, "tiers": tiers})
    # Then Ann, Silver today with 1,200, would have stayed Bronze; the points are the same
    assert stricter["tier_changes"] == {"Silver→Bronze": 1}
    assert stricter["points"]["delta"] == 0 and stricter["members_affected"] == 1


def test_a_replay_in_steps_reports_what_one_step_reports(api: Api, program: dict, worker: Importer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the same history, replayed once whole and once one member a step
    from loyalty.services import whatif

    history(api)
    proposed = {**program, "earn_rates": {**program["earn_rates"], "online": 5, "store": 10}}
    whole = run(api, worker, proposed)
    monkeypatch.setattr(whatif, "MEMBERS_PER_STEP", 1)
    stepped = run(api, worker, proposed)
    # Then both report the same
    assert stepped == whole
    assert whole["points"]["proposed"] == 450 + 150 + 500


def test_a_bad_proposal_is_a_422_naming_the_config_field(api: Api, program: dict, worker: Importer) -> None:
    bad = api.post("/admin/what-if", {"config": {**program, "earn_rates": {"online": -1}}, "from": "2026-06-01",
                                      "to": "2026-06-30"}, admin=True)
    assert bad.status == 422 and bad.body["errors"][0]["field"].startswith("config.earn_rates")
    backwards = api.post("/admin/what-if", {"config": program, "from": "2026-06-30", "to": "2026-06-01"}, admin=True)
    assert backwards.status == 422
    assert api.get("/admin/what-if/01HNOTAJOB", admin=True).status == 404


def test_a_redelivered_step_changes_nothing(api: Api, program: dict, worker: Importer,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a what-if done in steps of one member
    from loyalty.services import whatif

    history(api)
    monkeypatch.setattr(whatif, "MEMBERS_PER_STEP", 1)
    started = api.post("/admin/what-if", {"config": program, "from": "2026-06-01", "to": "2026-06-30"}, admin=True)
    worker.drain()
    job_id = started.body["job_id"]
    done = api.get(f"/admin/what-if/{job_id}", admin=True).body
    # When its first and second steps are delivered again
    whatif.run_step(job_id, 0)
    whatif.run_step(job_id, 1)
    worker.drain()
    # Then the job and its report are as they were (no step ran twice)
    assert api.get(f"/admin/what-if/{job_id}", admin=True).body == done
    assert done["report"]["points"]["delta"] == 0 and done["report"]["members_affected"] == 0


def test_a_step_that_fails_every_try_fails_its_job_saying_why(api: Api, program: dict, worker: Importer,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a what-if whose replay breaks on every try
    from loyalty.services import whatif

    history(api)

    def broken(*args: Any) -> Any:
        raise KeyError("a bug in the replay")

    monkeypatch.setattr(whatif, "_member_totals", broken)
    started = api.post("/admin/what-if", {"config": program, "from": "2026-06-01", "to": "2026-06-30"}, admin=True)

    # When the worker runs until the queue gives the step up
    worker.drain()

    # Then the job is failed, not running forever, and says which step, how often and why
    found = api.get(f"/admin/what-if/{started.body['job_id']}", admin=True).body
    assert found["status"] == "failed"
    assert found["error"] == "step 0 failed 5 times (KeyError); start the what-if again"
