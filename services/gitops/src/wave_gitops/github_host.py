"""The GitHost port on GitHub's REST API (api.github.com, or a GitHub Enterprise `/api/v3`)."""

from __future__ import annotations

from .host_http import HostClient, segment
from .hosting import (
    MERGE_METHODS,
    CheckResult,
    HostMerge,
    PullRequestRef,
    StatusState,
)
from .rest_host import RestGitHost, pull_of

DEFAULT_API_URL = "https://api.github.com"


class GitHubHost(RestGitHost):
    name = "github"
    _already_open = (422,)
    _called = "GitHub"

    def __init__(self, repository: str, token: str, api_url: str = DEFAULT_API_URL) -> None:
        self.repository = repository
        self.owner = repository.split("/", 1)[0]
        self._http = HostClient(
            api_url, token, "Bearer",
            {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
        )
        self._base = f"/repos/{repository}"

    def post_status(self, commit: str, context: str, state: StatusState, description: str, target_url: str = "") -> None:
        body = {"state": state, "context": context, "description": description[:140]}
        if target_url:
            body["target_url"] = target_url
        self._http.call("POST", f"{self._base}/statuses/{commit}", body)

    def required_checks(self, commit: str, base_branch: str) -> tuple[CheckResult, ...]:
        answer = self._http.call(
            "GET", f"{self._base}/branches/{segment(base_branch)}/protection/required_status_checks", ok=(404,)
        )
        if answer.status == 404 or not isinstance(answer.body, dict):
            return ()
        names = list(answer.body.get("contexts") or [])
        names += [c["context"] for c in answer.body.get("checks") or [] if c.get("context") not in names]
        if not names:
            return ()
        reported = self._statuses(commit)
        reported.update({k: v for k, v in self._check_runs(commit).items() if k not in reported})
        return tuple(reported.get(name, CheckResult(name, "pending")) for name in names)

    def merge_pull_request(self, number: int, strategy: str, title: str, head_commit: str) -> HostMerge:
        method = MERGE_METHODS["github"][strategy]
        current = self.pull_request(number)
        if current.merged and current.merge_commit:
            return HostMerge(current.merge_commit, fast_forward=False)
        merged = self._merge("PUT", number, {"merge_method": method, "commit_title": title, "sha": head_commit})
        return HostMerge(str(merged["sha"]), fast_forward=False)

    def _open_for(self, head_branch: str, base_branch: str) -> PullRequestRef | None:
        query = f"?state=open&head={segment(self.owner + ':' + head_branch)}&base={segment(base_branch)}"
        listed = self._http.call("GET", f"{self._base}/pulls{query}").body or []
        return pull_of(listed[0]) if listed else None

    def _statuses(self, commit: str) -> dict[str, CheckResult]:
        body = self._http.call("GET", f"{self._base}/commits/{commit}/status").body or {}
        states = {"success": "success", "pending": "pending"}
        found: dict[str, CheckResult] = {}
        for status in body.get("statuses") or []:  # newest first: keep the first of each context
            context = status.get("context", "")
            if context and context not in found:
                found[context] = CheckResult(
                    context, states.get(status.get("state"), "failure"),  # type: ignore[arg-type]
                    status.get("description") or "", status.get("target_url") or "",
                )
        return found

    def _check_runs(self, commit: str) -> dict[str, CheckResult]:
        body = self._http.call("GET", f"{self._base}/commits/{commit}/check-runs").body or {}
        found: dict[str, CheckResult] = {}
        for run in body.get("check_runs") or []:
            name = run.get("name", "")
            if not name or name in found:
                continue
            if run.get("status") != "completed":
                state = "pending"
            else:
                state = "success" if run.get("conclusion") in ("success", "neutral", "skipped") else "failure"
            output = run.get("output") or {}
            description = " ".join(x for x in (output.get("title"), output.get("summary")) if x)
            found[name] = CheckResult(name, state, description, run.get("html_url") or "")  # type: ignore[arg-type]
        return found
