"use strict";
let data = null;

function ms(value) { return value === null ? "-" : value.toFixed(1) + " ms"; }

function renderScraped(chosen) {
  const rows = clear(document.getElementById("scraped"));
  const models = clear(document.getElementById("models"));
  for (const s of data.scraped.filter((s) => !chosen || s.service === chosen)) {
    if (!s.up) {
      rows.append(el("tr", { "data-service": s.service }, el("td", {}, s.service), el("td", { colspan: 7, class: "muted" }, "unreachable: " + s.error)));
      continue;
    }
    rows.append(el("tr", { "data-service": s.service }, el("td", {}, s.service), el("td", { class: "num" }, String(s.events_handled)),
      el("td", { class: "num" }, s.events_per_second === null ? "-" : s.events_per_second.toFixed(2)),
      el("td", { class: "num" }, ms(s.handler_p50_ms)), el("td", { class: "num" }, ms(s.handler_p99_ms)),
      el("td", { class: "num" }, String(s.failures)), el("td", { class: "num" }, String(s.consumer_lag)), el("td", { class: "num" }, String(s.dead_letters))));
    for (const m of s.models) {
      models.append(el("tr", {}, el("td", {}, s.service), el("td", {}, m.role), el("td", {}, m.provider), el("td", { class: "num" }, "-"),
        el("td", { class: "num" }, String(m.input_tokens)), el("td", { class: "num" }, String(m.output_tokens)), el("td", { class: "num" }, money(m.cost_usd))));
    }
  }
  if (!models.children.length) models.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No model call.")));
}

function render() {
  const chosen = document.getElementById("service").value;
  const scraped = data.source === "metrics";
  document.getElementById("live").hidden = !scraped;
  for (const section of document.querySelectorAll(".from-store")) section.hidden = scraped;
  if (scraped) { renderScraped(chosen); return; }
  const services = clear(document.getElementById("services"));
  for (const s of data.services.filter((s) => !chosen || s.service === chosen)) {
    services.append(el("tr", { "data-service": s.service }, el("td", {}, s.service), el("td", { class: "num" }, String(s.events)),
      el("td", {}, Object.entries(s.by_type).map(([t, n]) => t + " " + n).join(", "))));
  }
  const models = clear(document.getElementById("models"));
  for (const m of data.models.filter((m) => !chosen || m.service === chosen)) {
    models.append(el("tr", {}, el("td", {}, m.service), el("td", {}, m.role), el("td", {}, m.provider), el("td", { class: "num" }, String(m.calls)),
      el("td", { class: "num" }, String(m.input_tokens)), el("td", { class: "num" }, String(m.output_tokens)), el("td", { class: "num" }, money(m.cost_usd))));
  }
  if (!models.children.length) models.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No model call.")));
  const dead = clear(document.getElementById("dead"));
  for (const d of data.dead_letters.filter((d) => !chosen || d.service === chosen)) {
    dead.append(el("tr", {}, el("td", {}, el("a", { href: "/portal/runs/" + encodeURIComponent(d.run_id) }, d.run_id)),
      el("td", {}, d.service), el("td", {}, d.subject_type + (d.dead_lettered ? " (dead-lettered)" : "")), el("td", {}, d.reason),
      el("td", {}, d.action), el("td", { class: "num" }, String(d.attempts)), el("td", {}, when(d.occurred_at))));
  }
  if (!dead.children.length) dead.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "None.")));
}

async function load() {
  try {
    data = await api("/dashboard");
  } catch (error) { showError(document.getElementById("message"), error); return; }
  const select = document.getElementById("service");
  const chosen = select.value || new URLSearchParams(location.search).get("service") || "";
  const names = (data.source === "metrics" ? data.scraped : data.services).map((s) => s.service);
  clear(select).append(el("option", { value: "" }, "every service"), names.map((name) => el("option", { value: name }, name)));
  select.value = chosen;
  render();
}

document.addEventListener("DOMContentLoaded", async () => {
  document.getElementById("service").addEventListener("change", () => {
    history.replaceState(null, "", "?service=" + encodeURIComponent(document.getElementById("service").value));
    render();
  });
  document.getElementById("reload").addEventListener("click", load);
  await header("dashboard");
  load();
});
