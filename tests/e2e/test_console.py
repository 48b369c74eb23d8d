"""The back-office console in headless Chromium (Debian's package, driven by playwright): sign in with an
admin token, search a member, open it, adjust points and see the new ledger row; cancel a redemption;
block and unblock. Every action goes through the public API."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loyalty_local import tokens
from loyalty_local.template import PROJECT_ROOT
from tests.e2e.conftest import Http

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it as root)")


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


def test_an_admin_finds_a_member_adjusts_points_and_sees_the_new_ledger_row(local_stack: Http, browser: Any) -> None:
    # Given a member with a purchase and a redemption
    member = local_stack.enroll()
    email = f"{member}@example.com"
    local_stack.purchase(member, "42.00")
    redeemed = local_stack.call("POST", f"/members/{member}/redemptions", {"points": 20, "description": "coffee"},
                                sub=member, key=f"c-{member}").json()

    # When an admin signs in and searches the member's email
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{local_stack.url}/console/#token={tokens.issue('ops', admin=True)}")
    page.fill("#search input[name=q]", email.upper())
    page.click("#search button")
    # Then the member opens (the only match) with its balance and ledger
    page.wait_for_selector(f'#member[data-member="{member}"]')
    assert page.text_content('[data-field="points.available"]') == "400"
    assert page.locator("#ledger tbody tr").count() == 2

    # When the admin adjusts the points by 123 with a reason
    page.fill("#adjust input[name=points]", "123")
    page.fill("#adjust input[name=reason]", "late delivery")
    page.click("#adjust button")
    # Then a new ledger row shows the adjustment, and the balance follows
    page.wait_for_selector('#ledger tbody tr[data-type="adjust"][data-points="123"]')
    assert page.text_content('[data-field="points.available"]') == "523"
    assert "late delivery" in page.text_content('#ledger tbody tr[data-type="adjust"]')

    # When the admin cancels the redemption (the reason comes from a prompt)
    page.once("dialog", lambda dialog: dialog.accept("refund"))
    page.click(f'button[data-cancel="{redeemed["redemption_id"]}"]')
    page.wait_for_selector('#ledger tbody tr[data-type="redeem_reversal"]')
    assert page.text_content('[data-field="points.available"]') == "543"

    # And blocks, then unblocks the member
    page.fill("#block input[name=reason]", "suspicious activity")
    page.click("#block-button")
    page.wait_for_selector('[data-field="status"].status-blocked')
    assert local_stack.call("GET", f"/members/{member}", sub=member).json()["status"] == "blocked"
    page.click("#unblock-button")
    page.wait_for_function("document.querySelector('[data-field=\"status\"]').textContent === 'active'")

    # The screenshot in the docs is this page (refreshed with CONSOLE_SCREENSHOT=1)
    if os.environ.get("CONSOLE_SCREENSHOT"):
        page.screenshot(path=str(PROJECT_ROOT / "docs" / "console.png"), full_page=True)
    # And the API agrees with what the page showed
    assert local_stack.call("GET", f"/members/{member}", sub=member).json()["points"]["available"] == 543
    entries: list[dict[str, Any]] = []
    params = {"limit": "100"}
    while True:
        page_of_log = local_stack.call("GET", "/admin/audit", sub="ops", admin=True, params=params).json()
        entries.extend(page_of_log["items"])
        if not page_of_log["next_cursor"]:
            break
        params = {"limit": "100", "after": page_of_log["next_cursor"]}
    mine = [entry["action"] for entry in entries if entry["target"] == f"member:{member}"]
    assert mine == ["points.adjusted", "redemption.cancelled", "member.blocked", "member.unblocked"]


def test_a_search_that_finds_nothing_says_so(local_stack: Http, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page()
    page.goto(f"{local_stack.url}/console/?q=nobody-at-all%40example.com#token={tokens.issue('ops', admin=True)}")
    page.wait_for_selector('#results[data-count="0"]')
    assert "No member found" in page.text_content("#error")


def test_the_console_lists_campaigns_with_their_results(local_stack: Http, browser: Any) -> None:
    # Given a campaign that has given a member points
    import uuid

    campaign_id = f"console-{uuid.uuid4().hex[:8]}"
    created = local_stack.call("POST", "/admin/campaigns", {
        "campaign_id": campaign_id, "name": "Console bonus", "starts_at": "2020-01-01T00:00:00Z",
        "ends_at": "2099-01-01T00:00:00Z", "trigger": "purchase", "effects": [{"type": "bonus_points", "points": 7}],
        "budget_points": 1000}, sub="ops", admin=True)
    assert created.status_code == 201, created.text
    member = local_stack.enroll()
    local_stack.purchase(member, "1.00")
    assert local_stack.call("POST", "/local/stream/drain").status_code == 200
    # When an admin opens the campaigns
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{local_stack.url}/console/#token={tokens.issue('ops', admin=True)}")
    page.click("#campaigns-button")
    # Then the campaign's row shows what it awarded and to whom
    row = f'#campaigns tr[data-campaign="{campaign_id}"]'
    page.wait_for_selector(row)
    assert page.text_content(f'{row} [data-field="points_awarded"]') == "7"
    assert page.text_content(f'{row} [data-field="treated"]') == "1"
    # And it is deactivated later, everywhere at once: the campaign is off for the next purchase
    local_stack.call("PUT", f"/admin/campaigns/{campaign_id}", {**created.json(), "active": False}, sub="ops",
                     admin=True)


def test_an_admin_approves_a_flagged_referral_in_the_console(local_stack: Http, browser: Any) -> None:
    # Given a referral the safeguards flagged (the referee's mailbox is its referrer's, spelled otherwise)
    import uuid

    name = uuid.uuid4().hex[:8]
    referrer = f"ref-{name}"
    code = local_stack.call("POST", "/members", {"email": f"ref.{name}@gmail.com", "name": "Ref"},
                            sub=referrer).json()["referral_code"]
    referee = f"twin-{name}"
    assert local_stack.call("POST", "/members", {"email": f"ref{name}+2@gmail.com", "name": "Twin",
                                                 "referral_code": code}, sub=referee).status_code == 201
    # When an admin lists the flagged referrals and approves it, giving a reason
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("dialog", lambda dialog: dialog.accept("checked by phone"))
    page.goto(f"{local_stack.url}/console/#token={tokens.issue('ops', admin=True)}")
    page.click("#referrals-button")
    row = f'#referrals tr[data-referral="{referee}"]'
    page.wait_for_selector(row)
    assert page.text_content(f'{row} [data-field="reasons"]') == "email"
    page.click(f'{row} button[data-action="approve"]')
    # Then it is approved, and leaves the flagged list
    page.wait_for_function("document.querySelector('#notice').textContent.includes('rewarded')")
    page.wait_for_selector(row, state="detached")
    decided = local_stack.call("GET", "/admin/referrals?status=rewarded&limit=100", sub="ops", admin=True).json()
    assert any(item["referral_id"] == referee and item["decision_reason"] == "checked by phone"
               for item in decided["items"])


@pytest.fixture
def households_enabled(local_stack: Http) -> Iterator[None]:
    config = local_stack.call("GET", "/program", sub="ops", admin=True).json()
    config.pop("version", None)
    config.pop("spin_odds", None)
    enabled = {**config, "households": {"enabled": True}}
    assert local_stack.call("PUT", "/admin/program", enabled, sub="ops", admin=True).status_code == 200
    yield
    assert local_stack.call("PUT", "/admin/program", config, sub="ops", admin=True).status_code == 200


def test_the_console_shows_a_members_household_and_the_pools_activity(local_stack: Http, browser: Any,
                                                                      households_enabled: None) -> None:
    # Given two members in one household, one of whom bought something since
    owner, other = local_stack.enroll(), local_stack.enroll()
    created = local_stack.call("POST", "/households", {"name": "The Console Family"}, sub=owner).json()
    household_id = created["household_id"]
    code = local_stack.call("POST", f"/households/{household_id}/invitations", {}, sub=owner).json()["code"]
    assert local_stack.call("POST", f"/households/{household_id}/members", {"code": code},
                            sub=other).status_code == 200
    local_stack.purchase(other, "12.00")
    # When an admin opens the member
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{local_stack.url}/console/?q={other}#token={tokens.issue('ops', admin=True)}")
    page.wait_for_selector(f'#household[data-household="{household_id}"]')
    # Then the console shows the household, its pool and who contributed what, and the pool's ledger
    assert "The Console Family (member)" in page.text_content("#household-title")
    assert page.text_content('[data-pool="points.available"]') == "120"
    assert page.locator("#household-members tbody tr").count() == 2
    earned = page.locator('#household-ledger tbody tr[data-type="earn"]')
    assert earned.count() == 1 and other in earned.first.text_content()


def test_the_console_shows_a_members_challenges_and_badges(local_stack: Http, browser: Any) -> None:
    import uuid

    # Given a badge and a challenge only a basket with one unique SKU advances (other tests' purchases do not)
    tag = uuid.uuid4().hex[:10]
    sku = f"console-{tag}"
    assert local_stack.call("POST", "/admin/badges", {"badge_id": f"console-{tag}", "name": "Console fan"},
                            sub="ops", admin=True).status_code == 201
    challenge = {"challenge_id": f"console-{tag}", "name": "Buy the console SKU", "starts_at": "2020-01-01T00:00:00Z",
                 "ends_at": "2099-01-01T00:00:00Z", "goal": {"event": "purchase", "count": 1, "conditions": [
                     {"fact": "basket.skus", "op": "contains", "value": sku}]},
                 "reward": {"points": 7, "badge_id": f"console-{tag}"}}
    assert local_stack.call("POST", "/admin/challenges", challenge, sub="ops", admin=True).status_code == 201
    try:
        # And a member who bought it
        member = local_stack.enroll()
        bought = local_stack.call("POST", f"/members/{member}/purchases", {
            "order_id": f"o-{tag}", "total": {"amount": "5.00", "currency": "USD"}, "channel": "online",
            "items": [{"sku": sku, "quantity": 1, "unit_price": {"amount": "5.00", "currency": "USD"}}]},
            sub="pos", trusted=True, key=f"p-{tag}")
        assert bought.status_code == 201, bought.text
        # When an admin opens the member
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{local_stack.url}/console/?q={member}#token={tokens.issue('ops', admin=True)}")
        page.wait_for_selector(f'#member[data-member="{member}"]')
        # Then the console shows the challenge completed and the badge earned once
        row = page.locator("#challenges tbody tr", has_text="Buy the console SKU")
        assert row.count() == 1 and "completed" in row.first.text_content()
        assert "Console fan" in page.text_content("#badges tbody")
        assert page.locator('#ledger tbody tr[data-type="challenge"][data-points="7"]').count() == 1
    finally:
        local_stack.call("PUT", f"/admin/challenges/{challenge['challenge_id']}", {**challenge, "active": False},
                         sub="ops", admin=True)
