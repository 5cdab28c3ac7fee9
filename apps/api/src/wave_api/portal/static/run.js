"use strict";
const runId = decodeURIComponent(location.pathname.split("/")[3] || "");
const seen = new Set(); // global positions already shown: a reconnect never shows one twice
let role = "viewer";

function summaryOf(event) {
  const p = event.payload || {};
  switch (event.type) {
    case "RunRequested": return (p.story || "").split("\n")[0];
    case "PlanProposed": return (p.tasks || []).length + " task(s): " + (p.summary || "");
    case "PlanCreated": return (p.tasks || []).map((t) => t.task_id + " (" + t.domain + ")").join(", ") + (p.summary ? ": " + p.summary : "") +
      (p.delivery ? " · delivered " + (p.delivery === "pr" ? "as a pull request" : "locally") + ", as its domains say" : "");
    case "RewriteRequested": return "task " + p.task_id + " written again against " + String(p.head || "").slice(0, 12);
    case "ChangeProposed": return "task " + p.task_id + ", attempt " + p.attempt;
    case "ActionScored": return p.verdict + " (score " + p.score + ")" + (p.task_id ? " on " + p.task_id + " attempt " + p.attempt : "");
    case "TestsPassed": return "on " + String(p.commit || "").slice(0, 12);
    case "TestsFailed": return (p.failing_tests || []).join(", ") || "tests failed";
    case "LLMCallRecorded": return p.role + " → " + p.provider + "/" + p.model + " " + money(p.cost_usd);
    case "EscalationRequested": return p.kind + ": " + p.reason;
    case "HumanDecisionRecorded": return p.decision + " by " + p.decided_by + (p.comment ? ": " + p.comment : "");
    case "ChangeCommitted": return String(p.commit || "").slice(0, 12) + " on " + p.branch;
    case "BranchMerged": return "into " + (p.target_branch || p.into || "") + " at " + String(p.merge_commit || p.commit || "").slice(0, 12);
    case "HandlingAbandoned": return p.service + " gave up on " + p.subject_type + ": " + p.reason;
    default: return p.reason || p.summary || "";
  }
}

function timelineEntry(event) {
  return el("li", { "data-position": event.global_position, "data-type": event.type },
    el("span", { class: "muted" }, "#" + event.global_position),
    el("time", { datetime: event.occurred_at }, when(event.occurred_at)),
    el("strong", {}, event.type),
    el("span", {}, summaryOf(event), el("span", { class: "muted" }, " · " + event.producer)));
}

function diffBlock(diff) {
  const pre = el("pre", { "aria-label": "diff" });
  for (const line of String(diff).split("\n")) {
    const kind = line.startsWith("@@") ? "diff-hunk" : line.startsWith("+") ? "diff-add" : line.startsWith("-") ? "diff-del" : null;
    pre.append(el("span", { class: kind }, line + "\n"));
  }
  return pre;
}

const attempts = new Map(); // "task/attempt" → section

function attemptSection(taskId, attempt) {
  const key = taskId + "/" + attempt;
  if (!attempts.has(key)) {
    const holder = document.getElementById("attempts");
    if (!attempts.size) clear(holder);
    const section = el("section", { class: "attempt", "data-attempt": key }, el("h3", {}, "Task " + taskId + ", attempt " + attempt));
    holder.append(section);
    attempts.set(key, section);
  }
  return attempts.get(key);
}

let lastAttempt = null; // tests run on the head after the latest committed attempt

function addDetails(event) {
  const p = event.payload || {};
  if (event.type === "ChangeProposed") {
    lastAttempt = [p.task_id, p.attempt];
    const section = attemptSection(p.task_id, p.attempt);
    if (p.rationale) section.append(el("p", {}, p.rationale));
    if (p.diff) section.append(el("h4", {}, "Diff"), diffBlock(p.diff));
    for (const w of p.withheld || []) section.append(el("p", { class: "error" }, "withheld: a " + w.kind + " secret at " + w.path + ":" + w.line));
  } else if (event.type === "ActionScored" && p.task_id) {
    const section = attemptSection(p.task_id, p.attempt || 1);
    const list = el("ul", {}, (p.violations || []).map((v) => el("li", {}, el("strong", {}, v.principle), " — rule ", el("code", {}, v.rule), v.detail ? ": " + v.detail : "")));
    section.append(el("h4", {}, "Safety verdict: " + p.verdict + " (score " + p.score + ", policy " + p.policy_version + ")"),
      (p.violations || []).length ? list : el("p", { class: "muted" }, "No principle or rule was broken."),
      (p.risks || []).length ? el("p", { class: "muted" }, "Risks: " + p.risks.join(", ")) : null);
  } else if (event.type === "TestsFailed" || event.type === "TestsPassed") {
    const section = lastAttempt ? attemptSection(lastAttempt[0], lastAttempt[1]) : document.getElementById("attempts");
    const counts = p.counts ? Object.entries(p.counts).map(([k, v]) => k + " " + v).join(", ") : "";
    if (event.type === "TestsPassed") {
      section.append(el("h4", { class: "notice" }, "Tests passed on " + String(p.commit).slice(0, 12) + (counts ? " (" + counts + ")" : "")));
      return;
    }
    section.append(el("h4", { class: "error" }, "Tests failed on " + String(p.commit).slice(0, 12) + (counts ? " (" + counts + ")" : "")),
      el("ul", { class: "failing" }, (p.failing_tests || []).map((t) => el("li", {}, el("code", {}, t)))),
      p.command ? el("p", { class: "muted" }, "command: " + p.command + " · sandbox: " + p.sandbox) : null,
      el("pre", { class: "wrap", "aria-label": "test output" }, p.failure_excerpt || "(no output)"));
  } else if (event.type === "LLMCallRecorded") {
    const body = document.getElementById("calls");
    body.append(el("tr", {},
      el("td", {}, String(body.children.length + 1)),
      el("td", {}, p.role),
      el("td", {}, p.provider + " / " + p.model, p.outcome === "error" ? el("div", { class: "error" }, p.error || "error") : null),
      el("td", { class: "num" }, String(p.input_tokens)),
      el("td", { class: "num" }, String(p.output_tokens)),
      el("td", { class: "num" }, money(p.cost_usd)),
      el("td", { class: "num" }, Math.round(p.latency_ms) + " ms"),
      el("td", {}, el("details", {}, el("summary", {}, "show"),
        el("h4", {}, "Prompt"), el("pre", { class: "wrap" }, p.prompt ?? (p.prompt_ref ? "(stored apart: " + JSON.stringify(p.prompt_ref) + ")" : "")),
        el("h4", {}, "Answer"), el("pre", { class: "wrap" }, p.response ?? (p.response_ref ? "(stored apart: " + JSON.stringify(p.response_ref) + ")" : ""))))));
  }
}

function decisionForm(escalation) {
  const id = "comment-" + escalation.escalation_id.replace(/[^A-Za-z0-9_-]/g, "_");
  const comment = el("textarea", { id, name: "comment" });
  const decide = (decision) => async (event) => {
    event.preventDefault();
    const message = document.getElementById("message");
    try {
      const done = await api("/runs/" + encodeURIComponent(runId) + "/decisions", { method: "POST",
        body: { escalation_id: escalation.escalation_id, decision, comment: comment.value } });
      clear(message).append(el("p", { class: "notice", role: "status" }, done.decision + " recorded by " + done.decided_by));
    } catch (error) { showError(message, error); }
  };
  const options = escalation.options || ["approve", "reject"];
  return el("form", { class: "inline", "data-escalation": escalation.escalation_id },
    el("label", { for: id }, "Comment", comment),
    options.includes("approve") ? el("button", { type: "submit", onclick: decide("approve") }, "Approve") : null,
    options.includes("reject") ? el("button", { type: "button", class: "danger", onclick: decide("reject") }, "Reject") : null);
}

function showState(state) {
  document.title = (state.story || runId).split("\n")[0] + " · WAVE";
  document.getElementById("title").textContent = (state.story || runId).split("\n")[0];
  const status = document.getElementById("status");
  status.textContent = state.status;
  status.className = "status status-" + state.status;
  document.getElementById("facts").textContent = " · " + runId + " · " + state.repo + " → " + state.target_branch +
    " · delivery " + state.delivery + " · " + money(state.budget_used_usd) + " of " + money(state.budget_limit_usd) + " · " + state.budget_used_tokens + " tokens · retries " + state.retries;
  clear(document.getElementById("gates")).append(gateBar(state.gates));
  showDomains(state);
  const waiting = clear(document.getElementById("waiting"));
  const pending = Object.values(state.pending_escalations || {});
  for (const escalation of pending) {
    waiting.append(el("div", { class: "waiting", "data-kind": escalation.kind },
      el("p", {}, el("strong", {}, escalation.kind), ": " + escalation.reason),
      el("p", { class: "muted" }, "since ", el("time", { datetime: escalation.requested_at }, when(escalation.requested_at)), " (" + since(escalation.requested_at) + ")"),
      role !== "viewer" ? decisionForm(escalation) : el("p", { class: "muted" }, "An approver decides this.")));
  }
  for (const dead of Object.values(state.abandoned || {})) {
    if (dead.dead_lettered) waiting.append(el("div", { class: "waiting" }, el("p", {}, el("strong", {}, "dead letter"), ": " + dead.service + " gave up on " + dead.event_type + ": " + dead.reason)));
  }
  if (!waiting.children.length) waiting.append(el("p", { class: "muted" }, state.finished || ["completed", "failed", "blocked", "cancelled", "rejected"].includes(state.status) ? "Nothing: the run has finished." : "Nothing: the run is not waiting for a person."));
  document.getElementById("actions").hidden = role === "viewer" || ["completed", "failed", "blocked", "cancelled", "rejected"].includes(state.status);
  document.getElementById("budget").textContent = "Budget: " + money(state.budget_used_usd) + " of " + money(state.budget_limit_usd) + ", " + state.budget_used_tokens + " of " + state.budget_limit_tokens + " tokens.";
}

function taskState(task, state) {
  if (task.commit) return "integrated at " + task.commit.slice(0, 12);
  const review = Object.values(state.pending_escalations || {}).find((e) => e.kind === "task_review" && e.task_id === task.task_id);
  if (review) return "waiting for review";
  if (task.rejected_reason) return "rejected: " + task.rejected_reason;
  if (task.proposal_event_id) return task.verdict ? "scored " + task.verdict : "proposed";
  const waiting = (task.depends_on || []).filter((d) => !(state.tasks[d] || {}).commit);
  return waiting.length ? "waits for " + waiting.join(", ") : "being written";
}

function showDomains(state) {
  const holder = document.getElementById("domains");
  const tasks = Object.values(state.tasks || {});
  if (!tasks.length) return;
  clear(holder);
  const byDomain = new Map();
  for (const task of tasks) {
    if (!byDomain.has(task.domain)) byDomain.set(task.domain, []);
    byDomain.get(task.domain).push(task);
  }
  for (const [domain, members] of byDomain) {
    const policy = members[0].policy;
    const rules = policy ? "merge " + policy.merge_policy + " · safety allow ≥ " + policy.allow_threshold + ", block < " + policy.block_threshold +
      " · " + policy.retry_limit + " fix(es) · " + Math.round(policy.budget_share * 100) + "% of the budget" +
      (policy.approvers.length ? " · approvers " + policy.approvers.join(", ") : "") +
      (policy.delivery ? " · delivery " + policy.delivery : "") : "the run's own settings";
    holder.append(el("section", { class: "domain", "data-domain": domain },
      el("h3", {}, domain, el("span", { class: "muted" }, " — " + rules)),
      el("ul", {}, members.map((t) => el("li", { "data-task": t.task_id }, el("strong", {}, t.task_id), " (attempt " + t.attempt + "): " + t.description + " — ",
        el("em", {}, taskState(t, state)), (t.depends_on || []).length ? el("span", { class: "muted" }, " · after " + t.depends_on.join(", ")) : null)))));
  }
}

let refreshing = null;
function refreshState() {
  if (refreshing) return;
  refreshing = setTimeout(async () => {
    refreshing = null;
    try { showState(await api("/runs/" + encodeURIComponent(runId))); } catch (error) { showError(document.getElementById("message"), error); }
  }, 200);
}

function follow(types) {
  const source = new EventSource("/api/v1/runs/" + encodeURIComponent(runId) + "/stream");
  const live = document.getElementById("live");
  source.onopen = () => { live.textContent = "· live"; };
  source.onerror = () => { live.textContent = "· reconnecting…"; };
  onEvents(source, types, (message) => {
    const event = JSON.parse(message.data);
    if (seen.has(event.global_position)) return;
    seen.add(event.global_position);
    document.getElementById("timeline").append(timelineEntry(event));
    document.getElementById("count").textContent = "(" + seen.size + " events)";
    addDetails(event);
    refreshState();
  });
}

async function post(path, body) {
  const message = document.getElementById("message");
  try {
    await api("/runs/" + encodeURIComponent(runId) + path, { method: "POST", body });
    clear(message).append(el("p", { class: "notice", role: "status" }, "Recorded."));
  } catch (error) { showError(message, error); }
}

document.addEventListener("DOMContentLoaded", async () => {
  document.getElementById("replay-link").href = "/portal/runs/" + encodeURIComponent(runId) + "/replay";
  document.getElementById("budget-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const usd = document.getElementById("budget-usd").value, tokens = document.getElementById("budget-tokens").value;
    post("/budget", { usd: usd === "" ? null : Number(usd), tokens: tokens === "" ? null : Number(tokens), force: true });
  });
  document.getElementById("cancel-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (confirm("Cancel this run?")) post("/cancel", { reason: document.getElementById("cancel-reason").value });
  });
  role = (await header("run")).role;
  try {
    showState(await api("/runs/" + encodeURIComponent(runId)));
  } catch (error) { showError(document.getElementById("message"), error); return; }
  const { event_types } = await api("/position");
  follow(event_types);
});
