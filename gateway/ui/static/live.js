// Live: requests/s, latency and TTFT percentiles, errors and circuit state per target, routing mix and
// drift, from this replica's /metrics, polled every few seconds.

import { call } from "./api.js";
import { el, replace, table, numberCell, seconds, percent, notice, errorText } from "./dom.js";
import { sparkline } from "./chart.js";

const POLL_MS = 3000;
const HISTORY = 60;
let timer = null;

function psiStatus(psi) {
  if (psi < 0.1) return "stable";
  if (psi <= 0.2) return "watch";
  return "investigate";
}

function mark(target) {
  return target.latency_scope === "since_start" && target.latency_p50_s !== null ? " †" : "";
}

function rate(value) {
  return value === null || value === undefined ? "—" : value.toFixed(2);
}

export function mount(container) {
  const status = el("p", { class: "notice", id: "live-status" });
  const note = notice(status);
  const headline = el("div", { class: "headline", id: "live-headline" });
  const targetsBox = el("div", { id: "live-targets" });
  const routingBox = el("div", { id: "live-routing" });
  const driftBox = el("div", { id: "live-drift" });
  const history = [];

  async function poll() {
    const reply = await call("GET", "/ui/api/live");
    if (!reply.ok) return note.show(errorText(reply), "error");
    const d = reply.data;
    note.show(d.window_s ? `over the last ${d.window_s.toFixed(0)} s (this replica)` : "first sample: rates follow on the next poll");
    history.push(d.requests_per_s ?? NaN);
    if (history.length > HISTORY) history.shift();
    replace(
      headline,
      el("div", { class: "stat" }, el("span", { class: "big" }, rate(d.requests_per_s)), " requests/s"),
      el("div", { class: "stat" }, el("span", { class: "big" }, String(d.in_flight ?? 0)), " in flight"),
      sparkline(history),
    );
    replace(
      targetsBox,
      d.targets.length
        ? table(
            ["target", "req/s", "errors", "p50", "p95", "TTFT p50", "TTFT p95", "circuit", "served"],
            d.targets.map((t) => [
              t.target,
              numberCell(rate(t.requests_per_s)),
              numberCell(percent(t.error_rate)),
              numberCell(seconds(t.latency_p50_s) + mark(t)),
              numberCell(seconds(t.latency_p95_s) + mark(t)),
              numberCell(seconds(t.ttft_p50_s)),
              numberCell(seconds(t.ttft_p95_s)),
              el("td", { class: "circuit " + (t.circuit || "none") }, t.circuit || "—"),
              numberCell(String(t.requests_total)),
            ]),
            { class: "data", id: "live-targets-table" },
          )
        : el("p", { class: "empty" }, "No traffic yet."),
      d.targets.some((t) => mark(t)) ? el("p", { class: "hint" }, "† no calls in the window: since the process started") : null,
    );
    replace(
      routingBox,
      d.routing.length
        ? table(
            ["rule", "target", "share (window)", "since start"],
            d.routing.map((r) => [r.rule, r.target, numberCell(percent(r.share)), numberCell(String(r.count_total))]),
            { class: "data" },
          )
        : el("p", { class: "empty" }, "No routing decisions yet."),
    );
    const drift = Object.entries(d.drift || {});
    replace(
      driftBox,
      drift.length
        ? table(
            ["feature", "PSI", "status"],
            drift.map(([feature, psi]) => [feature, numberCell(psi.toFixed(3)), el("td", { class: "psi " + psiStatus(psi) }, psiStatus(psi))]),
            { class: "data" },
          )
        : el("p", { class: "empty" }, "No drift measured yet."),
    );
  }

  replace(
    container,
    el("h1", {}, "Live"),
    status,
    headline,
    el("h2", {}, "Targets"),
    targetsBox,
    el("div", { class: "columns" },
      el("section", {}, el("h2", {}, "Routing mix"), routingBox),
      el("section", {}, el("h2", {}, "Drift"), driftBox)),
  );
  poll();
  timer = setInterval(poll, POLL_MS);
}

export function unmount() {
  if (timer) clearInterval(timer);
  timer = null;
}
