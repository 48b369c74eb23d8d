"""The metrics page in headless Chromium (Debian's package): it loads, signs in with an admin token,
and draws the charts with exactly the numbers the API gives."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from loyalty_local import tokens
from tests.e2e.conftest import Http

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--virtual-time-budget=15000"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it as root)")


def browse(url: str, profile: Path, *extra: str) -> str:
    result = subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *extra, url],
                            capture_output=True, text=True, timeout=120, check=True)
    return result.stdout


def test_the_dashboard_draws_the_api_numbers(local_stack: Http, tmp_path: Path) -> None:
    # Given some activity today
    member = local_stack.enroll()
    local_stack.purchase(member, "42.00")
    local_stack.call("POST", f"/members/{member}/redemptions", {"points": 20, "description": "x"}, sub=member,
                     key=f"d-{member}")
    local_stack.call("POST", f"/members/{member}/feedback", {"score": 10}, sub=member)
    assert local_stack.call("POST", "/local/stream/drain").status_code == 200
    today = datetime.now(ZoneInfo("America/New_York")).date().isoformat()
    period = {"from": today, "to": today}
    expected = local_stack.call("GET", "/admin/metrics", sub="ops", admin=True, params=period).json()
    liability = local_stack.call("GET", "/admin/liability", sub="ops", admin=True).json()

    # When an admin opens the page (the token in the fragment, as a sign-in would store it)
    token = tokens.issue("ops", admin=True)
    url = f"{local_stack.url}/dashboard/?from={today}&to={today}#token={token}"
    dom = browse(url, tmp_path / "profile", "--dump-dom")

    # Then it signed in, and every figure and chart holds the API's numbers
    assert 'data-state="ready"' in dom
    kpis = {name: html.unescape(value) for name, value in re.findall(r'data-kpi="([^"]+)">([^<]*)<', dom)}
    assert kpis["members.total"] == str(expected["members"]["total"])
    assert kpis["members.new"] == str(expected["members"]["new"])
    assert kpis["points.issued"] == str(expected["points"]["issued"])
    assert kpis["points.redeemed"] == str(expected["points"]["redeemed"])
    assert kpis["redemption_rate"] == str(expected["redemption_rate"])
    assert kpis["liability.outstanding_points"] == str(liability["outstanding_points"])
    charts = {name: json.loads(html.unescape(values))
              for name, values in re.findall(r'id="(\w+)"[^>]*data-values="([^"]*)"', dom)}
    assert set(charts) == {"points", "members", "retention", "tiers", "nps", "engagement", "challenges", "partners",
                           "campaigns"}
    assert charts["challenges"][0] == list(expected["challenges_completed"].values())
    assert kpis["points.campaigns"] == str(expected["points"]["campaigns"])
    assert sum(charts["points"][0]) == expected["points"]["issued"]
    assert sum(charts["points"][1]) == expected["points"]["redeemed"]
    assert charts["nps"][0] == [expected["nps"]["promoters"], expected["nps"]["passives"],
                                expected["nps"]["detractors"]]

    # And it renders to a picture (docs/dashboard.png is one, taken after `loyalty-local simulate`)
    picture = tmp_path / "dashboard.png"
    browse(url, tmp_path / "profile2", "--window-size=1400,1750", f"--screenshot={picture}")
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 20_000


def test_without_a_token_the_page_asks_to_sign_in(local_stack: Http, tmp_path: Path) -> None:
    dom = browse(f"{local_stack.url}/dashboard/", tmp_path / "profile", "--dump-dom")
    assert 'data-state="signed-out"' in dom and "Sign in" in dom
