// Keys: create (the secret is shown once), revoke, set limits and budgets, spend against budget.

import { admin } from "./api.js";
import { el, replace, clear, usd, notice, errorText } from "./dom.js";

const PERIODS = ["day", "month", "total"];

function intOrNull(input) {
  const v = input.value.trim();
  return v === "" ? null : Number(v);
}

/** Limits from the form fields: {rpm, tpm, max_concurrency, budgets: [{period, usd}]}, blanks left out. */
function limitsFrom(fields) {
  const limits = {};
  for (const name of ["rpm", "tpm", "max_concurrency"]) {
    const v = intOrNull(fields[name]);
    if (v !== null) limits[name] = v;
  }
  const budgets = PERIODS.filter((p) => fields.budgets[p].value.trim() !== "").map((p) => ({
    period: p,
    usd: fields.budgets[p].value.trim(),
  }));
  if (budgets.length) limits.budgets = budgets;
  return limits;
}

/** Inputs for every limit a key can have, filled from its current limits (so saving keeps them all). */
function limitFields(prefix, limits = {}) {
  const budgetOf = new Map((limits.budgets || []).map((b) => [b.period, b.usd]));
  const fields = {
    rpm: el("input", { id: `${prefix}-rpm`, type: "number", min: 0, size: 6, value: limits.rpm ?? "" }),
    tpm: el("input", { id: `${prefix}-tpm`, type: "number", min: 0, size: 8, value: limits.tpm ?? "" }),
    max_concurrency: el("input", { id: `${prefix}-conc`, type: "number", min: 0, size: 4, value: limits.max_concurrency ?? "" }),
    budgets: Object.fromEntries(
      PERIODS.map((p) => [p, el("input", { id: `${prefix}-budget-${p}`, inputmode: "decimal", size: 7, placeholder: "USD", value: budgetOf.get(p) ?? "" })]),
    ),
  };
  const nodes = [
    el("label", {}, "rpm ", fields.rpm),
    el("label", {}, "tpm ", fields.tpm),
    el("label", {}, "concurrency ", fields.max_concurrency),
    PERIODS.map((p) => el("label", {}, `budget/${p} `, fields.budgets[p])),
  ];
  return { fields, nodes };
}

function limitsSummary(limits) {
  const parts = [];
  if (limits.rpm != null) parts.push(`${limits.rpm} rpm`);
  if (limits.tpm != null) parts.push(`${limits.tpm} tpm`);
  if (limits.max_concurrency != null) parts.push(`${limits.max_concurrency} at once`);
  for (const b of limits.budgets || []) parts.push(`$${b.usd}/${b.period}`);
  return parts.length ? parts.join(", ") : "none";
}

/** Spend per budget period against the key's budgets (a period with no spend yet has spent $0). */
function spendCell(limits, spend) {
  const spentBy = new Map(spend.map((s) => [s.period, s]));
  const budgets = limits.budgets || [];
  if (!budgets.length) {
    return el("td", {}, spend.length ? spend.map((s) => `${usd(s.spent_usd)}/${s.period}`).join(", ") : "no budget");
  }
  return el(
    "td",
    {},
    budgets.map((b) => {
      const spent = Number((spentBy.get(b.period) || {}).spent_usd || 0);
      const share = Number(b.usd) > 0 ? Math.min(1, spent / Number(b.usd)) : 1;
      const meter = el("meter", { min: 0, max: 1, low: 0.7, high: 0.9, optimum: 0, value: share });
      return el("div", { class: "spend" }, meter, ` ${usd(spent)} of ${usd(b.usd)} / ${b.period}`);
    }),
  );
}

export function mount(container) {
  const status = el("p", { class: "notice", id: "keys-status" });
  const note = notice(status);
  const secretBox = el("div", { id: "key-secret-box" });
  const listBox = el("div", { id: "keys-list" });
  const name = el("input", { id: "key-name", required: true, size: 20, placeholder: "name" });
  const team = el("input", { id: "key-team", size: 12, value: "default" });
  const owner = el("input", { id: "key-owner", size: 16, placeholder: "owner (optional)" });
  const isAdmin = el("input", { id: "key-admin", type: "checkbox" });
  const create = limitFields("new");

  function showSecret(record) {
    const secret = el("code", { id: "key-secret" }, record.key);
    const copy = el("button", { type: "button", id: "key-copy" }, "Copy");
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(record.key);
        copy.textContent = "Copied";
      } catch {
        window.getSelection().selectAllChildren(secret); // no clipboard access: select it for Ctrl+C
        copy.textContent = "Selected: press Ctrl+C";
      }
    });
    replace(
      secretBox,
      el(
        "div",
        { class: "secret" },
        el("p", {}, "The secret of key ", el("strong", {}, record.name), " — shown once, copy it now:"),
        el("div", { class: "secret-row" }, secret, copy,
          el("button", { type: "button", onclick: () => clear(secretBox) }, "Done")),
      ),
    );
  }

  async function createKey(event) {
    event.preventDefault();
    const body = { name: name.value.trim(), team: team.value.trim() || "default", is_admin: isAdmin.checked };
    if (owner.value.trim()) body.owner = owner.value.trim();
    const limits = limitsFrom(create.fields);
    if (Object.keys(limits).length) body.limits = limits;
    const reply = await admin("POST", "/keys", { json: body });
    if (reply.status !== 201) return note.show(errorText(reply), "error");
    note.show(`created key ${reply.data.name} (${reply.data.id})`, "ok");
    showSecret(reply.data);
    name.value = "";
    await load();
  }

  async function revoke(record) {
    if (!window.confirm(`Revoke key "${record.name}"? Calls with it fail from now on.`)) return;
    const reply = await admin("DELETE", "/keys/" + encodeURIComponent(record.id));
    if (!reply.ok) return note.show(errorText(reply), "error");
    note.show(`revoked ${record.name}`, "ok");
    await load();
  }

  function editLimits(record, row) {
    const edit = limitFields(`edit-${record.id}`, record.limits || {});
    const save = el("button", { type: "button", class: "primary" }, "Save limits");
    const form = el("tr", { class: "edit-row" }, el("td", { colspan: 8 }, el("div", { class: "toolbar" }, edit.nodes, save,
      el("button", { type: "button", onclick: () => form.remove() }, "Cancel"))));
    save.addEventListener("click", async () => {
      const reply = await admin("PATCH", "/keys/" + encodeURIComponent(record.id), { json: { limits: limitsFrom(edit.fields) } });
      if (!reply.ok) return note.show(errorText(reply), "error");
      note.show(`limits of ${record.name} saved`, "ok");
      await load();
    });
    row.after(form);
  }

  async function load() {
    const reply = await admin("GET", "/keys");
    if (!reply.ok) return note.show(errorText(reply), "error");
    const records = reply.data.data;
    const rows = records.map((r) => {
      const spend = el("td", { class: "muted" }, "…");
      const row = el(
        "tr",
        { dataset: { keyId: r.id } },
        el("td", { class: "key-name" }, r.name),
        el("td", {}, el("code", {}, r.id)),
        el("td", {}, r.team),
        el("td", { class: "key-owner" }, r.owner || ""),
        el("td", {}, r.is_admin ? "admin" : (r.scopes || []).join(", ")),
        el("td", {}, limitsSummary(r.limits || {})),
        spend,
        el("td", { class: "actions" }),
      );
      row.lastChild.append(
        el("button", { type: "button", class: "edit", onclick: () => editLimits(r, row) }, "Limits"),
        el("button", { type: "button", class: "danger revoke", onclick: () => revoke(r) }, "Revoke"),
      );
      admin("GET", "/keys/" + encodeURIComponent(r.id)).then((detail) => {
        if (detail.ok) spend.replaceWith(spendCell(detail.data.limits || {}, detail.data.spend || []));
      });
      return row;
    });
    replace(
      listBox,
      records.length
        ? el("table", { class: "data", id: "keys-table" },
            el("thead", {}, el("tr", {}, ["name", "id", "team", "owner", "scopes", "limits", "spend", ""].map((h) => el("th", {}, h)))),
            el("tbody", {}, rows))
        : el("p", { class: "empty" }, "No keys yet."),
    );
  }

  const form = el(
    "form",
    { id: "key-create", class: "card", onsubmit: createKey },
    el("h2", {}, "New key"),
    el("div", { class: "toolbar" }, el("label", {}, "name ", name), el("label", {}, "team ", team),
      el("label", {}, "owner ", owner), el("label", {}, isAdmin, " admin")),
    el("div", { class: "toolbar" }, create.nodes, el("button", { type: "submit", class: "primary", id: "key-create-submit" }, "Create key")),
  );
  replace(container, el("h1", {}, "Keys"), status, form, secretBox, listBox);
  load();
}
