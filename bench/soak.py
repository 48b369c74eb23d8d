"""Soak: thousands of mixed requests from 16 concurrent clients against `loyalty-local serve`, then the
checks: no 5xx, reconciliation clean, every entry a response announced is in the ledger exactly once."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from bench.env import ROOT, free_port


@contextmanager
def local_stack(*extra: str) -> Any:
    """`loyalty-local serve` in a subprocess (its signing key under .loyalty-local/bench), until the block ends."""
    from loyalty_local import tokens

    port = free_port()
    home = ROOT / ".loyalty-local" / "bench"
    home.mkdir(parents=True, exist_ok=True)
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "POWERTOOLS_"))}
    env.update({"LOYALTY_LOCAL_HOME": str(home), "PORT": str(port)})
    os.environ["LOYALTY_LOCAL_HOME"] = str(home)
    server = subprocess.Popen([sys.executable, "-m", "loyalty_local.cli", "serve", "--schedule-seconds", "0", *extra],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        probe = tokens.issue("probe")
        deadline = time.time() + 60
        while True:
            try:
                if requests.get(f"{url}/program", headers={"Authorization": f"Bearer {probe}"}, timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.time() > deadline:
                raise RuntimeError("local stack did not start")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


class Soak:
    def __init__(self, url: str, seed: int = 5) -> None:
        from loyalty_local import tokens

        self.url = url
        self.tokens = tokens
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.members: list[str] = []
        self.orders: list[tuple[str, str]] = []
        self.codes: list[str] = []
        self.statuses: Counter[int] = Counter()
        self.by_kind: Counter[str] = Counter()
        self.announced: Counter[str] = Counter()  # entry id -> times a response named it
        self.latencies: list[float] = []
        self.unexpected: list[dict[str, Any]] = []  # the first few 401/403/5xx answers, for diagnosis
        self.backend = tokens.issue("soak-pos", scopes=["loyalty/transactions"])
        self.admin = tokens.issue("soak-admin", admin=True)
        self.partner_key = ""

    def call(self, kind: str, method: str, path: str, body: Any = None, token: str | None = None,
             key: str | None = None, headers: dict[str, str] | None = None) -> requests.Response:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        if key:
            all_headers["Idempotency-Key"] = key
        begun = time.perf_counter()
        response = requests.request(method, self.url + path, json=body, headers=all_headers, timeout=60)
        elapsed = time.perf_counter() - begun
        with self.lock:
            self.statuses[response.status_code] += 1
            self.by_kind[f"{kind} {response.status_code}"] += 1
            self.latencies.append(elapsed)
            if (response.status_code in (401, 403) or response.status_code >= 500) and len(self.unexpected) < 5:
                self.unexpected.append({"kind": kind, "method": method, "path": path,
                                        "status": response.status_code, "body": response.text[:300]})
            if response.status_code == 201 and response.headers.get("Idempotent-Replayed") != "true":
                body_out = response.json()
                entry = body_out.get("entry_id") or (body_out.get("entry") or {}).get("entry_id")
                if entry:
                    self.announced[entry] += 1
        return response

    def setup(self) -> None:
        partner = self.call("setup", "POST", "/admin/partners", {"name": "Soak", "contact_email": "s@example.com"},
                            self.admin).json()
        self.partner_key = partner["api_key"]
        now = datetime.now(UTC)
        promotion = requests.post(f"{self.url}/partner/promotions", headers={"x-api-key": self.partner_key}, json={
            "name": "Soak", "kind": "bonus_points", "points": 25, "budget_points": 100000, "max_per_member": 3,
            "starts_at": (now - timedelta(days=1)).isoformat(), "ends_at": (now + timedelta(days=1)).isoformat(),
        }, timeout=60).json()
        self.codes = requests.post(f"{self.url}/partner/promotions/{promotion['promotion_id']}/codes",
                                   headers={"x-api-key": self.partner_key}, json={"count": 400},
                                   timeout=120).json()["codes"]

    def step(self, number: int) -> None:
        rng = random.Random(number)
        with self.lock:
            members = list(self.members)
        if len(members) < 20 or rng.random() < 0.08:
            member = f"soak-{uuid.uuid4().hex[:10]}"
            enrolled = self.call("enroll", "POST", "/members", {"email": f"{member}@example.com", "name": "Soak"},
                                 self.tokens.issue(member))
            if enrolled.status_code == 201:
                with self.lock:
                    self.members.append(member)
            elif enrolled.status_code == 422:
                print("enroll refused:", enrolled.text[:300])
            return
        member = rng.choice(members)
        token = self.tokens.issue(member)
        roll = rng.random()
        if roll < 0.35:
            order = uuid.uuid4().hex
            currency = rng.choice(["USD", "USD", "EUR"])
            response = self.call("purchase", "POST", f"/members/{member}/purchases", {
                "order_id": order, "total": {"amount": f"{rng.randint(1, 120)}.{rng.randint(0, 99):02d}",
                                             "currency": currency},
                "channel": rng.choice(["online", "store", "app"]),
                "items": [{"sku": rng.choice(["a", "b", "c"]), "quantity": 1,
                           "unit_price": {"amount": "1.00", "currency": currency}}]},
                self.backend, key=order)
            if response.status_code == 201:
                with self.lock:
                    self.orders.append((member, order))
                if rng.random() < 0.1:  # a client retry of the same request: must replay, not count twice
                    self.call("purchase-retry", "POST", f"/members/{member}/purchases",
                              json.loads(response.request.body or "{}"), self.backend, key=order)
        elif roll < 0.50:
            self.call("redeem", "POST", f"/members/{member}/redemptions",
                      {"points": rng.randint(10, 800), "description": "soak"}, token, key=uuid.uuid4().hex)
        elif roll < 0.60:
            self.call("action", "POST", f"/members/{member}/actions",
                      {"action": rng.choice(["social_share", "review"])}, token)
        elif roll < 0.67 and self.orders:
            with self.lock:
                owner, order = rng.choice(self.orders)
            self.call("return", "POST", f"/members/{owner}/returns",
                      {"order_id": order, "refund": {"amount": "1.00", "currency": "USD"}}, self.backend,
                      key=uuid.uuid4().hex)
        elif roll < 0.74:
            self.call("partner_earn", "POST", "/partner/earn", {
                "member_id": member, "order_id": uuid.uuid4().hex, "total": {"amount": "9.00", "currency": "USD"}},
                headers={"x-api-key": self.partner_key, "Idempotency-Key": uuid.uuid4().hex})
        elif roll < 0.80 and self.codes:
            with self.lock:
                code = self.codes.pop() if self.codes else "NOPE"
            self.call("claim", "POST", f"/members/{member}/promo-codes", {"code": code}, token)
        elif roll < 0.90:
            self.call("read", "GET", f"/members/{member}", None, token)
        elif roll < 0.95:
            self.call("activity", "GET", f"/members/{member}/activity?limit=10", None, token)
        else:
            self.call("bad input", "POST", f"/members/{member}/purchases", {"order_id": "", "total": {
                "amount": "-1", "currency": "XXX"}, "channel": "moon"}, self.backend, key=uuid.uuid4().hex)

    def ledger_entry_ids(self) -> Counter[str]:
        seen: Counter[str] = Counter()
        for member in self.members:
            cursor = None
            while True:
                path = f"/members/{member}/activity?limit=100" + (f"&cursor={cursor}" if cursor else "")
                answer = requests.get(self.url + path, headers={"Authorization": f"Bearer {self.admin}"},
                                      timeout=60)
                if answer.status_code != 200:
                    raise RuntimeError(f"reading {path} answered {answer.status_code}: {answer.text[:300]}")
                page = answer.json()
                seen.update(entry["entry_id"] for entry in page["items"])
                cursor = page["next_cursor"]
                if not cursor:
                    break
        return seen


def run(requests_total: int = 3000, clients: int = 16) -> dict[str, Any]:
    with local_stack() as url:
        soak = Soak(url)
        soak.setup()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(soak.step, range(requests_total)))
        elapsed = time.perf_counter() - started
        requests.post(f"{url}/local/stream/drain", timeout=120)
        reconciliation = requests.post(f"{url}/local/jobs/reconcile", timeout=600).json()
        ledger = soak.ledger_entry_ids()
    missing = [entry for entry in soak.announced if ledger[entry] == 0]
    duplicated = [entry for entry, count in ledger.items() if count > 1]
    announced_twice = [entry for entry, count in soak.announced.items() if count > 1]
    soak.latencies.sort()
    return {
        "requests": sum(soak.statuses.values()), "clients": clients, "seconds": round(elapsed, 1),
        "requests_per_second": round(sum(soak.statuses.values()) / elapsed, 1),
        "p50_ms": round(soak.latencies[len(soak.latencies) // 2] * 1000, 1),
        "p99_ms": round(soak.latencies[int(len(soak.latencies) * 0.99)] * 1000, 1),
        "statuses": dict(sorted(soak.statuses.items())), "server_errors": sum(
            count for status, count in soak.statuses.items() if status >= 500),
        "by_kind": dict(sorted(soak.by_kind.items())), "members": len(soak.members),
        "entries_announced": len(soak.announced), "entries_in_ledger": sum(ledger.values()),
        "missing_entries": len(missing), "duplicated_entries": len(duplicated) + len(announced_twice),
        "reconciliation_clean": reconciliation["clean"], "reconciliation_checks": sum(
            reconciliation["checked"].values()), "discrepancies": reconciliation["discrepancies"][:5],
        "unexpected": soak.unexpected,
    }


if __name__ == "__main__":
    print(json.dumps(run(int(os.environ.get("SOAK_REQUESTS", "600"))), indent=2))
