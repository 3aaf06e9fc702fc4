// Console calls: the session cookie goes along by itself; state-changing calls add the CSRF token.

let csrfToken = null;
let onSignedOut = () => {};

export function setCsrfToken(token) {
  csrfToken = token;
}

export function whenSignedOut(handler) {
  onSignedOut = handler;
}

/** Call a console endpoint. Returns {status, ok, headers, data (parsed JSON or null), text}. */
export async function call(method, path, { json, text, contentType, headers } = {}) {
  const sent = { ...(headers || {}) };
  let body;
  if (json !== undefined) {
    body = JSON.stringify(json);
    sent["Content-Type"] = "application/json";
  } else if (text !== undefined) {
    body = text;
    sent["Content-Type"] = contentType || "application/yaml";
  }
  if (method !== "GET" && csrfToken) sent["X-CSRF-Token"] = csrfToken;
  const response = await fetch(path, { method, body, headers: sent, credentials: "same-origin" });
  const raw = await response.text();
  let data = null;
  if ((response.headers.get("content-type") || "").includes("json")) {
    try {
      data = JSON.parse(raw);
    } catch {
      data = null;
    }
  }
  const reply = { status: response.status, ok: response.ok, headers: response.headers, data, text: raw };
  if (response.status === 401 && !path.endsWith("/ui/api/session")) onSignedOut(reply);
  return reply;
}

/** An admin API route, through the console: admin("GET", "/keys") calls /admin/keys. */
export function admin(method, path, options) {
  return call(method, "/ui/api/admin" + path, options);
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") search.set(k, v);
  const s = search.toString();
  return s ? "?" + s : "";
}
