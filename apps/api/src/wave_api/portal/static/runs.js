"use strict";
let nextCursor = null;

function filters() {
  const params = new URLSearchParams();
  const status = document.getElementById("status").value;
  const q = document.getElementById("q").value.trim();
  if (status) params.set("status", status);
  if (q) params.set("q", q);
  return params;
}

function runRow(run) {
  const waiting = run.pending_escalations.length ? " — waiting: " + run.pending_escalations.map((e) => e.kind).join(", ") : "";
  return el("tr", { "data-run": run.run_id },
    el("td", {}, el("a", { href: "/portal/runs/" + encodeURIComponent(run.run_id) }, run.run_id)),
    el("td", { class: "status status-" + run.status }, run.status + waiting),
    el("td", {}, run.title, el("div", { class: "muted" }, run.repo + " → " + run.target_branch)),
    el("td", {}, gateBar(run.gates)),
    el("td", { class: "num" }, money(run.cost_usd)),
    el("td", { class: "num" }, String(run.tokens_used)),
    el("td", {}, when(run.last_event_at)),
  );
}

async function load(append) {
  const params = filters();
  if (append && nextCursor) params.set("cursor", nextCursor);
  try {
    const page = await api("/runs?" + params.toString());
    const body = document.getElementById("runs");
    if (!append) clear(body);
    page.runs.forEach((run) => body.append(runRow(run)));
    nextCursor = page.next_cursor;
    document.getElementById("more").hidden = !nextCursor;
    document.getElementById("caption").textContent = body.children.length ? "" : "No runs match.";
    history.replaceState(null, "", "?" + filters().toString());
  } catch (error) {
    showError(document.getElementById("message"), error);
  }
}

// Live: every new event in the log reloads the first page (at most every half second).
async function follow() {
  const { position, event_types } = await api("/position");
  const source = new EventSource("/api/v1/stream?after=" + position);
  const live = document.getElementById("live");
  source.onopen = () => { live.textContent = "live"; };
  source.onerror = () => { live.textContent = "reconnecting…"; };
  let pending = null;
  onEvents(source, event_types, () => {
    if (pending) return;
    pending = setTimeout(() => { pending = null; load(false); }, 500);
  });
}

document.addEventListener("DOMContentLoaded", async () => {
  const initial = new URLSearchParams(location.search);
  document.getElementById("status").value = initial.get("status") || "";
  document.getElementById("q").value = initial.get("q") || "";
  document.getElementById("filters").addEventListener("submit", (event) => { event.preventDefault(); load(false); });
  document.getElementById("status").addEventListener("change", () => load(false));
  document.getElementById("more").addEventListener("click", () => load(true));
  await header("runs");
  await load(false);
  follow();
});
