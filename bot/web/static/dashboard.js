/* The dashboard: fetch the figures (same origin, the dashboard cookie or a bearer token), draw the
 * table and the totals, show the chart, and refresh every few seconds. Text goes in as textContent. */
(function () {
  "use strict";

  const boot = JSON.parse(document.getElementById("boot").textContent);
  const S = boot.strings;
  const LOCALE = boot.lang === "zh" ? "zh-CN" : "en-GB";
  const $ = (id) => document.getElementById(id);
  const t = (key) => S[key] || key;
  const stamp = new Intl.DateTimeFormat(LOCALE, { timeZone: boot.timezone, month: "2-digit", day: "2-digit",
    weekday: "short", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  const day = new Intl.DateTimeFormat(LOCALE, { timeZone: boot.timezone, year: "numeric", month: "2-digit", day: "2-digit" });

  let period = boot.period;
  let version = null;
  let chartVersion = null;
  let chartUrl = null;
  let previous = new Map();

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  const pct = (v) => (v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%");
  const num = (v) => (v === null || v === undefined ? "—" : String(v));
  const days = (v) => (v === null || v === undefined ? "—" : v.toFixed(1));

  const COLUMNS = [
    ["received", num], ["replied", num], ["reply_rate", pct], ["due", num], ["replied_on_time", num],
    ["on_time_rate", pct], ["overdue", num], ["mean_workdays_to_reply", days], ["rated", num], ["satisfaction_rate", pct],
  ];

  function row(r, isTotal) {
    const tr = el("tr");
    tr.dataset.region = r.code || "";
    tr.appendChild(el("td", null, isTotal ? t("total") : (r.name || t("unassigned"))));
    for (const [key, fmt] of COLUMNS) {
      const td = el("td", key === "overdue" && r.overdue > 0 ? "bad" : null, fmt(r[key]));
      td.dataset.key = key;
      tr.appendChild(td);
    }
    const sig = JSON.stringify(r);
    const id = isTotal ? "__total" : (r.code || "__none");
    if (previous.has(id) && previous.get(id) !== sig) tr.classList.add("changed");
    previous.set(id, sig);
    return tr;
  }

  function kpi(label, value, bad) {
    const box = el("div", "kpi");
    box.appendChild(el("div", "kpi-label", label));
    box.appendChild(el("div", "kpi-value" + (bad ? " bad" : ""), value));
    return box;
  }

  function draw(data) {
    const total = data.total;
    $("kpis").replaceChildren(
      kpi(t("received"), num(total.received)),
      kpi(t("replied"), num(total.replied)),
      kpi(t("reply_rate"), pct(total.reply_rate)),
      kpi(t("on_time_rate"), pct(total.on_time_rate)),
      kpi(t("overdue"), num(total.overdue), total.overdue > 0),
      kpi(t("mean_workdays"), days(total.mean_workdays_to_reply)),
      kpi(t("satisfaction_rate"), pct(total.satisfaction_rate)),
    );
    const body = $("figures").querySelector("tbody");
    body.replaceChildren(...data.regions.map((r) => row(r, false)));
    $("figures").querySelector("tfoot").replaceChildren(row(total, true));
    const end = new Date(Date.parse(data.end) - 1000);
    $("period-range").textContent = day.format(new Date(data.start)) + " – " + day.format(end);
    $("updated").textContent = t("updated") + " " + stamp.format(new Date(data.now));
  }

  async function loadChart() {
    const resp = await fetch(boot.prefix + "/chart.png?period=" + period + "&lang=" + boot.lang, { credentials: "same-origin", cache: "no-store" });
    if (!resp.ok) return;
    const blob = await resp.blob();
    if (chartUrl) URL.revokeObjectURL(chartUrl);
    chartUrl = URL.createObjectURL(blob);
    const img = $("chart");
    img.src = chartUrl;
    img.hidden = false;
  }

  function notice(text, error) {
    const box = $("notice");
    box.textContent = text || "";
    box.hidden = !text;
    box.classList.toggle("error", !!error);
  }

  async function refresh() {
    let resp;
    try {
      resp = await fetch(boot.prefix + "/figures.json?period=" + period, { credentials: "same-origin", cache: "no-store" });
    } catch (e) { notice(t("error"), true); return; }
    if (resp.status === 401) { notice(t("token_wrong"), true); return; }
    if (resp.status === 503) { notice(t("unavailable"), false); return; }
    if (!resp.ok) { notice(t("error"), true); return; }
    const data = await resp.json();
    notice(null);
    draw(data);
    const key = period + ":" + data.version;
    if (key !== chartVersion) {
      chartVersion = key;
      loadChart().catch(() => {});
    }
    version = data.version;
    document.body.dataset.version = version;
  }

  function choose(p) {
    period = p;
    previous = new Map();
    chartVersion = null;
    for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.period === p);
    const url = new URL(window.location.href);
    url.searchParams.set("period", p);
    history.replaceState(null, "", url);
    refresh();
  }

  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => choose(tab.dataset.period));
  choose(period);
  setInterval(refresh, Math.max(1, boot.refresh_seconds) * 1000);
})();
