// The program managers' page: signs in with an admin token, reads GET /admin/metrics and
// GET /admin/liability, and draws them with Chart.js. No build step; the numbers it shows are exactly
// the API's (the headless-browser test compares them).
(function () {
  "use strict";
  const api = window.LOYALTY_API || "";
  const $ = (selector) => document.querySelector(selector);
  const charts = {};
  Chart.defaults.animation = false; // draw at once (screenshots, tests, slow machines)

  function token() {
    const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
    if (fromHash) {
      sessionStorage.setItem("loyalty-token", fromHash);
      history.replaceState(null, "", location.pathname + location.search);
    }
    return sessionStorage.getItem("loyalty-token");
  }

  function isoDay(date) { return date.toISOString().slice(0, 10); }

  function period() {
    const form = $("#period");
    const query = new URLSearchParams(location.search);
    if (!form.from.value && query.get("from")) form.from.value = query.get("from");
    if (!form.to.value && query.get("to")) form.to.value = query.get("to");
    const today = new Date();
    const to = form.to.value || isoDay(today);
    const from = form.from.value || isoDay(new Date(today.getTime() - 29 * 86400000));
    form.from.value = from; form.to.value = to;
    return { from, to };
  }

  async function get(path) {
    const response = await fetch(api + path, { headers: { Authorization: "Bearer " + token() } });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      throw new Error((problem.title || response.statusText) + ": " + (problem.detail || response.status));
    }
    return response.json();
  }

  function pick(object, path) {
    return path.split(".").reduce((value, key) => (value == null ? value : value[key]), object);
  }

  function draw(id, type, labels, datasets, options) {
    if (charts[id]) charts[id].destroy();
    charts[id] = new Chart(document.getElementById(id), {
      type, data: { labels, datasets }, options: Object.assign({ responsive: true, maintainAspectRatio: false }, options || {}),
    });
    // The numbers behind each chart, for the tests and for anyone reading the page's source.
    document.getElementById(id).dataset.values = JSON.stringify(datasets.map((set) => set.data));
  }

  function render(metrics, liability) {
    const data = Object.assign({}, metrics, { liability });
    document.querySelectorAll("[data-kpi]").forEach((element) => {
      const value = pick(data, element.dataset.kpi);
      element.textContent = value == null ? "n/a" : String(value);
    });
    const days = metrics.daily.map((day) => day.date);
    draw("points", "bar", days, [
      { label: "issued", data: metrics.daily.map((day) => day.points_issued), backgroundColor: "#2b7de9" },
      { label: "redeemed", data: metrics.daily.map((day) => day.points_redeemed), backgroundColor: "#f28c28" },
    ]);
    draw("members", "line", days, [
      { label: "active", data: metrics.daily.map((day) => day.active_members), borderColor: "#1d9a6c" },
      { label: "new", data: metrics.daily.map((day) => day.new_members), borderColor: "#8a4fff" },
    ]);
    const retention = metrics.retention_rate == null ? 0 : Number(metrics.retention_rate);
    draw("retention", "doughnut", ["retained", "churned"], [
      { data: [retention, metrics.churn_rate == null ? 0 : Number(metrics.churn_rate)], backgroundColor: ["#1d9a6c", "#d64545"] },
    ]);
    const tiers = Object.keys(metrics.tiers);
    draw("tiers", "doughnut", tiers, [
      { data: tiers.map((tier) => metrics.tiers[tier]), backgroundColor: ["#b08d57", "#a7adba", "#e6b800", "#5b6475"] },
    ]);
    draw("nps", "bar", ["promoters", "passives", "detractors"], [
      { label: "answers", data: [metrics.nps.promoters, metrics.nps.passives, metrics.nps.detractors],
        backgroundColor: ["#1d9a6c", "#a7adba", "#d64545"] },
    ]);
    const actions = Object.keys(metrics.engagement);
    draw("engagement", "bar", actions, [
      { label: "actions", data: actions.map((action) => metrics.engagement[action]), backgroundColor: "#2b7de9" },
    ], { indexAxis: "y" });
    const completed = metrics.challenges_completed || {};
    draw("challenges", "bar", Object.keys(completed), [
      { label: "completions", data: Object.values(completed), backgroundColor: "#e6b800" },
    ], { indexAxis: "y" });
    const partners = metrics.partners || [];
    draw("partners", "bar", partners.map((partner) => partner.name), [
      { label: "points funded", data: partners.map((partner) => partner.points_funded), backgroundColor: "#8a4fff" },
    ]);
    // Holdout results: each campaign's treated and held-out members (the lift is in each label).
    const campaigns = metrics.campaigns || [];
    draw("campaigns", "bar", campaigns.map((campaign) => campaign.name + (campaign.lift == null ? "" : " (lift " + campaign.lift + ")")), [
      { label: "treated", data: campaigns.map((campaign) => campaign.treated_members), backgroundColor: "#1d9a6c" },
      { label: "holdout", data: campaigns.map((campaign) => campaign.holdout_members), backgroundColor: "#a7adba" },
    ]);
  }

  async function load() {
    if (!token()) return;
    const { from, to } = period();
    try {
      const [metrics, liability] = await Promise.all([
        get("/admin/metrics?from=" + from + "&to=" + to), get("/admin/liability"),
      ]);
      $("#signin").hidden = true;
      $("#board").hidden = false;
      render(metrics, liability);
      document.body.dataset.state = "ready";
    } catch (error) {
      $("#error").textContent = error.message;
      document.body.dataset.state = "error";
    }
  }

  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("loyalty-token", $("#token").value.trim().replace(/^Bearer\s+/i, ""));
    load();
  });
  $("#period").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  load();
})();
