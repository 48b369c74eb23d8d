"""Clients generated from the committed OpenAPI documents (openapi-python-client, as an integrator would
run it) work without a hand-written workaround: they generate without a warning, and a whole flow runs
through them alone over HTTP on the local stack, Idempotency-Keys, replays and a program round-trip
(GET -> edit -> PUT) included."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from loyalty_local import openapi
from tests.e2e.conftest import Http, running_stack

MEMBER_CLIENT = "loyalty_member_client"
PARTNER_CLIENT = "loyalty_partner_client"


def generate(document: Path, package: str, into: Path) -> str:
    """The generator's own output; it needs ruff on PATH to format what it writes, as its docs say."""
    bin_dir = str(Path(sys.executable).parent)
    result = subprocess.run(
        [os.path.join(bin_dir, "openapi-python-client"), "generate", "--path", str(document), "--meta", "none",
         "--output-path", str(into / package)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModuleType, ModuleType, str, str]]:
    into = tmp_path_factory.mktemp("generated")
    member_output = generate(openapi.MEMBER_DOCUMENT, MEMBER_CLIENT, into)
    partner_output = generate(openapi.PARTNER_DOCUMENT, PARTNER_CLIENT, into)
    sys.path.insert(0, str(into))
    try:
        yield (importlib.import_module(MEMBER_CLIENT), importlib.import_module(PARTNER_CLIENT), member_output,
               partner_output)
    finally:
        sys.path.remove(str(into))


@pytest.fixture(scope="module")
def stack(local_home: Path) -> Iterator[Http]:
    """A stack of its own: the flow replaces the program."""
    with running_stack(local_home) as http:
        yield http


def test_both_documents_generate_without_a_warning(clients: tuple[ModuleType, ModuleType, str, str]) -> None:
    _, _, member_output, partner_output = clients
    for output in (member_output, partner_output):
        assert "Warning" not in output and "Error" not in output, output


def call(module_path: str, **kwargs: Any) -> Any:
    """One generated operation, sync_detailed: the status, headers and parsed body as the client gives them."""
    return importlib.import_module(module_path).sync_detailed(**kwargs)


def test_a_whole_flow_through_the_generated_clients(clients: tuple[ModuleType, ModuleType, str, str],
                                                    stack: Http) -> None:
    member_client, partner_client, _, _ = clients
    m, p = MEMBER_CLIENT, PARTNER_CLIENT
    models = importlib.import_module(f"{m}.models")
    partner_models = importlib.import_module(f"{p}.models")

    def as_user(sub: str, **roles: bool) -> Any:
        return member_client.AuthenticatedClient(base_url=stack.url, token=stack.token(sub, **roles),
                                                 raise_on_unexpected_status=True)

    admin, pos = as_user("ops", admin=True), as_user("till", trusted=True)
    alice_id = f"alice-{uuid.uuid4().hex[:8]}"
    alice = as_user(alice_id)

    # Given the program read, given a prize wheel, and PUT back as read (server-computed fields included)
    program = call(f"{m}.api.catalog.get_program", client=alice).parsed
    config = program.to_dict()
    config["spin"] = {"prizes": [{"prize_id": "p10", "kind": "points", "points": 10, "weight": 3},
                                 {"prize_id": "none", "kind": "nothing", "weight": 1}],
                      "limit": {"count": 5, "per": "day"}, "budget_points": 100000}
    config["causes"] = {"trees": {"name": "Plant trees"}}
    put = call(f"{m}.api.admin.put_program", client=admin, body=models.ProgramConfig.from_dict(config))
    assert put.status_code == 200
    with_wheel = call(f"{m}.api.catalog.get_program", client=alice).parsed
    assert with_wheel.spin_odds and with_wheel.version == put.parsed.version
    again = call(f"{m}.api.admin.put_program", client=admin,
                 body=models.ProgramConfig.from_dict(with_wheel.to_dict()))
    assert again.status_code == 200 and again.parsed.version == with_wheel.version + 1

    # And a reward, a member
    reward_id = f"mug-{uuid.uuid4().hex[:6]}"
    created = call(f"{m}.api.admin.create_reward", client=admin, body=models.RewardRequest.from_dict(
        {"reward_id": reward_id, "name": "Mug", "points": 100}))
    assert created.status_code == 201
    enrolled = call(f"{m}.api.members.enroll_member", client=alice, body=models.EnrollRequest.from_dict(
        {"email": f"{alice_id}@example.com", "name": "Alice", "preferences": {"drink": "tea"}}))
    assert enrolled.status_code == 201

    # When a till records purchases in two currencies, one of them twice with the same key
    def purchase(order_id: str, amount: str, currency: str) -> Any:
        return call(f"{m}.api.points.record_purchase", member_id=alice_id, client=pos,
                    idempotency_key=f"key-{order_id}", body=models.PurchaseRequest.from_dict(
                        {"order_id": order_id, "total": {"amount": amount, "currency": currency},
                         "channel": "online", "items": [{"sku": "bean", "quantity": 2,
                                                         "unit_price": {"amount": "1.00", "currency": currency}}]}))

    first = purchase("o-1", "120.00", "USD")
    replayed = purchase("o-1", "120.00", "USD")
    euros = purchase("o-2", "50.00", "EUR")
    # Then the replay is the first answer, marked
    assert first.status_code == replayed.status_code == euros.status_code == 201, (first.content, euros.content)
    assert replayed.headers.get("idempotent-replayed") == "true" and replayed.parsed.entry_id == first.parsed.entry_id

    # And the activity pages by cursor; offers, a redemption, a return, an adjustment, an action
    page = call(f"{m}.api.members.list_activity", member_id="me", client=alice, limit=1)
    assert page.status_code == 200 and page.parsed.next_cursor
    second_page = call(f"{m}.api.members.list_activity", member_id="me", client=alice, limit=1,
                       cursor=page.parsed.next_cursor)
    assert second_page.parsed.items[0].entry_id != page.parsed.items[0].entry_id
    assert call(f"{m}.api.catalog.list_offers", member_id="me", client=alice).status_code == 200
    redeemed = call(f"{m}.api.points.redeem", member_id="me", client=alice, idempotency_key="r-1",
                    body=models.RedemptionRequest.from_dict({"reward_id": reward_id}))
    assert redeemed.status_code == 201 and redeemed.parsed.code
    returned = call(f"{m}.api.points.record_return", member_id=alice_id, client=pos, idempotency_key="ret-1",
                    body=models.ReturnRequest.from_dict({"order_id": "o-1",
                                                         "refund": {"amount": "20.00", "currency": "USD"}}))
    assert returned.status_code == 201
    adjusted = call(f"{m}.api.admin.adjust_points", member_id=alice_id, client=admin, idempotency_key="adj-1",
                    body=models.AdjustmentRequest.from_dict({"points": 25, "reason": "Goodwill"}))
    assert adjusted.status_code == 201
    shared = call(f"{m}.api.engagement.record_action", member_id="me", client=alice,
                  body=models.ActionRequest.from_dict({"action": "social_share"}))
    assert shared.status_code == 201
    spun = call(f"{m}.api.mechanics.spin", member_id="me", client=alice, idempotency_key="spin-1")
    assert spun.status_code == 201
    donated = call(f"{m}.api.mechanics.donate_points", member_id="me", client=alice, idempotency_key="don-1",
                   body=models.DonationRequest.from_dict({"cause_id": "trees", "points": 5}))
    assert donated.status_code == 201
    referral = call(f"{m}.api.members.get_referral", member_id="me", client=alice).parsed
    assert referral.referral_code
    member = call(f"{m}.api.members.get_member", member_id="me", client=alice).parsed
    assert member.points.available > 0
    metrics = call(f"{m}.api.admin.get_metrics", client=admin)
    assert metrics.status_code == 200

    # When a partner is onboarded and runs a promotion with codes, and earns points for a member
    onboarded = call(f"{m}.api.admin.onboard_partner", client=admin, body=models.PartnerRequest.from_dict(
        {"name": "Brew Co", "contact_email": "brew@example.com"}))
    assert onboarded.status_code == 201
    partner = partner_client.Client(base_url=stack.url, headers={"x-api-key": onboarded.parsed.api_key},
                                    raise_on_unexpected_status=True)
    promotion = call(f"{p}.api.partner.create_promotion", client=partner, idempotency_key="promo-1",
                     body=partner_models.PromotionRequest.from_dict(
                         {"name": "Free beans", "kind": "bonus_points", "points": 50, "budget_points": 5000,
                          "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}))
    assert promotion.status_code == 201
    promotion_id = promotion.parsed.promotion_id
    codes = call(f"{p}.api.partner.issue_codes", promotion_id=promotion_id, client=partner,
                 body=partner_models.CodesRequest.from_dict({"count": 2}))
    assert codes.status_code == 201
    claimed = call(f"{m}.api.points.claim_code", member_id="me", client=alice,
                   body=models.ClaimRequest.from_dict({"code": codes.parsed.codes[0]}))
    assert claimed.status_code == 201
    earned = call(f"{p}.api.partner.record_partner_earn", client=partner, idempotency_key="pe-1",
                  body=partner_models.PartnerEarnRequest.from_dict(
                      {"member_id": alice_id, "order_id": "brew-1", "total": {"amount": "12.00", "currency": "USD"}}))
    assert earned.status_code == 201
    report = call(f"{p}.api.partner.get_promotion_report", promotion_id=promotion_id, client=partner)
    assert report.parsed.codes_claimed == 1
    month = first.parsed.recorded_at[:7]
    settlement = call(f"{p}.api.partner.get_settlement", client=partner, month=month)
    assert settlement.status_code == 200
    webhook = call(f"{p}.api.partner.register_webhook", client=partner,
                   body=partner_models.WebhookRequest.from_dict({"url": "https://example.com/hook"}))
    assert webhook.status_code == 201
    removed = call(f"{p}.api.partner.remove_webhook", webhook_id=webhook.parsed.webhook_id, client=partner)
    # Then every call answered as its document says (the client raised on nothing), the removal included
    assert removed.status_code == 200 and removed.parsed.status == "deleted"


def test_every_error_a_call_can_answer_parses_in_the_generated_client(
        clients: tuple[ModuleType, ModuleType, str, str], stack: Http) -> None:
    member_client, partner_client, _, _ = clients
    m, p = MEMBER_CLIENT, PARTNER_CLIENT
    models = importlib.import_module(f"{m}.models")

    def as_user(sub: str, **roles: bool) -> Any:
        return member_client.AuthenticatedClient(base_url=stack.url, token=stack.token(sub, **roles),
                                                 raise_on_unexpected_status=True)

    bea_id, cal_id = f"bea-{uuid.uuid4().hex[:8]}", f"cal-{uuid.uuid4().hex[:8]}"
    bea, cal = as_user(bea_id), as_user(cal_id)
    for who, member_id in ((bea, bea_id), (cal, cal_id)):
        assert call(f"{m}.api.members.enroll_member", client=who, body=models.EnrollRequest.from_dict(
            {"email": f"{member_id}@example.com", "name": member_id.title()})).status_code == 201
    # When a member reads another member (the function's 403), goes past an action's cap (its 429), and calls
    # with a forged token (the gateway's own 401)
    forbidden = call(f"{m}.api.members.get_member", member_id=cal_id, client=bea)
    first = call(f"{m}.api.engagement.record_action", member_id="me", client=bea,
                 body=models.ActionRequest.from_dict({"action": "social_share"}))
    capped = call(f"{m}.api.engagement.record_action", member_id="me", client=bea,
                  body=models.ActionRequest.from_dict({"action": "social_share"}))
    forged = call(f"{m}.api.members.get_member", member_id="me", client=member_client.AuthenticatedClient(
        base_url=stack.url, token="not.a.token", raise_on_unexpected_status=True))
    from loyalty.domain.secrets import new_api_key

    unknown_key = new_api_key()[1]  # well-formed, never issued: the authorizer denies it
    partner = partner_client.Client(base_url=stack.url, headers={"x-api-key": unknown_key},
                                    raise_on_unexpected_status=True)
    denied = call(f"{p}.api.partner.list_promotions", client=partner)
    # Then the client parses each into the documented model: the problem's code, or the gateway's message
    assert (forbidden.status_code, forbidden.parsed.code) == (403, "forbidden")
    assert first.status_code == 201
    assert (capped.status_code, capped.parsed.code) == (429, "action_limit_reached")
    assert forged.status_code == 401 and forged.parsed.message
    assert denied.status_code == 403 and denied.parsed.message
