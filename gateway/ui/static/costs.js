// Costs: spend over time by model, target, key or team; the routing savings; CSV export.

import { admin, call, query } from "./api.js";
import { el, replace, table, numberCell, usd, notice, errorText } from "./dom.js";
import { stackedBars } from "./chart.js";

const GROUPS = ["model", "target", "key", "team", "rule", "provider"];

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function addDays(day, n) {
  const d = new Date(day + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() + n);
  return isoDay(d);
}

/** The [start, end) instants for an inclusive range of UTC days. */
function range(startDay, endDay) {
  return { start: startDay + "T00:00:00Z", end: addDays(endDay, 1) + "T00:00:00Z" };
}

export function mount(container) {
  const today = isoDay(new Date());
  const groupBy = el("select", { id: "cost-group" }, GROUPS.map((g) => el("option", { value: g }, g)));
  const startInput = el("input", { type: "date", id: "cost-start", value: addDays(today, -6) });
  const endInput = el("input", { type: "date", id: "cost-end", value: today });
  const teamInput = el("input", { id: "cost-team", placeholder: "all teams", size: 14 });
  const csv = el("a", { id: "cost-csv", class: "button", download: "" }, "Export CSV");
  const status = el("p", { class: "notice" });
  const chartBox = el("div", { class: "chart-box", id: "cost-chart" });
  const tableBox = el("div", { class: "table-box", id: "cost-table" });
  const savingsBox = el("div", { id: "cost-savings" });
  const reference = el("input", { id: "savings-reference", placeholder: "reference target (default: the policy's)", size: 32 });
  const note = notice(status);

  function preset(days) {
    endInput.value = today;
    startInput.value = addDays(today, -(days - 1));
    load();
  }

  async function load() {
    if (!startInput.value || !endInput.value) return note.show("pick a start and an end day", "error");
    const { start, end } = range(startInput.value, endInput.value);
    const params = { group_by: groupBy.value, start, end, team: teamInput.value.trim() };
    csv.href = "/ui/api/admin/costs" + query({ ...params, format: "csv" });
    note.show("loading…");
    const [series, savings] = await Promise.all([
      call("GET", "/ui/api/costs/series" + query(params)),
      admin("GET", "/costs/savings" + query({ start, end, team: params.team, reference: reference.value.trim() })),
    ]);
    if (!series.ok) return note.show(errorText(series), "error");
    note.clear();
    renderSeries(series.data, params.group_by === "key" ? await keyLabels() : (name) => name);
    renderSavings(savings);
  }

  /** Key ids shown with their names ("name (key_…)"), revoked keys included. */
  async function keyLabels() {
    const reply = await admin("GET", "/keys?include_revoked=true");
    const names = new Map(reply.ok ? reply.data.data.map((k) => [k.id, k.name]) : []);
    return (id) => (names.has(id) ? `${names.get(id)} (${id})` : id);
  }

  function renderSeries(data, label) {
    const t = data.table;
    replace(chartBox, data.table.rows.length ? stackedBars(data, label) : el("p", { class: "empty" }, "No spend in this range."));
    replace(
      tableBox,
      table(
        [data.group_by, "requests", "errors", "prompt tok.", "output tok.", "cost"],
        [
          ...t.rows.map((r) => [
            r.group === null ? "(none)" : label(r.group),
            numberCell(r.requests),
            numberCell(r.errors),
            numberCell(r.prompt_tokens),
            numberCell(r.completion_tokens),
            numberCell(usd(r.cost_usd)),
          ]),
          [el("strong", {}, "total"), numberCell(t.totals.requests), numberCell(t.totals.errors),
            numberCell(t.totals.prompt_tokens), numberCell(t.totals.completion_tokens),
            numberCell(usd(t.totals.cost_usd))],
        ],
        { class: "data", id: "cost-rows" },
      ),
      el("p", { class: "hint" }, `exact totals: $${t.totals.cost_usd} USD`),
    );
  }

  function renderSavings(reply) {
    if (!reply.ok) return replace(savingsBox, el("p", { class: "notice error" }, errorText(reply)));
    const s = reply.data;
    replace(
      savingsBox,
      el("p", {}, `Compared with sending everything to `, el("strong", {}, s.reference),
        `: saved ${usd(s.totals.saving_usd)}`, s.totals.saving_percent !== null ? ` (${s.totals.saving_percent} %)` : ""),
      table(
        ["target", "requests", "cost", "at reference price", "saving", "%"],
        s.rows.map((r) => [
          r.target,
          numberCell(r.requests),
          numberCell(usd(r.cost_usd)),
          numberCell(usd(r.reference_cost_usd)),
          numberCell(usd(r.saving_usd)),
          numberCell(r.saving_percent === null ? "—" : r.saving_percent),
        ]),
        { class: "data", id: "savings-rows" },
      ),
    );
  }

  for (const input of [groupBy, startInput, endInput, teamInput]) input.addEventListener("change", load);
  reference.addEventListener("change", load);
  replace(
    container,
    el("h1", {}, "Costs"),
    el(
      "div",
      { class: "toolbar" },
      el("label", {}, "group by ", groupBy),
      el("label", {}, "from ", startInput),
      el("label", {}, "to ", endInput),
      el("label", {}, "team ", teamInput),
      el("button", { type: "button", onclick: () => preset(1) }, "Today"),
      el("button", { type: "button", onclick: () => preset(7) }, "7 days"),
      el("button", { type: "button", onclick: () => preset(30) }, "30 days"),
      el("button", { type: "button", id: "cost-refresh", onclick: load }, "Refresh"),
      csv,
    ),
    status,
    el("div", { class: "side-by-side" }, chartBox, tableBox),
    el("h2", {}, "Routing savings"),
    el("div", { class: "toolbar" }, el("label", {}, "reference ", reference)),
    savingsBox,
  );
  load();
}
