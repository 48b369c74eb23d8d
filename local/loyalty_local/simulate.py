"""`loyalty-local simulate`: a realistic program history through the public API of a running local
stack, so a new user sees meaningful metrics and dashboards within a minute.

The stack's clock walks from `days` ago to today (POST /local/clock), and on each day members enroll
(some with a friend's referral code), shop on every channel and in two currencies from trusted back
ends, share and review, answer the NPS survey, redeem, return, claim a partner's codes and earn at the
partner; each member stops after a while (churn). Then the clock returns to now, the stream catches
up and the daily jobs run.
"""

from __future__ import annotations

import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from loyalty_local import tokens

SKUS = ["espresso", "latte", "green-tea", "croissant", "beans-1kg", "mug", "scone"]
PREFERENCES = [{"drink": "coffee"}, {"drink": "tea"}, {"drink": "coffee", "diet": "vegan"}, {}]


@dataclass
class Member:
    member_id: str
    joined: int  # day index
    leaves: int  # the day it stops coming back
    appetite: float  # chance of a purchase on a day it is around
    code: str = ""
    orders: list[str] = field(default_factory=list)
    points: int = 0


class Simulator:
    def __init__(self, url: str, members: int, days: int, seed: int) -> None:
        self.url = url.rstrip("/")
        self.count = members
        self.days = days
        self.rng = random.Random(seed)  # noqa: S311 - simulated shoppers, not secrets
        self.session = requests.Session()
        self.backend = tokens.issue("simulated-pos", scopes=["loyalty/transactions"])
        self.admin = tokens.issue("simulated-admin", admin=True)
        self.members: list[Member] = []
        self.lock = threading.Lock()
        self.requests = 0
        self.partner_key = ""
        self.codes: list[str] = []
        self.statuses: dict[int, int] = {}

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = None,
             headers: dict[str, str] | None = None) -> requests.Response:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        response = self.session.request(method, self.url + path, json=body, headers=all_headers, timeout=60)
        with self.lock:
            self.requests += 1
            self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        return response

    def at(self, moment: datetime | None) -> None:
        self.call("POST", "/local/clock", {"now": moment.isoformat() if moment else None})

    def plan_members(self) -> None:
        for number in range(self.count):
            joined = 0 if number < self.count * 0.4 else self.rng.randrange(0, self.days)
            stays = int(self.rng.expovariate(1 / max(10, self.days * 0.8)))
            self.members.append(Member(f"sim-{uuid.uuid4().hex[:10]}", joined, joined + stays,
                                       self.rng.uniform(0.05, 0.3)))

    def setup_partner(self, start: datetime) -> None:
        partner = self.call("POST", "/admin/partners", {"name": "Bean Partners", "contact_email": "hi@beans.example"},
                            token=self.admin).json()
        self.partner_key = partner["api_key"]
        promotion = self.call("POST", "/partner/promotions", {
            "name": "Beans bonus", "kind": "bonus_points", "points": 150, "budget_points": 6000,
            "max_per_member": 1, "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(days=self.days + 30)).isoformat()},
            headers={"x-api-key": self.partner_key}).json()
        self.codes = self.call("POST", f"/partner/promotions/{promotion['promotion_id']}/codes",
                               {"count": max(10, self.count // 2), "prefix": "BEANS"},
                               headers={"x-api-key": self.partner_key}).json()["codes"]

    def enroll(self, member: Member) -> None:
        body: dict[str, Any] = {"email": f"{member.member_id}@example.com", "name": member.member_id.title(),
                                "preferences": self.rng.choice(PREFERENCES)}
        referrers = [other for other in self.members if other.code and other.member_id != member.member_id]
        if referrers and self.rng.random() < 0.2:
            body["referral_code"] = self.rng.choice(referrers).code
        if self.rng.random() < 0.5:
            body.update({"birthday": f"19{self.rng.randrange(60, 99)}-{self.rng.randrange(1, 13):02d}-15",
                         "phone": "+1 555 0100"})
        response = self.call("POST", "/members", body, token=tokens.issue(member.member_id))
        if response.status_code == 201:
            member.code = response.json()["referral_code"]

    def _live(self, member: Member, seed: int) -> None:
        self.live(member, random.Random(seed))  # noqa: S311 - simulated shoppers, not secrets

    def live(self, member: Member, rng: random.Random) -> None:
        token = tokens.issue(member.member_id)
        if rng.random() < member.appetite:
            order = uuid.uuid4().hex[:12]
            currency = "EUR" if rng.random() < 0.1 else "USD"
            items = [{"sku": sku, "quantity": 1, "unit_price": {"amount": "4.00", "currency": currency}}
                     for sku in rng.sample(SKUS, rng.randrange(1, 3))]
            response = self.call("POST", f"/members/{member.member_id}/purchases", {
                "order_id": order, "total": {"amount": f"{rng.randrange(4, 60)}.{rng.randrange(0, 99):02d}",
                                             "currency": currency},
                "channel": rng.choice(["online", "store", "store", "app"]), "items": items},
                token=self.backend, headers={"Idempotency-Key": order})
            if response.status_code == 201:
                member.orders.append(order)
                member.points = response.json()["balance_after"]
        if rng.random() < 0.06:
            self.call("POST", f"/members/{member.member_id}/actions",
                      {"action": rng.choice(["social_share", "review"])}, token=token)
        if rng.random() < 0.03:
            self.call("POST", f"/members/{member.member_id}/feedback",
                      {"score": rng.choices(range(11), weights=[1, 1, 1, 1, 1, 2, 3, 5, 8, 9, 8])[0]}, token=token)
        if member.points > 400 and rng.random() < 0.08:
            response = self.call("POST", f"/members/{member.member_id}/redemptions",
                                 {"points": rng.choice([100, 250, 400]), "description": "Reward"}, token=token,
                                 headers={"Idempotency-Key": uuid.uuid4().hex})
            if response.status_code == 201:
                member.points = response.json()["balance_after"]
        if member.orders and rng.random() < 0.01:
            self.call("POST", f"/members/{member.member_id}/returns", {
                "order_id": rng.choice(member.orders), "refund": {"amount": "3.00", "currency": "USD"}},
                token=self.backend, headers={"Idempotency-Key": uuid.uuid4().hex})
        if rng.random() < 0.01:
            with self.lock:
                code = self.codes.pop() if self.codes else None
            if code:
                self.call("POST", f"/members/{member.member_id}/promo-codes", {"code": code}, token=token)
        if rng.random() < 0.02:
            self.call("POST", "/partner/earn", {
                "member_id": member.member_id, "order_id": uuid.uuid4().hex[:12],
                "total": {"amount": f"{rng.randrange(5, 40)}.00", "currency": "USD"}},
                headers={"x-api-key": self.partner_key, "Idempotency-Key": uuid.uuid4().hex})

    def run(self) -> dict[str, Any]:
        today = datetime.now(UTC).replace(hour=15, minute=0, second=0, microsecond=0)
        start = today - timedelta(days=self.days)
        self.plan_members()
        self.at(start)
        try:
            self.setup_partner(start)
            for day in range(self.days + 1):
                moment = start + timedelta(days=day, minutes=self.rng.randrange(0, 300))
                self.at(moment)
                for member in self.members:
                    if member.joined == day:
                        self.enroll(member)
                around = [m for m in self.members if m.joined <= day <= m.leaves and m.code]
                seeds = [self.rng.randrange(1 << 30) for _ in around]
                with ThreadPoolExecutor(max_workers=12) as pool:
                    list(pool.map(self._live, around, seeds))
        finally:
            self.at(None)
        self.call("POST", "/local/stream/drain")
        for job in ("daily_snapshot", "member_maintenance"):
            self.call("POST", f"/local/jobs/{job}")
        return {"members": len(self.members), "days": self.days, "requests": self.requests,
                "statuses": dict(sorted(self.statuses.items()))}
