"""A local git host: the subset of GitHub's and Gitea's REST APIs gitops uses (pull requests, commit
statuses, check runs, branch protection's required checks, merging), over a real bare repository that
gitops pushes to by the file protocol (`clone_url`).

It checks the token as the host would (401 without it), keeps every request it received (so a test can
see what went over the wire) and plays a CI: `ci(commit)` says which statuses the host's CI reports on
a commit. Merges are real: the bare repository's target branch moves (squash, merge commit, or a
fast-forward for GitHub's `rebase` / Gitea's `fast-forward-only` when the target has not moved).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pygit2
from local_http import LocalHTTPServer

CI = Callable[[str], dict[str, tuple[str, str]]]  # commit -> {context: (state, description)}
SIGNATURE = pygit2.Signature("Fake Host", "host@example.invalid")


@dataclass(frozen=True)
class Received:
    method: str
    path: str  # without the API prefix and the query
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeGitHost:
    repo_path: Path  # a bare repository
    flavour: str = "github"  # github | gitea
    token: str = "host-token-for-tests"
    repository: str = "acme/shop"
    required: dict[str, list[str]] = field(default_factory=dict)  # branch -> required check names
    ci: CI | None = None  # the host's CI: statuses it reports on a commit
    ci_as_check_runs: bool = False  # GitHub: report the CI as check runs instead of statuses

    def __post_init__(self) -> None:
        self.requests: list[Received] = []
        self.pulls: dict[int, dict[str, Any]] = {}
        self.statuses: dict[str, list[dict[str, Any]]] = {}  # commit -> newest first
        self._lock = threading.Lock()
        self._http = LocalHTTPServer(_handler(self))

    # --- test controls -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._http.url

    @property
    def api_url(self) -> str:
        return self.url + ("/api/v1" if self.flavour == "gitea" else "")

    @property
    def clone_url(self) -> str:
        return str(self.repo_path)

    def start(self) -> FakeGitHost:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def branch_head(self, branch: str) -> str | None:
        repo = pygit2.Repository(str(self.repo_path))
        ref = repo.references.get(f"refs/heads/{branch}")
        return str(ref.target) if ref is not None else None

    def statuses_of(self, commit: str) -> dict[str, str]:
        """context -> the newest state gitops (or the CI) posted on `commit`."""
        found: dict[str, str] = {}
        for status in self.statuses.get(commit, []):
            found.setdefault(status["context"], status["state"])
        return found

    # --- the API -------------------------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        prefix = f"/repos/{self.repository}"
        if not path.startswith(prefix + "/"):
            return 404, {"message": "Not Found"}
        rest = path[len(prefix):]
        routes: list[tuple[str, str, Callable[..., tuple[int, Any]]]] = [
            ("POST", r"/pulls", self._create_pull),
            ("GET", r"/pulls", self._list_pulls),
            ("GET", r"/pulls/(\d+)", self._get_pull),
            ("PUT" if self.flavour == "github" else "POST", r"/pulls/(\d+)/merge", self._merge),
            ("POST", r"/statuses/([0-9a-f]+)", self._post_status),
            ("GET", r"/commits/([0-9a-f]+)/status", self._combined_status),
        ]
        if self.flavour == "github":
            routes += [
                ("GET", r"/commits/([0-9a-f]+)/check-runs", self._check_runs),
                ("GET", r"/branches/(.+)/protection/required_status_checks", self._github_protection),
            ]
        else:
            routes.append(("GET", r"/branch_protections/(.+)", self._gitea_protection))
        for verb, pattern, action in routes:
            matched = re.fullmatch(pattern, rest)
            if verb == method and matched:
                with self._lock:
                    return action(*[unquote(g) for g in matched.groups()], query=query, body=body)
        return 404, {"message": f"no route {method} {rest}"}

    def _repo(self) -> pygit2.Repository:
        return pygit2.Repository(str(self.repo_path))

    def _pull_json(self, pull: dict[str, Any]) -> dict[str, Any]:
        return {
            "number": pull["number"], "state": pull["state"], "title": pull["title"], "body": pull["body"],
            "html_url": f"{self.url}/{self.repository}/pull/{pull['number']}",
            "merged": pull["merged"], "merge_commit_sha": pull.get("merge_commit_sha"),
            "head": {"ref": pull["head"], "sha": self.branch_head(pull["head"])}, "base": {"ref": pull["base"]},
        }

    def _create_pull(self, *, query: dict[str, str], body: Any) -> tuple[int, Any]:
        head, base = body.get("head", ""), body.get("base", "")
        if any(p["head"] == head and p["base"] == base and p["state"] == "open" for p in self.pulls.values()):
            status = 422 if self.flavour == "github" else 409
            return status, {"message": f"A pull request already exists for {head}"}
        head_sha, base_sha = self.branch_head(head), self.branch_head(base)
        if head_sha is None or base_sha is None:
            return 422, {"message": "Validation Failed", "errors": [{"message": f"no branch {head or base}"}]}
        if head_sha == base_sha:
            return 422, {"message": "Validation Failed", "errors": [{"message": f"No commits between {base} and {head}"}]}
        number = len(self.pulls) + 1
        self.pulls[number] = {"number": number, "state": "open", "title": body.get("title", ""),
                              "body": body.get("body", ""), "head": head, "base": base, "merged": False}
        return 201, self._pull_json(self.pulls[number])

    def _list_pulls(self, *, query: dict[str, str], body: Any) -> tuple[int, Any]:
        found = [p for p in self.pulls.values() if query.get("state", "open") in ("all", p["state"])]
        if "head" in query:  # GitHub: owner:branch
            found = [p for p in found if f"{self.repository.split('/')[0]}:{p['head']}" == query["head"]]
        if "base" in query:
            found = [p for p in found if p["base"] == query["base"]]
        return 200, [self._pull_json(p) for p in found]

    def _get_pull(self, number: str, *, query: dict[str, str], body: Any) -> tuple[int, Any]:
        pull = self.pulls.get(int(number))
        return (200, self._pull_json(pull)) if pull else (404, {"message": "Not Found"})

    def _post_status(self, commit: str, *, query: dict[str, str], body: Any) -> tuple[int, Any]:
        status = {"context": body.get("context", "default"), "state": body["state"],
                  "description": body.get("description", ""), "target_url": body.get("target_url", "")}
        self.statuses.setdefault(commit, []).insert(0, status)
        return 201, {**status, "status": status["state"]} if self.flavour == "gitea" else status

    def _reported(self, commit: str) -> list[dict[str, Any]]:
        """The statuses on a commit, newest first: the CI's, then what was posted."""
        ci = [
            {"context": name, "state": state, "description": description, "target_url": f"{self.url}/ci/{commit}/{name}"}
            for name, (state, description) in (self.ci(commit) if self.ci else {}).items()
        ]
        return ci + self.statuses.get(commit, [])

    def _combined_status(self, commit: str, *, query: dict[str, str], body: Any) -> tuple[int, Any]:
        statuses = [] if self.ci_as_check_runs else self._reported(commit)
        if self.ci_as_check_runs:
            statuses = self.statuses.get(commit, [])
        if self.flavour == "gitea":
            statuses = [{**s, "status": s["state"]} for s in statuses]
            for s in statuses:
                del s["state"]
        return 200, {"sha": commit, "statuses": statuses}

    def _check_runs(self, commit: str, *, query: dict[str, str], body: Any) -> tuple[int, Any]:
        runs = []
        if self.ci_as_check_runs and self.ci:
            for name, (state, description) in self.ci(commit).items():
                done = state != "pending"
                runs.append({"name": name, "status": "completed" if done else "in_progress",
                             "conclusion": state if done else None, "html_url": f"{self.url}/runs/{name}",
                             "output": {"title": description, "summary": ""}})
        return 200, {"total_count": len(runs), "check_runs": runs}

    def _github_protection(self, branch: str, *, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if branch not in self.required:
            return 404, {"message": "Branch not protected"}
        return 200, {"strict": False, "contexts": list(self.required[branch]), "checks": []}

    def _gitea_protection(self, branch: str, *, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if branch not in self.required:
            return 404, {"message": "Branch protection not found"}
        return 200, {"branch_name": branch, "enable_status_check": True, "status_check_contexts": list(self.required[branch])}

    def _merge(self, number: str, *, query: dict[str, str], body: Any) -> tuple[int, Any]:
        pull = self.pulls.get(int(number))
        if pull is None:
            return 404, {"message": "Not Found"}
        if pull["merged"]:
            return 405, {"message": "Pull Request is not mergeable: already merged"}
        method = body.get("merge_method") if self.flavour == "github" else body.get("Do")
        wanted = body.get("sha") if self.flavour == "github" else body.get("head_commit_id")
        repo = self._repo()
        head = repo.references[f"refs/heads/{pull['head']}"].peel(pygit2.Commit)
        base_ref = repo.references[f"refs/heads/{pull['base']}"]
        base = base_ref.peel(pygit2.Commit)
        if wanted and wanted != str(head.id):
            return 409, {"message": "Head branch was modified. Review and try the merge again."}
        required = self.required.get(pull["base"], [])
        states = {s["context"]: s["state"] for s in reversed(self._reported(str(head.id)))}
        if self.ci_as_check_runs and self.ci:
            states.update({k: v[0] for k, v in self.ci(str(head.id)).items()})
        missing = [name for name in required if states.get(name) != "success"]
        if missing:
            return 405, {"message": f"Required status check {missing[0]!r} is expected."}
        can_fast_forward = repo.descendant_of(head.id, base.id) or head.id == base.id
        if method in ("rebase", "fast-forward-only"):
            if not can_fast_forward:
                return 405, {"message": "Pull Request is not mergeable: the base branch moved"}
            new = head.id
        else:
            index = repo.merge_commits(base, head)
            if index.conflicts is not None:
                return 405, {"message": "Pull Request is not mergeable: merge conflict"}
            tree = index.write_tree(repo)
            title = body.get("commit_title") or body.get("MergeTitleField") or pull["title"]
            parents = [base.id] if method == "squash" else [base.id, head.id]
            new = repo.create_commit(None, SIGNATURE, SIGNATURE, f"{title} (#{pull['number']})\n", tree, parents)
        base_ref.set_target(new)
        pull.update(merged=True, state="closed", merge_commit_sha=str(new))
        if self.flavour == "github":
            return 200, {"sha": str(new), "merged": True, "message": "Pull Request successfully merged"}
        return 200, None


def _handler(host: FakeGitHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            if host.flavour == "gitea":
                if not path.startswith("/api/v1/"):
                    return self._send(404, {"message": "Not Found"})
                path = path[len("/api/v1"):]
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            host.requests.append(Received(self.command, path, query, dict(self.headers.items()), body))
            scheme = "Bearer" if host.flavour == "github" else "token"
            if self.headers.get("Authorization") != f"{scheme} {host.token}":
                return self._send(401, {"message": "Bad credentials"})
            status, answer = host.answer(self.command, path, query, body or {})
            self._send(status, answer)

        def _send(self, status: int, answer: Any) -> None:
            data = json.dumps(answer).encode() if answer is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _serve  # noqa: N815 - http.server's names

    return Handler
