"""The GitHost port on Gitea's (and Forgejo's) REST API, `https://<host>/api/v1`."""

from __future__ import annotations

from .host_http import HostClient, segment
from .hosting import (
    MERGE_METHODS,
    CheckResult,
    HostMerge,
    HostRefusedError,
    PullRequestRef,
    StatusState,
)
from .rest_host import RestGitHost, pull_of


class GiteaHost(RestGitHost):
    name = "gitea"
    _already_open = (409, 422)
    _called = "the host"

    def __init__(self, repository: str, token: str, api_url: str) -> None:
        self.repository = repository
        self._http = HostClient(api_url, token, "token")
        self._base = f"/repos/{repository}"

    def post_status(self, commit: str, context: str, state: StatusState, description: str, target_url: str = "") -> None:
        self._http.call(
            "POST", f"{self._base}/statuses/{commit}",
            {"state": state, "context": context, "description": description[:140], "target_url": target_url},
        )

    def required_checks(self, commit: str, base_branch: str) -> tuple[CheckResult, ...]:
        answer = self._http.call("GET", f"{self._base}/branch_protections/{segment(base_branch)}", ok=(404,))
        if answer.status == 404 or not isinstance(answer.body, dict) or not answer.body.get("enable_status_check"):
            return ()
        names = list(answer.body.get("status_check_contexts") or [])
        if not names:
            return ()
        body = self._http.call("GET", f"{self._base}/commits/{commit}/status").body or {}
        reported: dict[str, CheckResult] = {}
        for status in body.get("statuses") or []:
            context = status.get("context", "")
            if context and context not in reported:
                value = status.get("status") or status.get("state")
                state = value if value in ("success", "pending") else "failure"
                reported[context] = CheckResult(
                    context, state, status.get("description") or "", status.get("target_url") or "",  # type: ignore[arg-type]
                )
        return tuple(reported.get(name, CheckResult(name, "pending")) for name in names)

    def merge_pull_request(self, number: int, strategy: str, title: str, head_commit: str) -> HostMerge:
        method = MERGE_METHODS["gitea"][strategy]
        current = self.pull_request(number)
        if current.merged and current.merge_commit:
            return HostMerge(current.merge_commit, fast_forward=method == "fast-forward-only")
        self._merge("POST", number, {"Do": method, "MergeTitleField": title, "head_commit_id": head_commit})
        merged = self.pull_request(number)
        if not merged.merge_commit:
            raise HostRefusedError(f"the host says pull request #{number} was merged but names no merge commit")
        return HostMerge(merged.merge_commit, fast_forward=method == "fast-forward-only")

    def _open_for(self, head_branch: str, base_branch: str) -> PullRequestRef | None:
        listed = self._http.call("GET", f"{self._base}/pulls?state=open&limit=50").body or []
        for pull in listed:
            if (pull.get("head") or {}).get("ref") == head_branch and (pull.get("base") or {}).get("ref") == base_branch:
                return pull_of(pull)
        return None
