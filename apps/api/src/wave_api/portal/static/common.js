// Shared by every portal page. Everything shown from the API goes in as text nodes (el()), never
// parsed as HTML, so event data cannot become markup.
"use strict";

const CSRF_KEY = "wave.csrf";

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

function signInUrl() {
  return "/portal/sign-in?next=" + encodeURIComponent(location.pathname + location.search);
}

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json" };
  const init = { method: options.method || "GET", headers, credentials: "same-origin" };
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  if (init.method !== "GET") headers["X-CSRF-Token"] = localStorage.getItem(CSRF_KEY) || "";
  const response = await fetch("/api/v1" + path, init);
  if (response.status === 401 && !options.noRedirect) {
    location.assign(signInUrl());
    throw new ApiError(401, "signed out");
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, (data && data.detail) || response.statusText);
  return data;
}

function money(value) {
  return "$" + Number(value || 0).toFixed(4);
}

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return isNaN(date) ? String(iso) : date.toLocaleString();
}

function since(iso) {
  const date = new Date(iso);
  if (isNaN(date)) return "";
  const seconds = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
  if (seconds < 90) return seconds + " s ago";
  if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
  return Math.round(seconds / 3600) + " h ago";
}

// The header of every signed-in page: where you are, who you are, sign out.
async function header(current) {
  const nav = document.getElementById("nav");
  const who = await api("/whoami");
  const link = (href, text, name) => el("a", { href, "aria-current": current === name ? "page" : null }, text);
  clear(nav).append(
    el("a", { href: "/portal/", class: "brand" }, "WAVE"),
    link("/portal/", "Runs", "runs"),
    link("/portal/dashboard", "Dashboard", "dashboard"),
    el("span", { class: "who", id: "who" }, who.name + " (" + who.role + ")"),
    el("button", { type: "button", class: "link", onclick: signOut }, "Sign out"),
  );
  return who;
}

async function signOut() {
  await fetch("/api/v1/session", { method: "DELETE", credentials: "same-origin",
    headers: { "X-CSRF-Token": localStorage.getItem(CSRF_KEY) || "" } });
  localStorage.removeItem(CSRF_KEY);
  location.assign("/portal/sign-in");
}

function gateBar(gates) {
  const bar = el("ol", { class: "gates", "aria-label": "gates" });
  for (const [name, passed] of Object.entries(gates || {})) {
    bar.append(el("li", { class: passed ? "gate passed" : "gate", "data-gate": name,
      title: name + (passed ? ": passed" : ": not yet") }, (passed ? "✓ " : "· ") + name));
  }
  return bar;
}

function showError(node, error) {
  clear(node).append(el("p", { class: "error", role: "alert" }, error.message || String(error)));
}

// Every frame of a stream carries `event: TYPE`; EventSource delivers those only to listeners of TYPE.
function onEvents(source, types, handler) {
  for (const type of types) source.addEventListener(type, handler);
  source.addEventListener("message", handler);
}
