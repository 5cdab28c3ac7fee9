"use strict";
const runId = decodeURIComponent(location.pathname.split("/")[3] || "");
let events = [];

async function check() {
  const result = clear(document.getElementById("result"));
  result.append(el("p", { class: "muted" }, "checking…"));
  try {
    const replay = await api("/runs/" + encodeURIComponent(runId) + "/replay");
    clear(result).append(el("p", { class: replay.consistent ? "notice" : "error", role: "status" },
      (replay.consistent ? "Consistent: " : "Inconsistent: ") + replay.events + " events replayed"));
    for (const c of replay.checks) {
      result.append(el("h3", {}, c.against + (c.differences.length ? ": " + c.differences.length + " difference(s)" : ": no difference")),
        c.differences.length ? el("ul", {}, c.differences.map((d) => el("li", {}, el("code", {}, d)))) : null);
    }
  } catch (error) { showError(result, error); }
}

function groupOf(event) {
  const p = event.payload || {};
  return p.task_id ? "Task " + p.task_id + (p.attempt ? ", attempt " + p.attempt : "") : "Run";
}

function render() {
  const wanted = document.getElementById("type").value;
  const groups = new Map();
  for (const event of events) {
    if (wanted && event.type !== wanted) continue;
    const name = groupOf(event);
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push(event);
  }
  const history = clear(document.getElementById("history"));
  if (!groups.size) history.append(el("p", { class: "muted" }, "No event of that type."));
  for (const [name, list] of groups) {
    history.append(el("h3", {}, name + " (" + list.length + ")"),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Version"), el("th", {}, "Time"), el("th", {}, "Type"), el("th", {}, "Producer"), el("th", {}, "Payload"))),
        el("tbody", {}, list.map((e) => el("tr", { "data-type": e.type },
          el("td", { class: "num" }, String(e.stream_version)), el("td", {}, when(e.occurred_at)), el("td", {}, e.type), el("td", {}, e.producer),
          el("td", {}, el("details", {}, el("summary", {}, "payload"), el("pre", { class: "wrap" }, JSON.stringify(e.payload, null, 2)))))))));
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  document.getElementById("run-link").href = "/portal/runs/" + encodeURIComponent(runId);
  document.getElementById("title").textContent = "Replay of " + runId;
  document.getElementById("check").addEventListener("click", check);
  document.getElementById("type").addEventListener("change", render);
  await header("replay");
  try {
    events = (await api("/runs/" + encodeURIComponent(runId) + "/events")).events;
  } catch (error) { showError(document.getElementById("history"), error); return; }
  const select = document.getElementById("type");
  for (const type of [...new Set(events.map((e) => e.type))].sort()) select.append(el("option", { value: type }, type));
  render();
});
