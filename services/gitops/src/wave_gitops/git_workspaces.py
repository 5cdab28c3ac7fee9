"""The Workspaces port on a local git repository, through pygit2 (libgit2): no `git` process is run.

Each operation opens the repository afresh and holds the adapter's lock, so references, the index
and worktrees are never changed by two threads at once. One adapter (one gitops instance) writes a
repository; git itself is not a database.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pygit2
import wave_diffs
from pygit2.enums import (
    ApplyLocation,
    CheckoutStrategy,
    DeltaStatus,
    MergeAnalysis,
    RepositoryOpenFlag,
    ResetMode,
)

from . import names
from .config import default_worktree_root
from .diffs import read_change
from .errors import (
    DiffDoesNotApplyError,
    InvalidInputError,
    MergeConflictError,
    PushError,
    RepositoryNotFoundError,
    TargetBranchNotFoundError,
    TargetCheckoutBusyError,
    WorkspaceConflictError,
    WorkspaceNotPreparedError,
)
from .trailers import (
    RUN,
    SQUASHED,
    ChangeTrailers,
    change_message,
    is_change,
    merge_message,
    squash_message,
    trailers_of,
)
from .workspaces import Committed, MergeCheck, MergeResult, Workspace, Workspaces

MERGER_ROLE = "gitops"


def signature(role: str) -> pygit2.Signature:
    return pygit2.Signature(f"WAVE {role}", f"{role}@wave.invalid")


class GitWorkspaces(Workspaces):
    """Run workspaces in the repository at `repo_path` (a working copy or a bare repository).

    Worktrees go under `worktree_root` (default: `<WAVE home>/worktrees/<repo>-<hash>`, outside the
    repository), one directory per run.
    `remote` is a remote's name in the repository or a URL / path of another repository; when set,
    the run branch is pushed there after `prepare` and each commit, the target branch after a merge,
    and `location` is that URL. Without it, `location` is the repository's own path.
    """

    def __init__(
        self, repo_path: str | Path, worktree_root: str | Path | None = None, remote: str | None = None,
        credential: Callable[[str], tuple[str, str] | None] | None = None,
    ) -> None:
        self._credential = credential  # (user, password) for an http(s) push to a URL, held in memory only
        self.repo_path = _repository_root(repo_path)
        if worktree_root is not None and not str(worktree_root).strip():
            raise InvalidInputError("the worktree root must be a directory path, got an empty string")
        root = Path(worktree_root) if worktree_root is not None else default_worktree_root(self.repo_path)
        self.worktree_root = root.expanduser().resolve()
        self._lock = threading.RLock()
        with self._repository() as repo:
            self.remote_url = _remote_url(repo, remote) if remote is not None else None

    @property
    def location(self) -> str:
        # Recorded in WorkspaceReady: a credential written into the remote's URL stays out of it.
        return without_userinfo(self.remote_url) if self.remote_url else str(self.repo_path)

    # --- the port --------------------------------------------------------------------------------

    def prepare(self, run_id: str, target_branch: str, base_commit: str | None = None) -> Workspace:
        run, target = names.run_id(run_id), names.branch(target_branch)
        branch = names.run_branch(run)
        with self._repository() as repo:
            base = self._base(repo, run)
            if base is None:
                if repo.references.get(_head_ref(branch)) is not None:
                    raise WorkspaceConflictError(
                        f"branch {branch!r} already exists in {self.repo_path} but was not made by gitops for run {run}"
                    )
                head = self._target_head(repo, target)
                base = head if base_commit is None else _commit_of(repo, base_commit, f"the base of run {run}")
                # The base is recorded first: a crash after it leaves a run whose next prepare finishes the job.
                repo.references.create(names.base_ref(run), base.id)
            if repo.references.get(_head_ref(branch)) is None:
                try:
                    repo.branches.local.create(branch, base)
                except (pygit2.GitError, ValueError) as exc:
                    raise WorkspaceConflictError(f"cannot create branch {branch!r}: {exc}") from None
            path = self._ensure_worktree(repo, run, branch)
            self._push(repo, [_head_ref(branch)])
            return Workspace(branch=branch, base_commit=str(base.id), location=self.location, path=str(path))

    def fork(self, run_id: str, parent_run_id: str, head_commit: str, base_commit: str) -> Workspace:
        run, parent = names.run_id(run_id), names.run_id(parent_run_id)
        branch = names.run_branch(run)
        with self._repository() as repo:
            head = _commit_of(repo, head_commit, f"the head of run {parent}")
            base = self._base(repo, run)
            if base is None:
                if repo.references.get(_head_ref(branch)) is not None:
                    raise WorkspaceConflictError(
                        f"branch {branch!r} already exists in {self.repo_path} but was not made by gitops for run {run}"
                    )
                base = _commit_of(repo, base_commit, f"the base of run {parent}")
                repo.references.create(names.base_ref(run), base.id)
            if repo.references.get(_head_ref(branch)) is None:
                repo.branches.local.create(branch, head)
            path = self._ensure_worktree(repo, run, branch)
            self._push(repo, [_head_ref(branch)])
            return Workspace(branch=branch, base_commit=str(base.id), location=self.location, path=str(path))

    def apply_and_commit(self, run_id: str, diff: str, role: str, trailers: ChangeTrailers) -> Committed:
        run, author = names.run_id(run_id), names.role(role)
        if not isinstance(trailers, ChangeTrailers):
            raise InvalidInputError(f"trailers must be ChangeTrailers, got {type(trailers).__name__}")
        branch = names.run_branch(run)
        with self._repository() as repo:
            head = self._run_head(repo, run)
            done = self._find_change(repo, run, head, trailers)
            if done is not None:
                self._push(repo, [_head_ref(branch)])
                return Committed(str(done.id), str(done.parent_ids[0]), branch, reused=True)
            proposed, parsed = read_change(diff)
            at = f"{branch} at {_short(head.id)}"
            _check_files(parsed, head.tree, at)
            worktree = pygit2.Repository(str(self._ensure_worktree(repo, run, branch)))
            try:
                message = change_message(run, author, trailers)
                commit = _commit_in(worktree, _head_ref(branch), head, parsed, proposed.pieces, at, signature(author), message)
            finally:
                worktree.free()
            self._push(repo, [_head_ref(branch)])
            return Committed(str(commit), str(head.id), branch, reused=False)

    def check_merge(self, run_id: str, target_branch: str, strategy: str = "squash") -> MergeCheck:
        run, target, how = names.run_id(run_id), names.branch(target_branch), names.merge_strategy(strategy)
        with self._repository() as repo:
            return self._check(repo, run, target, how)

    def merge(self, run_id: str, target_branch: str, strategy: str = "squash", subject: str = "") -> MergeResult:
        run, target, how = names.run_id(run_id), names.branch(target_branch), names.merge_strategy(strategy)
        branch = names.run_branch(run)
        with self._repository() as repo:
            check = self._check(repo, run, target, how)
            if check.up_to_date:
                commit, fast_forward = self._earlier_merge(repo, run, check)
                self._push(repo, [_head_ref(target)])
                return MergeResult(target, commit, fast_forward, reused=True)
            if check.conflicts:
                raise MergeConflictError(run, target, check.conflicts)
            target_head, head = pygit2.Oid(hex=check.target_head), pygit2.Oid(hex=check.head)
            if check.fast_forward:
                new = head
            else:
                tree = repo.merge_commits(target_head, head).write_tree(repo)
                sig = signature(MERGER_ROLE)
                if how == "squash":
                    attempts = self._commits_since_base(repo, run, head)
                    message = squash_message(run, branch, check.head, attempts, subject)
                    new = repo.create_commit(None, sig, sig, message, tree, [target_head])
                else:
                    message = merge_message(run, branch, target)
                    new = repo.create_commit(None, sig, sig, message, tree, [target_head, head])
            self._move_branch(repo, target, target_head, new)
            self._push(repo, [_head_ref(target), _head_ref(branch)])
            return MergeResult(target, str(new), check.fast_forward, reused=False)

    def cleanup(self, run_id: str) -> None:
        run = names.run_id(run_id)
        name = names.worktree_name(run)
        with self._repository() as repo:
            if name in repo.list_worktrees():
                worktree = repo.lookup_worktree(name)
                shutil.rmtree(worktree.path, ignore_errors=True)
                worktree.prune(True)
            leftover = self.worktree_root / run
            if leftover.is_dir() and (not any(leftover.iterdir()) or (leftover / ".git").is_file()):
                shutil.rmtree(leftover, ignore_errors=True)  # a worktree git no longer knew about

    def push(self, run_id: str) -> None:
        branch = names.run_branch(run_id)
        with self._repository() as repo:
            self._run_head(repo, names.run_id(run_id))
            self._push(repo, [_head_ref(branch)])

    # --- helpers ---------------------------------------------------------------------------------

    @contextmanager
    def _repository(self) -> Iterator[pygit2.Repository]:
        with self._lock:
            repo = self._open()
            try:
                yield repo
            finally:
                repo.free()

    def _open(self) -> pygit2.Repository:
        try:
            return pygit2.Repository(str(self.repo_path), RepositoryOpenFlag.NO_SEARCH)
        except pygit2.GitError:
            raise RepositoryNotFoundError(f"{self.repo_path} is not a git repository") from None

    def _branch_head(
        self, repo: pygit2.Repository, branch: str, missing: Callable[[], Exception]
    ) -> pygit2.Commit:
        ref = repo.references.get(_head_ref(branch))
        if ref is None:
            raise missing()
        return ref.peel(pygit2.Commit)

    def _target_head(self, repo: pygit2.Repository, target: str) -> pygit2.Commit:
        return self._branch_head(repo, target, missing=lambda: TargetBranchNotFoundError(target, str(self.repo_path)))

    def _run_head(self, repo: pygit2.Repository, run: str) -> pygit2.Commit:
        branch = names.run_branch(run)
        return self._branch_head(repo, branch, missing=lambda: WorkspaceNotPreparedError(run, branch))

    def _base(self, repo: pygit2.Repository, run: str) -> pygit2.Commit | None:
        ref = repo.references.get(names.base_ref(run))
        return ref.peel(pygit2.Commit) if ref is not None else None

    def _find_change(
        self, repo: pygit2.Repository, run: str, head: pygit2.Commit, wanted: ChangeTrailers
    ) -> pygit2.Commit | None:
        walker = repo.walk(head.id)
        base = self._base(repo, run)
        if base is not None:
            walker.hide(base.id)
        return next((c for c in walker if is_change(c, run, wanted)), None)

    def _ensure_worktree(self, repo: pygit2.Repository, run: str, branch: str) -> Path:
        name = names.worktree_name(run)
        if name in repo.list_worktrees():
            worktree = repo.lookup_worktree(name)
            if Path(worktree.path).is_dir():
                return Path(worktree.path).resolve()
            worktree.prune(True)  # its directory is gone: register it again below
        path = self.worktree_root / run
        if path.exists():
            if not path.is_dir() or any(path.iterdir()):
                raise WorkspaceConflictError(f"{path} exists and is not the worktree of run {run}")
            path.rmdir()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._exclude_worktree_root(repo)
        repo.add_worktree(name, str(path), repo.references[_head_ref(branch)])
        return path

    def _exclude_worktree_root(self, repo: pygit2.Repository) -> None:
        """Keep worktrees placed inside the repository's working copy out of its `git status`."""
        if repo.is_bare or repo.workdir is None:
            return
        workdir = Path(repo.workdir).resolve()
        if not self.worktree_root.is_relative_to(workdir) or self.worktree_root == workdir:
            return
        pattern = f"/{self.worktree_root.relative_to(workdir).as_posix()}/"
        exclude = Path(repo.path) / "info" / "exclude"
        existing = exclude.read_text(encoding="utf-8").splitlines() if exclude.exists() else []
        if pattern not in existing:
            exclude.parent.mkdir(parents=True, exist_ok=True)
            exclude.write_text("\n".join([*existing, pattern]) + "\n", encoding="utf-8")

    def _check(self, repo: pygit2.Repository, run: str, target: str, strategy: str) -> MergeCheck:
        head = self._run_head(repo, run)
        target_head = self._target_head(repo, target)
        analysis, _ = repo.merge_analysis(head.id, _head_ref(target))
        up_to_date = bool(analysis & MergeAnalysis.UP_TO_DATE) or self._squash_of(repo, run, target_head) is not None
        can_fast_forward = not up_to_date and bool(analysis & MergeAnalysis.FASTFORWARD)
        fast_forward = can_fast_forward and strategy == "ff"
        conflicts: tuple[str, ...] = ()
        if not up_to_date and not can_fast_forward:
            index = repo.merge_commits(target_head, head)
            if index.conflicts is not None:
                conflicts = tuple(
                    sorted({entry.path for entries in index.conflicts for entry in entries if entry is not None})
                )
        return MergeCheck(target, str(head.id), str(target_head.id), up_to_date, fast_forward, conflicts)

    def _squash_of(self, repo: pygit2.Repository, run: str, target_head: pygit2.Commit) -> pygit2.Commit | None:
        """This run's squash commit on the target branch, if it landed that way."""
        walker = repo.walk(target_head.id)
        base = self._base(repo, run)
        if base is not None:
            walker.hide(base.id)
        for commit in walker:
            found = trailers_of(commit)
            if found.get(RUN) == run and SQUASHED in found:
                return commit
        return None

    def _commits_since_base(self, repo: pygit2.Repository, run: str, head: pygit2.Oid) -> int:
        walker = repo.walk(head)
        base = self._base(repo, run)
        if base is not None:
            walker.hide(base.id)
        return sum(1 for _ in walker)

    def _earlier_merge(self, repo: pygit2.Repository, run: str, check: MergeCheck) -> tuple[str, bool]:
        """This run's squash commit, else the merge commit with its trailer above the run's head, else
        the head itself (a fast-forward)."""
        squash = self._squash_of(repo, run, repo[check.target_head].peel(pygit2.Commit))
        if squash is not None:
            return str(squash.id), False
        head = pygit2.Oid(hex=check.head)
        walker = repo.walk(pygit2.Oid(hex=check.target_head))
        walker.hide(head)
        for commit in walker:
            if head in commit.parent_ids and trailers_of(commit).get(RUN) == run:
                return str(commit.id), False
        return check.head, True

    def _move_branch(self, repo: pygit2.Repository, branch: str, old: pygit2.Oid, new: pygit2.Oid) -> None:
        ref = repo.references[_head_ref(branch)]
        if ref.target != old:
            raise WorkspaceConflictError(f"{branch!r} moved during the merge; retry")
        if not repo.is_bare and not repo.head_is_unborn and repo.head.name == ref.name:
            # The branch is checked out here: its files follow it, unless local edits are in the way.
            try:
                repo.checkout_tree(repo[new], strategy=CheckoutStrategy.SAFE)
            except pygit2.GitError as exc:
                raise TargetCheckoutBusyError(
                    f"{branch!r} is checked out in {repo.workdir} with local changes the merge would overwrite "
                    f"({exc}); commit or stash them, then retry"
                ) from None
        ref.set_target(new, f"wave: merge {new}")

    def _push(self, repo: pygit2.Repository, refs: list[str]) -> None:
        if self.remote_url is None:
            return
        callbacks = _PushResult(self._credential)
        shown = without_userinfo(self.remote_url)
        try:
            repo.remotes.create_anonymous(self.remote_url).push([f"{r}:{r}" for r in refs], callbacks=callbacks)
        except pygit2.GitError as exc:
            raise PushError(f"push of {', '.join(refs)} to {shown} failed: {callbacks.scrub(str(exc))}") from None
        if callbacks.refused:
            details = "; ".join(f"{ref}: {why}" for ref, why in callbacks.refused)
            raise PushError(f"{shown} refused {callbacks.scrub(details)}")


class _PushResult(pygit2.RemoteCallbacks):
    def __init__(self, credential: Callable[[str], tuple[str, str] | None] | None = None) -> None:
        super().__init__()
        self.refused: list[tuple[str, str]] = []
        self._credential = credential
        self._secret: str | None = None

    def credentials(self, url: str, username_from_url: str | None, allowed_types: object) -> pygit2.UserPass:
        found = self._credential(url) if self._credential is not None else None
        if found is None:
            raise pygit2.GitError(f"no credential for {without_userinfo(url)}")
        self._secret = found[1]
        return pygit2.UserPass(*found)

    def scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def push_update_reference(self, refname: str, message: str | None) -> None:
        if message:
            self.refused.append((refname, message))


def _commit_in(
    worktree: pygit2.Repository,
    branch_ref: str,
    head: pygit2.Commit,
    diff: pygit2.Diff,
    proposed: wave_diffs.DiffText,
    at: str,
    sig: pygit2.Signature,
    message: str,
) -> pygit2.Oid:
    """Apply the diff in the run's worktree (which has the branch checked out) and commit it on the branch."""
    # The worktree is gitops's own: what a crashed attempt left in it is thrown away.
    worktree.reset(head.id, ResetMode.HARD)
    worktree.checkout_head(strategy=CheckoutStrategy.FORCE | CheckoutStrategy.REMOVE_UNTRACKED)
    if not worktree.applies(diff, ApplyLocation.BOTH):
        raise _why_not(worktree, proposed, at)
    try:
        worktree.apply(diff, ApplyLocation.BOTH)
    except pygit2.GitError as exc:
        worktree.reset(head.id, ResetMode.HARD)
        raise DiffDoesNotApplyError(f"the diff does not apply on {at}: {exc}") from None
    tree = worktree.index.write_tree()
    if tree == head.tree_id:
        raise DiffDoesNotApplyError(f"the diff changes nothing on {at}")
    # Naming the branch makes libgit2 refuse the update if the branch moved since `head` was read.
    return worktree.create_commit(branch_ref, sig, sig, message, tree, [head.id])


def _commit_of(repo: pygit2.Repository, commit: str, what: str) -> pygit2.Commit:
    try:
        return repo[commit].peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        raise WorkspaceConflictError(f"{what}, commit {commit[:12]}, is not in the repository") from None


def _check_files(diff: pygit2.Diff, tree: pygit2.Tree, at: str) -> None:
    """libgit2 would overwrite a file a diff adds; a diff that adds an existing file was written for another tree."""
    for patch in diff:
        delta = patch.delta
        if delta.status != DeltaStatus.ADDED and delta.old_file.path not in tree:
            raise DiffDoesNotApplyError(f"{delta.old_file.path}: no such file on {at}", delta.old_file.path)
        if delta.status in (DeltaStatus.ADDED, DeltaStatus.RENAMED, DeltaStatus.COPIED) and delta.new_file.path in tree:
            raise DiffDoesNotApplyError(
                f"{delta.new_file.path}: the diff creates it, but it already exists on {at}", delta.new_file.path
            )


def _why_not(worktree: pygit2.Repository, proposed: wave_diffs.DiffText, at: str) -> DiffDoesNotApplyError:
    """Find the first file, and in it the first hunk, that does not fit."""
    for file in proposed.files:
        try:
            parsed = pygit2.Diff.parse_diff(file.text)
        except pygit2.GitError as exc:
            return DiffDoesNotApplyError(f"{file.path}: the patch cannot be read ({exc})", file.path)
        if worktree.applies(parsed, ApplyLocation.BOTH):
            continue
        for number, hunk in enumerate(file.hunks, start=1):
            if not worktree.applies(pygit2.Diff.parse_diff(file.with_hunk(number - 1)), ApplyLocation.BOTH):
                return DiffDoesNotApplyError(
                    f"{file.path}: hunk {number} of {len(file.hunks)} ({hunk.header}) does not match the file on {at}",
                    file.path,
                    hunk.header,
                )
        return DiffDoesNotApplyError(f"{file.path}: its hunks do not apply together on {at}", file.path)
    return DiffDoesNotApplyError(f"the diff's files apply one by one but not together on {at}")


def _repository_root(repo_path: str | Path) -> Path:
    if not isinstance(repo_path, str | Path) or not str(repo_path).strip():
        raise InvalidInputError(f"repository path must be a non-empty path, got {repo_path!r}")
    path = Path(repo_path).expanduser().resolve()
    if not path.exists():
        raise RepositoryNotFoundError(f"repository path {path} does not exist")
    if not path.is_dir():
        raise RepositoryNotFoundError(f"repository path {path} is not a directory")
    return path


def _remote_url(repo: pygit2.Repository, remote: str) -> str:
    if not isinstance(remote, str) or not remote.strip():
        raise InvalidInputError(f"remote must be a remote name, URL or path, got {remote!r}")
    if remote in repo.remotes.names():
        url = repo.remotes[remote].url
        if not url:
            raise InvalidInputError(f"remote {remote!r} has no URL")
        return url
    if "://" in remote or remote.startswith("git@"):
        return remote
    path = Path(remote).expanduser().resolve()
    try:
        pygit2.Repository(str(path), RepositoryOpenFlag.NO_SEARCH)
    except pygit2.GitError:
        raise InvalidInputError(f"remote {remote!r} is not a remote of the repository, a URL, or a git repository") from None
    return str(path)


def without_userinfo(url: str) -> str:
    """A URL without the user and password it may carry (what is shown and recorded of a remote)."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _head_ref(branch: str) -> str:
    return f"refs/heads/{branch}"


def _short(oid: pygit2.Oid | str) -> str:
    return str(oid)[:12]
