// The console shell: sign-in and sign-out, and the page picked by the URL's #fragment.

import { call, setCsrfToken, whenSignedOut } from "./api.js";
import { clear, notice, errorText } from "./dom.js";
import * as costs from "./costs.js";
import * as policies from "./policies.js";
import * as keys from "./keys.js";
import * as live from "./live.js";

const PAGES = { costs, policies, keys, live };
let current = null;

function byId(id) {
  return document.getElementById(id);
}

function showSignIn(message, kind = "error") {
  setCsrfToken(null);
  if (current && current.unmount) current.unmount();
  current = null;
  byId("nav").hidden = true;
  byId("who").hidden = true;
  byId("page").hidden = true;
  clear(byId("page"));
  byId("sign-in").hidden = false;
  const note = notice(byId("sign-in-notice"));
  if (message) note.show(message, kind);
  else note.clear();
  byId("admin-key").focus();
}

function showConsole(session) {
  setCsrfToken(session.csrf_token);
  byId("sign-in").hidden = true;
  byId("nav").hidden = false;
  byId("who").hidden = false;
  byId("who-name").textContent = "signed in as " + session.key_name;
  byId("page").hidden = false;
  route();
}

function route() {
  if (byId("page").hidden) return;
  const name = (location.hash || "#costs").slice(1);
  const page = PAGES[name] || costs;
  if (current && current.unmount) current.unmount();
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.page === name);
  }
  const container = clear(byId("page"));
  current = page;
  page.mount(container);
}

async function signIn(event) {
  event.preventDefault();
  const input = byId("admin-key");
  const reply = await call("POST", "/ui/api/session", { json: { key: input.value } });
  input.value = ""; // the key is not kept anywhere in the page
  if (reply.status === 201) showConsole(reply.data);
  else notice(byId("sign-in-notice")).show(errorText(reply), "error");
}

async function signOut() {
  await call("DELETE", "/ui/api/session");
  showSignIn("Signed out.", "ok");
}

async function start() {
  whenSignedOut((reply) => showSignIn(errorText(reply)));
  byId("sign-in-form").addEventListener("submit", signIn);
  byId("sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  const reply = await call("GET", "/ui/api/session");
  if (reply.ok) showConsole(reply.data);
  else showSignIn(null);
}

start();
