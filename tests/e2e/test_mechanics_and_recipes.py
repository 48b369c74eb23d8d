"""Mechanics under concurrency over HTTP, and every recipe of the docs site run exactly as written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from loyalty_local.template import PROJECT_ROOT
from tests.e2e.conftest import Http, running_stack


@pytest.fixture(scope="module")
def mechanics_stack(local_home: Path) -> Iterator[Http]:
    """A stack of its own: the recipes and these tests rewrite the program."""
    with running_stack(local_home) as http:
        yield http


def with_spin(http: Http, budget: int) -> None:
    program = http.call("GET", "/program", sub="ops", admin=True).json()
    program.pop("version")
    program.pop("spin_odds", None)
    program["spin"] = {"prizes": [{"prize_id": "p10", "kind": "points", "points": 10, "weight": 1}],
                       "limit": {"count": 1, "per": "day"}, "budget_points": budget}
    assert http.call("PUT", "/admin/program", program, sub="ops", admin=True).status_code == 200


def test_ten_parallel_spins_with_a_limit_of_one_a_day_make_one_spin(mechanics_stack: Http) -> None:
    with_spin(mechanics_stack, budget=10_000_000)
    member = mechanics_stack.enroll()

    def spin(_: int) -> int:
        return mechanics_stack.call("POST", f"/members/{member}/spins", sub=member,
                                    key=uuid.uuid4().hex).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(spin, range(10)))
    assert statuses.count(201) == 1 and statuses.count(429) == 9, statuses


def test_the_prize_budget_is_never_exceeded_under_concurrent_spins(local_home: Path) -> None:
    # Given a stack of its own (no earlier spin has used the budget) whose wheel always wins 10 points,
    # with a budget of 50 points, and 20 members
    with running_stack(local_home) as http:
        with_spin(http, budget=50)
        members = [http.enroll() for _ in range(20)]

        def spin(member: str) -> int:
            response = http.call("POST", f"/members/{member}/spins", sub=member, key=uuid.uuid4().hex)
            assert response.status_code == 201
            return int(response.json()["points"])

        # When all 20 spin at once
        with ThreadPoolExecutor(max_workers=20) as pool:
            won = list(pool.map(spin, members))
    # Then exactly five win (the budget), and the other fifteen land on nothing
    assert sum(won) == 50 and won.count(10) == 5 and won.count(0) == 15


# The recipes of a shop's systems' flows, each run by a test of its own after the set-up block (not in the
# run of every program's recipe: they change the clock and the program as they go).
FLOWS = ("checkout", "migrate", "gold-weekend", "review-challenge")


def recipe_blocks() -> list[tuple[str, str]]:
    page = (PROJECT_ROOT / "docs" / "recipes.md").read_text()  # the docs site's recipes page
    blocks = re.findall(r"```sh\n(# recipe: ([\w-]+)\n.*?)```", page, re.S)
    return [(name, body) for body, name in blocks]


def program_recipe_blocks() -> list[tuple[str, str]]:
    return [(name, body) for name, body in recipe_blocks() if name not in FLOWS]


def test_the_recipes_page_has_a_recipe_per_program_and_flow() -> None:
    names = [name for name, _ in recipe_blocks()]
    assert names == ["set-up", "amazon-prime", "myhunkemoller", "the-body-shop", "ikea-family",
                     "disney-movie-insiders", "sephora-beauty-insider", "the-north-face", "lancome", "kipling",
                     "starbucks", *FLOWS]


def test_every_recipe_runs_as_written(mechanics_stack: Http) -> None:
    script = "set -euo pipefail\n" + "\n".join(body for _, body in program_recipe_blocks())
    environment = {**os.environ, "API": mechanics_stack.url}
    result = subprocess.run(["bash", "-c", script], cwd=PROJECT_ROOT, env=environment, capture_output=True,
                            text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    output = result.stdout
    assert '"name":"Prime"' in output.replace(" ", "") or '"name": "Prime"' in output
    assert "prime-day-deal" in output and "sb-tea" in output and "sb-coffee" not in output.split("sb-tea")[-1]


def test_the_checkout_recipe_runs_as_written(mechanics_stack: Http) -> None:
    # Given the recipes' set-up block, when the checkout recipe runs as written
    blocks = dict(recipe_blocks())
    setup, checkout = blocks["set-up"], blocks["checkout"]
    script = "set -euo pipefail\n" + setup + "\n" + checkout
    result = subprocess.run(["bash", "-c", script], cwd=PROJECT_ROOT, env={**os.environ, "API": mechanics_stack.url},
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # Then the member ends with every point back: nothing held, nothing lost
    member = json.loads(result.stdout.strip().splitlines()[-1])
    assert (member["points"]["available"], member["points"]["held"]) == (500, 0)
    cancelled = json.loads(result.stdout.strip().splitlines()[-2])
    assert cancelled["status"] == "cancelled" and cancelled["reversal"]["points"] == 250


def recipe_output(stack: Http, name: str) -> list[dict[str, Any]]:
    """Runs the recipe `name` after the recipes' set-up block, as written; its JSON lines."""
    blocks = dict(recipe_blocks())
    setup, recipe = blocks["set-up"], blocks[name]
    result = subprocess.run(["bash", "-c", "set -euo pipefail\n" + setup + "\n" + recipe], cwd=PROJECT_ROOT,
                            env={**os.environ, "API": stack.url}, capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.strip().splitlines() if line.startswith("{")]


def test_the_migrate_recipe_runs_as_written(mechanics_stack: Http) -> None:
    # Given the recipes' set-up block, when the bulk import recipe runs as written
    lines = recipe_output(mechanics_stack, "migrate")
    # Then each import completed as its comment says, and Ann is Gold with her lots and her purchase
    members, orders, again, ann = lines[-4:]
    assert (members["status"], members["imported"]) == ("completed", 2)
    assert (orders["status"], orders["imported"]) == ("completed", 1)
    assert (again["imported"], again["skipped"]) == (0, 2)
    assert (ann["tier"]["name"], ann["points"]["available"]) == ("Gold", 2100)


def test_the_campaign_recipe_runs_as_written(mechanics_stack: Http) -> None:
    # Given the recipes' set-up block, when the campaign recipe runs as written
    from loyalty.domain.campaigns import in_holdout

    lines = recipe_output(mechanics_stack, "gold-weekend")
    # Then the Gold member's shoes earned double, unless the member is in the holdout, as the report counts
    created, purchase, report = lines[0], lines[-2], lines[-1]
    held_out = in_holdout(created["campaign_id"], purchase["member_id"], 10)
    rows = {row["rule"]: row["points"] for row in purchase["breakdown"]}
    assert purchase["points"] == (1800 if held_out else 3300)
    assert rows.get(f"campaign:{created['campaign_id']}") == (None if held_out else 1500)
    group = "holdout" if held_out else "treated"
    assert report[group]["members"] == 1 and report[group]["purchases"] == 1
    assert report["points_awarded"] == (0 if held_out else 1500)


def test_the_challenge_recipe_runs_as_written(mechanics_stack: Http) -> None:
    # Given the recipes' set-up block, when the challenge recipe runs as written (with a retried review)
    lines = recipe_output(mechanics_stack, "review-challenge")
    challenges, badges, activity = lines[-3:]
    # Then the member completed it once: one challenge entry of 300 points, the badge once
    challenge_id = lines[1]["challenge_id"]
    shown = {item["challenge_id"]: item for item in challenges["items"]}[challenge_id]
    assert (shown["status"], shown["times_completed"], shown["progress"]) == ("completed", 1, 3)
    assert [(item["name"], item["times"]) for item in badges["items"]] == [("Critic", 1)]
    assert [(entry["points"], entry["breakdown"][0]["rule"]) for entry in activity["items"]] == [
        (300, f"challenge:{challenge_id}")]
