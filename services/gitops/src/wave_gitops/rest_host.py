"""What GitHub's and Gitea's REST APIs do alike: a pull request's JSON, reading one back, asking for a
merge, and opening one for a branch so that a redelivered event finds the one it opened before
instead of a second."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from .host_http import HostClient
from .hosting import GitHost, HostRefusedError, PullRequestRef


class RestGitHost(GitHost):
    repository: str
    _http: HostClient
    _base: str  # the repository's path in the API: /repos/<owner>/<name>
    _already_open: tuple[int, ...]  # statuses with which the host refuses a second pull request for a branch
    _called: str  # how a refusal names the host to the user

    def open_pull_request(self, head_branch: str, base_branch: str, title: str, body: str) -> PullRequestRef:
        found = self._open_for(head_branch, base_branch)
        if found is not None:
            return found
        answer = self._http.call(
            "POST", f"{self._base}/pulls", {"title": title, "head": head_branch, "base": base_branch, "body": body},
            ok=self._already_open,
        )
        if answer.status in self._already_open:  # one was opened meanwhile (a redelivered event): that one
            found = self._open_for(head_branch, base_branch)
            if found is None:
                raise HostRefusedError(f"{self.repository}: {self._called} refused the pull request from {head_branch}: "
                                       f"{self._http.scrub(str(answer.body))[:300]}", answer.status)
            return found
        return pull_of(answer.body)

    def _merge(self, verb: str, number: int, payload: dict[str, Any]) -> Any:
        """Asks the host to merge pull request `number`; the answer's body, or the host's refusal raised."""
        answer = self._http.call(verb, f"{self._base}/pulls/{number}/merge", payload, ok=(405, 409))
        if answer.status in (405, 409):
            message = answer.body.get("message") if isinstance(answer.body, dict) else answer.body
            raise HostRefusedError(f"{self._called} will not merge pull request #{number}: {message}", answer.status)
        return answer.body

    def pull_request(self, number: int) -> PullRequestRef:
        return pull_of(self._http.call("GET", f"{self._base}/pulls/{number}").body)

    @abstractmethod
    def _open_for(self, head_branch: str, base_branch: str) -> PullRequestRef | None:
        """The open pull request from head_branch into base_branch, if there is one."""


def pull_of(body: Any) -> PullRequestRef:
    return PullRequestRef(
        number=int(body["number"]), url=str(body.get("html_url") or ""), merged=bool(body.get("merged")),
        merge_commit=body.get("merge_commit_sha") if body.get("merged") else None,
    )
