"""Scratch checkouts: the exact commit an event names, cloned from where the run branch lives.

Services share no disk, so the developer clones the run's repository (a local path or a URL, from
`WorkspaceReady.location`) into a scratch directory of its own, one per (run, commit), and reads it
only. A checkout is reused while the run lasts and removed when the run ends.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from abc import ABC, abstractmethod
from pathlib import Path

import pygit2
from pygit2.enums import CheckoutStrategy


class CheckoutError(Exception):
    """The commit cannot be checked out (the repository is unreachable or does not hold it)."""


class Checkouts(ABC):
    """Where a run's code can be read.

    Contract: `checkout` returns a directory holding exactly `commit`'s files (a git working copy whose
    HEAD is `commit`), the same one while the run lasts, or raises `CheckoutError`; the caller only reads
    it. `release` forgets every checkout of the run; releasing a run without any does nothing.
    """

    @abstractmethod
    def checkout(self, run_id: str, location: str, commit: str) -> Path:
        """A directory holding `commit` of the repository at `location` (a path or a URL)."""

    @abstractmethod
    def release(self, run_id: str) -> None:
        """Remove every checkout of `run_id`."""


class GitCheckouts(Checkouts):
    """Checkouts under `root`/<run id>/<commit>, cloned with pygit2."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()

    def checkout(self, run_id: str, location: str, commit: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{7,64}", commit):
            raise CheckoutError(f"{commit!r} is not a commit id")
        run_dir = self.root / _safe(run_id)
        target = run_dir / commit
        with self._lock:
            if _holds(target, commit):
                return target
            run_dir.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(target, ignore_errors=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{commit[:12]}-", dir=run_dir))
            try:
                _clone_at(location, staging / "repo", commit)
                (staging / "repo").rename(target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return target

    def release(self, run_id: str) -> None:
        with self._lock:
            shutil.rmtree(self.root / _safe(run_id), ignore_errors=True)


def _clone_at(location: str, path: Path, commit: str) -> None:
    try:
        repo = pygit2.clone_repository(_as_url(location), str(path))
    except (pygit2.GitError, ValueError, KeyError) as exc:
        raise CheckoutError(f"cannot clone {location}: {exc}") from None
    try:
        target = repo.revparse_single(commit).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        raise CheckoutError(f"{location} does not hold commit {commit}") from None
    repo.checkout_tree(target, strategy=CheckoutStrategy.FORCE)
    repo.set_head(target.id)


def _as_url(location: str) -> str:
    """A local path as a file:// URL: libgit2 clones a plain path by hard-linking the source's object
    files, so a write into the checkout would change the source repository too; over a URL it copies."""
    if "://" in location or not Path(location).exists():
        return location
    return Path(location).resolve().as_uri()


def _holds(path: Path, commit: str) -> bool:
    if not (path / ".git").exists():
        return False
    try:
        repo = pygit2.Repository(str(path))
        return repo.head_is_detached and str(repo.head.target).startswith(commit)
    except (pygit2.GitError, KeyError):
        return False


def _safe(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", run_id) or "_"
