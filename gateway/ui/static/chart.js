// A stacked bar chart in SVG, drawn by hand: one bar per time bucket, one colour per series.

import { svg, el, usd } from "./dom.js";

export const COLOURS = ["#3b6fd8", "#e07b39", "#3a9d5d", "#b5479b", "#c9a227", "#4aa3b5", "#8a8f98"];

function niceMax(value) {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function axisUsd(n) {
  if (n === 0) return "$0";
  return "$" + (n < 1 ? Number(n.toPrecision(2)).toString() : n.toFixed(n < 10 ? 1 : 0));
}

function bucketLabel(iso, bucketSeconds) {
  const d = new Date(iso);
  if (bucketSeconds < 86400) return d.toISOString().slice(11, 16);
  return d.toISOString().slice(5, 10);
}

/** The chart for a /ui/api/costs/series reply: an <svg> plus its legend. */
export function stackedBars(series, label = (name) => name) {
  const width = 640;
  const height = 260;
  const pad = { left: 80, right: 8, top: 10, bottom: 40 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const buckets = series.buckets;
  const totals = buckets.map((b) => Object.values(b.cost_usd).reduce((s, v) => s + Number(v), 0));
  const top = niceMax(Math.max(0, ...totals));
  const slot = plotW / Math.max(1, buckets.length);
  const barW = Math.max(1, slot * 0.75);
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart",
    role: "img",
    "aria-label": `spend by ${series.group_by} over time`,
  });
  for (let i = 0; i <= 4; i++) {
    const y = pad.top + plotH - (plotH * i) / 4;
    chart.append(
      svg("line", { x1: pad.left, x2: width - pad.right, y1: y, y2: y, class: "grid" }),
      svg("text", { x: pad.left - 6, y: y + 4, class: "axis", "text-anchor": "end" }, axisUsd((top * i) / 4)),
    );
  }
  const labelEvery = Math.ceil(buckets.length / 12);
  buckets.forEach((bucket, i) => {
    const x = pad.left + i * slot + (slot - barW) / 2;
    let y = pad.top + plotH;
    series.series.forEach((name, s) => {
      const value = Number(bucket.cost_usd[name] || 0);
      if (value <= 0) return;
      const h = (value / top) * plotH;
      y -= h;
      chart.append(
        svg(
          "rect",
          { x, y, width: barW, height: Math.max(h, 0.5), fill: COLOURS[s % COLOURS.length], class: "bar" },
          svg("title", {}, `${label(name)}: ${usd(value)} (${bucket.start} – ${bucket.end})`),
        ),
      );
    });
    if (i % labelEvery === 0) {
      chart.append(
        svg("text", { x: x + barW / 2, y: height - pad.bottom + 16, class: "axis", "text-anchor": "middle" },
          bucketLabel(bucket.start, series.bucket_s)),
      );
    }
  });
  const legend = el(
    "ul",
    { class: "legend" },
    series.series.map((name, s) =>
      el("li", {}, el("span", { class: "swatch", dataset: { colour: String(s % COLOURS.length) } }), label(name)),
    ),
  );
  return el("figure", { class: "chart-figure" }, chart, legend);
}

/** A small line of recent values (e.g. requests/s) as an SVG sparkline. */
export function sparkline(values, { width = 240, height = 48 } = {}) {
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "sparkline", role: "img" });
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length < 2) return chart;
  const max = Math.max(...finite, 1e-9);
  const step = width / (values.length - 1);
  const points = values
    .map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - ((Number.isFinite(v) ? v : 0) / max) * (height - 4)).toFixed(1)}`)
    .join(" ");
  chart.append(svg("polyline", { points, class: "spark" }));
  return chart;
}
