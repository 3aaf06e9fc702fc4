// Policies: edit the active policy, validate it (errors at their lines), activate with If-Match,
// compare and roll back versions, and ask the router what it would do with a prompt.

import { admin } from "./api.js";
import { el, replace, clear, table, notice, errorText } from "./dom.js";

const LINE_HEIGHT_PX = 18; // as in app.css (.editor)

function lineCount(text) {
  return text.split("\n").length;
}

/** A textarea with line numbers and a backdrop that can mark lines (errors, warnings). */
function lineEditor() {
  const gutter = el("div", { class: "gutter", "aria-hidden": "true" });
  const backdrop = el("div", { class: "backdrop", "aria-hidden": "true" });
  const area = el("textarea", { class: "code", id: "policy-text", spellcheck: "false", wrap: "off" });
  const box = el("div", { class: "editor" }, gutter, el("div", { class: "code-box" }, backdrop, area));
  let marks = new Map(); // line -> {severity, message}

  function render() {
    const lines = lineCount(area.value);
    clear(gutter);
    clear(backdrop);
    for (let i = 1; i <= lines; i++) {
      const mark = marks.get(i);
      const attrs = { class: mark ? "line " + mark.severity : "line", dataset: { line: String(i) } };
      if (mark) attrs.title = mark.message;
      gutter.append(el("div", attrs, String(i)));
      backdrop.append(el("div", { class: mark ? "line " + mark.severity : "line" }, "\u200b"));
    }
    sync();
  }

  function sync() {
    gutter.scrollTop = area.scrollTop;
    backdrop.scrollTop = area.scrollTop;
    backdrop.scrollLeft = area.scrollLeft;
  }

  area.addEventListener("input", () => {
    marks = new Map();
    render();
  });
  area.addEventListener("scroll", sync);

  return {
    node: box,
    area,
    get text() {
      return area.value;
    },
    set text(value) {
      area.value = value;
      area.scrollTop = 0;
      marks = new Map();
      render();
    },
    mark(problems) {
      marks = new Map();
      for (const p of problems) {
        if (!p.line) continue;
        const old = marks.get(p.line);
        if (!old || old.severity !== "error") marks.set(p.line, { severity: p.severity, message: p.message });
      }
      render();
    },
    goTo(line) {
      const lines = area.value.split("\n");
      const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
      area.focus();
      area.setSelectionRange(start, start + (lines[line - 1] || "").length);
      this.reveal(line);
    },
    reveal(line) {
      area.scrollTop = Math.max(0, (line - 5) * LINE_HEIGHT_PX);
      sync();
    },
  };
}

function problemList(editor, problems) {
  if (!problems.length) return el("p", { class: "ok" }, "No problems.");
  return el(
    "ul",
    { class: "problems", id: "policy-problems" },
    problems.map((p) =>
      el(
        "li",
        { class: p.severity },
        el("button", { type: "button", class: "link", onclick: () => p.line && editor.goTo(p.line) },
          p.line ? `line ${p.line}` : "—"),
        ` ${p.severity}: `,
        p.path ? el("code", {}, p.path) : null,
        p.path ? " " : null,
        p.message,
      ),
    ),
  );
}

function diffView(text) {
  if (!text) return el("p", { class: "empty" }, "The two versions are identical.");
  return el(
    "pre",
    { class: "diff", id: "policy-diff" },
    text.split("\n").map((line) => {
      const kind = line.startsWith("@@") ? "hunk" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "same";
      return el("span", { class: kind }, line + "\n");
    }),
  );
}

function traceView(r) {
  const verdict = r.blocked
    ? el("p", { class: "notice error" }, "Blocked: ", r.refusal ? String(r.refusal.message || JSON.stringify(r.refusal)) : "refused")
    : el("p", { class: "decision" }, "Target ", el("strong", { id: "explain-target" }, r.target || "—"),
      " by rule ", el("strong", { id: "explain-rule" }, r.rule || "—"),
      r.fallbacks && r.fallbacks.length ? `; fallbacks: ${r.fallbacks.join(", ")}` : "; no fallbacks");
  const c = r.classification || {};
  const facts = [
    ["policy", r.policy ? `${r.policy.name} v${r.policy.version}` : "—"],
    ["requested model", r.requested_model || "—"],
    ["task", c.task || "—"],
    ["domain", c.domain || "—"],
    ["complexity", c.complexity ? `${c.complexity.tier} (${c.complexity.score})` : "—"],
    ["sensitivity", c.sensitivity ? c.sensitivity.level : "—"],
    ["findings", c.sensitivity && c.sensitivity.findings.length
      ? c.sensitivity.findings.map((f) => `${f.kind} ×${f.count}`).join(", ") : "none"],
    ["prompt tokens", c.needs ? String(c.needs.prompt_tokens) : "—"],
  ];
  return el(
    "div",
    { class: "trace", id: "explain-trace" },
    verdict,
    el("dl", { class: "facts" }, facts.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    el("h3", {}, "Rules considered"),
    table(
      ["#", "rule", "matched", "why not"],
      (r.rules_considered || []).map((rule) => [
        String(rule.index),
        rule.rule,
        el("td", { class: rule.matched ? "yes" : "no" }, rule.matched ? "yes" : "no"),
        (rule.why_not || []).join("; "),
      ]),
      { class: "data", id: "explain-rules" },
    ),
    r.steps && r.steps.length ? [el("h3", {}, "Steps"), el("ol", {}, r.steps.map((s) => el("li", {}, s)))] : null,
  );
}

export function mount(container) {
  const editor = lineEditor();
  const nameSelect = el("select", { id: "policy-name" });
  const status = el("p", { class: "notice", id: "policy-status" });
  const note = notice(status);
  const problemsBox = el("div", { id: "policy-problems-box" });
  const versionsBox = el("div", { id: "policy-versions" });
  const diffBox = el("div");
  const fromSelect = el("select", { id: "diff-from" });
  const toSelect = el("select", { id: "diff-to" });
  const rollbackSelect = el("select", { id: "rollback-version" });
  const prompt = el("textarea", { id: "explain-prompt", rows: 4, placeholder: "a prompt to route" });
  const model = el("input", { id: "explain-model", value: "auto", size: 24 });
  const traceBox = el("div");
  let etag = null;
  let activeVersion = null;

  function revealFirst(errors) {
    const first = errors.find((e) => e.line); // the API lists the most telling error first
    if (first) editor.reveal(first.line);
  }

  function name() {
    return nameSelect.value || "default";
  }

  function path(suffix = "") {
    return "/policies/" + encodeURIComponent(name()) + suffix;
  }

  async function loadNames() {
    const reply = await admin("GET", "/policies");
    if (!reply.ok) return note.show(errorText(reply), "error");
    const names = reply.data.data.map((p) => p.name);
    replace(nameSelect, names.map((n) => el("option", { value: n }, n)));
    if (names.includes("default")) nameSelect.value = "default";
    await loadPolicy();
  }

  async function loadPolicy() {
    const reply = await admin("GET", path(), { headers: { Accept: "application/yaml" } });
    if (!reply.ok) return note.show(errorText(reply), "error");
    editor.text = reply.text;
    etag = reply.headers.get("etag");
    activeVersion = reply.headers.get("x-policy-version");
    note.show(`${name()}: active version ${activeVersion}`, "info");
    clear(problemsBox);
    await loadVersions();
  }

  async function loadVersions() {
    const reply = await admin("GET", path("/versions"));
    if (!reply.ok) return replace(versionsBox, el("p", { class: "notice error" }, errorText(reply)));
    const versions = reply.data.data;
    const options = () => versions.map((v) => el("option", { value: String(v.version) }, `v${v.version}`));
    replace(fromSelect, options());
    replace(toSelect, options());
    replace(rollbackSelect, options());
    if (versions.length > 1) fromSelect.value = String(versions[1].version);
    replace(
      versionsBox,
      table(
        ["version", "stored by", "at", "note", ""],
        versions.map((v) => [
          `v${v.version}`,
          v.created_by || "—",
          new Date(v.created_at * 1000).toISOString().replace("T", " ").slice(0, 19),
          v.note || "",
          v.active ? el("strong", {}, "active") : "",
        ]),
        { class: "data compact" },
      ),
    );
  }

  async function validate() {
    const reply = await admin("POST", "/policies/validate?name=" + encodeURIComponent(name()), { text: editor.text });
    if (!reply.ok) return note.show(errorText(reply), "error");
    const problems = [...reply.data.errors, ...reply.data.warnings];
    editor.mark(problems);
    replace(problemsBox, problemList(editor, problems));
    revealFirst(reply.data.errors);
    if (reply.data.valid) note.show(`valid${reply.data.warnings.length ? " (with warnings)" : ""}`, "ok");
    else note.show(`${reply.data.errors.length} error(s): not valid`, "error");
  }

  async function activate() {
    const reply = await admin("PUT", path(), { text: editor.text, headers: etag ? { "If-Match": etag } : {} });
    if (reply.status === 422) {
      const problems = [...reply.data.errors, ...reply.data.warnings];
      editor.mark(problems);
      replace(problemsBox, problemList(editor, problems));
      revealFirst(reply.data.errors);
      return note.show(errorText(reply), "error");
    }
    if (reply.status === 412) {
      return note.show("Someone else changed this policy since you loaded it: reload, then re-apply your edit.", "error");
    }
    if (!reply.ok) return note.show(errorText(reply), "error");
    etag = reply.headers.get("etag");
    activeVersion = String(reply.data.version);
    editor.mark(reply.data.warnings || []);
    replace(problemsBox, problemList(editor, reply.data.warnings || []));
    note.show(reply.data.changed ? `activated version ${reply.data.version}` : "no change: this text is already active", "ok");
    await loadVersions();
  }

  async function showDiff() {
    const reply = await admin("GET", path(`/diff?from=${fromSelect.value}&to=${toSelect.value}`));
    if (!reply.ok) return replace(diffBox, el("p", { class: "notice error" }, errorText(reply)));
    replace(diffBox, diffView(reply.data.diff));
  }

  async function rollback() {
    const version = Number(rollbackSelect.value);
    if (!window.confirm(`Activate a copy of version ${version} of ${name()}?`)) return;
    const reply = await admin("POST", path("/rollback"), { json: { version }, headers: etag ? { "If-Match": etag } : {} });
    if (!reply.ok) return note.show(errorText(reply), "error");
    await loadPolicy();
    note.show(`rolled back: version ${reply.data.version} is a copy of version ${version}`, "ok");
  }

  async function explain() {
    const body = { model: model.value.trim() || "auto", messages: [{ role: "user", content: prompt.value }] };
    const reply = await admin("POST", "/routing/explain?policy=" + encodeURIComponent(name()), { json: body });
    if (!reply.ok) return replace(traceBox, el("p", { class: "notice error" }, errorText(reply)));
    replace(traceBox, traceView(reply.data));
  }

  nameSelect.addEventListener("change", loadPolicy);
  replace(
    container,
    el("h1", {}, "Policies"),
    el(
      "div",
      { class: "toolbar" },
      el("label", {}, "policy ", nameSelect),
      el("button", { type: "button", id: "policy-reload", onclick: loadPolicy }, "Reload"),
      el("button", { type: "button", id: "policy-validate", onclick: validate }, "Validate"),
      el("button", { type: "button", id: "policy-activate", class: "primary", onclick: activate }, "Activate"),
    ),
    status,
    editor.node,
    problemsBox,
    el(
      "div",
      { class: "columns" },
      el(
        "section",
        {},
        el("h2", {}, "Versions"),
        versionsBox,
        el(
          "div",
          { class: "toolbar" },
          el("label", {}, "diff ", fromSelect),
          el("label", {}, "→ ", toSelect),
          el("button", { type: "button", id: "diff-show", onclick: showDiff }, "Show diff"),
          el("label", {}, "roll back to ", rollbackSelect),
          el("button", { type: "button", id: "rollback", onclick: rollback }, "Roll back"),
        ),
        diffBox,
      ),
      el(
        "section",
        {},
        el("h2", {}, "Try it"),
        prompt,
        el(
          "div",
          { class: "toolbar" },
          el("label", {}, "model ", model),
          el("button", { type: "button", id: "explain-run", onclick: explain }, "Explain routing"),
        ),
        traceBox,
      ),
    ),
  );
  loadNames();
}
