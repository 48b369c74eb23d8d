// The back office: signs in with an admin token, finds members (GET /admin/members), shows one
// (profile, balance, tier, ledger, holds) and acts on it through the public API only: adjust points,
// cancel a redemption, block and unblock. It also lists the campaigns with their reports, and the referrals the
// safeguards flagged, to approve or reject. Every write carries its own Idempotency-Key. No build step.
(function () {
  "use strict";
  const api = window.LOYALTY_API || "";
  const $ = (selector) => document.querySelector(selector);
  let current = null; // the member on screen

  function token() {
    const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
    if (fromHash) {
      sessionStorage.setItem("loyalty-token", fromHash);
      history.replaceState(null, "", location.pathname + location.search);
    }
    return sessionStorage.getItem("loyalty-token");
  }

  async function call(method, path, body) {
    const headers = { Authorization: "Bearer " + token() };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["Idempotency-Key"] = crypto.randomUUID(); // one per action: a retry of the page is a new action
    }
    const response = await fetch(api + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const detail = answer.detail || answer.message || response.statusText;
      const fields = (answer.errors || []).map((error) => error.field + ": " + error.message).join("; ");
      throw new Error(response.status + " " + (answer.code || "") + ": " + detail + (fields ? " (" + fields + ")" : ""));
    }
    return answer;
  }

  function say(message, isError) {
    $("#error").textContent = isError ? message : "";
    $("#notice").textContent = isError ? "" : message;
  }

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function pick(object, path) {
    return path.split(".").reduce((value, key) => (value == null ? value : value[key]), object);
  }

  // What the search box holds decides how to look: an email, a phone number, a referral code, an id.
  function queries(text) {
    const value = text.trim();
    if (value.includes("@")) return [["email", value]];
    if (/^\+?[0-9][0-9 ()-]{3,22}$/.test(value)) return [["phone", value]];
    return [["referral_code", value.toUpperCase()], ["member_id", value]];
  }

  async function search(text) {
    say("");
    const found = [];
    for (const [kind, value] of queries(text)) {
      if (kind === "member_id") {
        try { found.push(await call("GET", "/members/" + encodeURIComponent(value))); } catch (error) { /* none */ }
      } else {
        found.push(...(await call("GET", "/admin/members?" + new URLSearchParams({ [kind]: value }))).items);
      }
      if (found.length) break;
    }
    const body = $("#results tbody");
    body.replaceChildren();
    for (const member of found) {
      const row = document.createElement("tr");
      const link = cell(row, "");
      const anchor = document.createElement("a");
      anchor.className = "member";
      anchor.dataset.member = member.member_id;
      anchor.textContent = member.member_id;
      anchor.addEventListener("click", () => open(member.member_id));
      link.appendChild(anchor);
      cell(row, member.name); cell(row, member.email); cell(row, member.tier.name); cell(row, member.status);
      body.appendChild(row);
    }
    $("#results").hidden = false;
    $("#results").dataset.count = String(found.length);
    if (!found.length) say("No member found for " + text, true);
    if (found.length === 1) await open(found[0].member_id);
  }

  async function open(memberId) {
    const path = "/members/" + encodeURIComponent(memberId);
    const [member, activity, holds] = await Promise.all([
      call("GET", path), call("GET", path + "/activity?limit=50"), call("GET", path + "/holds?limit=20"),
    ]);
    current = member;
    $("#member-title").textContent = member.name + " (" + member.member_id + ")";
    document.querySelectorAll("[data-field]").forEach((element) => {
      const value = pick(member, element.dataset.field);
      element.textContent = value == null ? "–" : String(value);
    });
    $('[data-field="status"]').className = member.status === "blocked" ? "status-blocked" : "";
    const ledger = $("#ledger tbody");
    ledger.replaceChildren();
    for (const entry of activity.items) {
      const row = document.createElement("tr");
      row.dataset.entry = entry.entry_id;
      row.dataset.type = entry.type;
      row.dataset.points = String(entry.points);
      cell(row, entry.recorded_at); cell(row, entry.type); cell(row, entry.points, "num");
      cell(row, entry.balance_after, "num");
      cell(row, entry.reason || entry.description || (entry.source && (entry.source.order_id || entry.source.action)) || "");
      const actions = cell(row, "");
      const redemption = entry.redemption || {};
      if (entry.type === "redeem" && redemption.status !== "cancelled") {
        const button = document.createElement("button");
        button.textContent = "Cancel redemption";
        button.dataset.cancel = entry.entry_id;
        button.addEventListener("click", () => act(async () => {
          const reason = window.prompt("Why is this redemption cancelled?", "refund") || "refund";
          await call("POST", path + "/redemptions/" + entry.entry_id + "/cancel", { reason });
          return "Redemption cancelled";
        }));
        actions.appendChild(button);
      } else if (redemption.status === "cancelled") {
        actions.textContent = "cancelled";
      }
      ledger.appendChild(row);
    }
    const holdRows = $("#holds tbody");
    holdRows.replaceChildren();
    for (const hold of holds.items) {
      const row = document.createElement("tr");
      cell(row, hold.created_at); cell(row, hold.status); cell(row, hold.points, "num");
      cell(row, hold.captured_points, "num"); cell(row, hold.order_id); cell(row, hold.expires_at);
      holdRows.appendChild(row);
    }
    await household(member.household);
    await game(path);
    $("#member").hidden = false;
    $("#member").dataset.member = member.member_id;
    document.body.dataset.state = "member";
  }

  // The member's challenges (open now, and completed), badges and streaks.
  async function game(path) {
    const [challenges, badges, streaks] = await Promise.all([
      call("GET", path + "/challenges"), call("GET", path + "/badges"), call("GET", path + "/streaks")]);
    const fill = (selector, items, columns) => {
      const body = $(selector + " tbody");
      body.replaceChildren();
      for (const item of items) {
        const row = document.createElement("tr");
        columns(item).forEach(([value, kind]) => cell(row, value == null ? "–" : value, kind));
        body.appendChild(row);
      }
    };
    fill("#challenges", challenges.items, (c) => [[c.name], [c.status], [c.progress, "num"], [c.target, "num"],
      [c.times_completed, "num"], [c.ends_at]]);
    $("#challenges").dataset.count = String(challenges.items.length);
    fill("#badges", badges.items, (b) => [[b.name], [b.times, "num"], [b.earned_at]]);
    $("#badges").dataset.count = String(badges.items.length);
    fill("#streaks", streaks.items, (s) => [[s.name], [s.period], [s.current, "num"], [s.best, "num"],
      [s.next_reward ? s.next_reward.length : null]]);
  }

  // The member's household (GET /households/{id}): its pool, its members, the pool's ledger.
  async function household(seat) {
    const section = $("#household");
    section.hidden = !seat;
    if (!seat) return;
    const path = "/households/" + encodeURIComponent(seat.household_id);
    const [found, activity] = await Promise.all([call("GET", path), call("GET", path + "/activity?limit=20")]);
    $("#household-title").textContent = found.name + " (" + seat.role + ")";
    section.dataset.household = found.household_id;
    document.querySelectorAll("[data-pool]").forEach((element) => {
      const value = pick(found, element.dataset.pool);
      element.textContent = value == null ? "–" : String(value);
    });
    const members = $("#household-members tbody");
    members.replaceChildren();
    for (const seated of found.members) {
      const row = document.createElement("tr");
      cell(row, seated.member_id); cell(row, seated.role); cell(row, seated.joined_at);
      cell(row, seated.contributed, "num");
      members.appendChild(row);
    }
    const ledger = $("#household-ledger tbody");
    ledger.replaceChildren();
    for (const entry of activity.items) {
      const row = document.createElement("tr");
      row.dataset.type = entry.type;
      cell(row, entry.recorded_at); cell(row, entry.type); cell(row, entry.points, "num");
      // Who: the member a pooled earn is of (kept on its ledger), or who joined, left or spent.
      const who = (entry.source && entry.source.member_id) || (entry.member_id.startsWith("household#") ? "" : entry.member_id);
      cell(row, entry.balance_after, "num"); cell(row, who);
      ledger.appendChild(row);
    }
  }

  async function act(action) {
    try {
      const message = await action();
      await open(current.member_id);
      say(message);
    } catch (error) {
      say(error.message, true);
    }
  }

  $("#adjust").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    act(async () => {
      const entry = await call("POST", "/admin/members/" + encodeURIComponent(current.member_id) + "/adjustments",
        { points: Number(form.points.value), reason: form.reason.value });
      form.reset();
      return "Adjusted by " + entry.points + " points";
    });
  });
  $("#block").addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = event.target.reason.value || "blocked from the back office";
    act(async () => {
      await call("POST", "/admin/members/" + encodeURIComponent(current.member_id) + "/block", { reason });
      return "Blocked";
    });
  });
  $("#unblock-button").addEventListener("click", () => act(async () => {
    await call("POST", "/admin/members/" + encodeURIComponent(current.member_id) + "/unblock", {});
    return "Unblocked";
  }));
  // Campaigns with their reports (GET /admin/campaigns, then each one's report).
  async function campaigns() {
    const listed = await call("GET", "/admin/campaigns");
    const body = $("#campaigns tbody");
    body.replaceChildren();
    for (const campaign of listed.items) {
      const report = await call("GET", "/admin/campaigns/" + encodeURIComponent(campaign.campaign_id) + "/report");
      const row = document.createElement("tr");
      row.dataset.campaign = campaign.campaign_id;
      cell(row, campaign.name + " (" + campaign.campaign_id + ")");
      cell(row, campaign.trigger);
      cell(row, campaign.starts_at.slice(0, 10) + " to " + campaign.ends_at.slice(0, 10));
      cell(row, campaign.active ? "yes" : "no");
      cell(row, report.points_awarded, "num").dataset.field = "points_awarded";
      cell(row, report.budget_left == null ? "no budget" : report.budget_left, "num");
      cell(row, report.treated.members, "num").dataset.field = "treated";
      cell(row, report.holdout.members, "num").dataset.field = "holdout";
      cell(row, report.lift == null ? "n/a" : report.lift);
      body.appendChild(row);
    }
    $("#campaigns table").hidden = false;
  }

  $("#campaigns-button").addEventListener("click", () => campaigns().catch((error) => say(error.message, true)));

  // Referrals the safeguards flagged (GET /admin/referrals), each approved or rejected with a reason.
  async function referrals() {
    const listed = await call("GET", "/admin/referrals?status=flagged&limit=100");
    const body = $("#referrals tbody");
    body.replaceChildren();
    for (const referral of listed.items) {
      const row = document.createElement("tr");
      row.dataset.referral = referral.referral_id;
      cell(row, referral.referee_id);
      cell(row, referral.referrer_id);
      cell(row, referral.reasons.join(", ")).dataset.field = "reasons";
      cell(row, referral.withheld.join(", "));
      cell(row, referral.created_at.slice(0, 10));
      const actions = cell(row, "");
      for (const [label, verb] of [["Approve", "approve"], ["Reject", "reject"]]) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = label;
        button.dataset.action = verb;
        button.addEventListener("click", () => {
          const reason = window.prompt(label + " the referral of " + referral.referee_id + ": why?");
          if (!reason) return;
          call("POST", "/admin/referrals/" + encodeURIComponent(referral.referral_id) + "/" + verb, { reason })
            .then((decided) => { say("Referral of " + decided.referee_id + ": " + decided.status); return referrals(); })
            .catch((error) => say(error.message, true));
        });
        actions.appendChild(button);
      }
      body.appendChild(row);
    }
    $("#referrals table").hidden = false;
    if (!listed.items.length) say("No flagged referrals");
  }

  $("#referrals-button").addEventListener("click", () => referrals().catch((error) => say(error.message, true)));
  $("#search").addEventListener("submit", (event) => {
    event.preventDefault();
    search(event.target.q.value).catch((error) => say(error.message, true));
  });
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("loyalty-token", $("#token").value.trim());
    start();
  });

  function start() {
    if (!token()) return;
    $("#signin").hidden = true;
    $("#search").hidden = false;
    $("#console").hidden = false;
    document.body.dataset.state = "ready";
    const query = new URLSearchParams(location.search).get("q");
    if (query) {
      $("#search").q.value = query;
      search(query).catch((error) => say(error.message, true));
    }
  }
  start();
})();
