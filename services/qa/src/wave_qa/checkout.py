"""Getting exactly the commit an event names into a scratch directory of QA's own, with the `git` CLI.

The copy shares nothing with the repository it came from (`--no-hardlinks`): the sandbox may write
to it, and it is handed to the sandbox's user, which must not reach the original's objects.
"""

from __future__ import annotations

import os
import subprocess
from abc import ABC, abstractmethod
from pathlib import Path


class CheckoutError(Exception):
    """The commit could not be checked out (the remote does not answer, the commit is not there yet)."""


class Checkout(ABC):
    """Gets one commit into a directory of QA's own.

    Contract: a call makes `dest` (which does not exist yet) a working copy of `location` (a path or a
    URL) at `commit`, detached, sharing no files with `location`; or raises `CheckoutError`.
    """

    @abstractmethod
    def __call__(self, location: str, commit: str, dest: Path) -> None:
        """Make `dest` a working copy of `location` at `commit`."""


class GitCheckout(Checkout):
    def __init__(self, *, git: str = "git", timeout_s: float = 300.0) -> None:
        self._git = git
        self._timeout_s = timeout_s

    def __call__(self, location: str, commit: str, dest: Path) -> None:
        self._git_run(["clone", "--quiet", "--no-checkout", "--no-hardlinks", "--", location, str(dest)], cwd=None)
        if not self._has_commit(dest, commit):
            # not on any branch the remote advertises (a force-pushed branch, an old attempt): ask for it
            try:
                self._git_run(["fetch", "--quiet", "origin", commit], cwd=dest)
            except CheckoutError:
                pass
            if not self._has_commit(dest, commit):
                raise CheckoutError(f"commit {commit} is not in {location}")
        self._git_run(["checkout", "--quiet", "--detach", commit], cwd=dest)

    def _has_commit(self, dest: Path, commit: str) -> bool:
        try:
            self._git_run(["cat-file", "-e", f"{commit}^{{commit}}"], cwd=dest)
        except CheckoutError:
            return False
        return True

    def _git_run(self, args: list[str], *, cwd: Path | None) -> None:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/false", "LC_ALL": "C"}
        argv = [self._git, "-c", "core.hooksPath=/dev/null", "-c", "advice.detachedHead=false", *args]
        try:
            done = subprocess.run(
                argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=self._timeout_s, check=False,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CheckoutError(f"git {args[0]} failed: {exc}") from exc
        if done.returncode != 0:
            raise CheckoutError(f"git {args[0]} failed ({done.returncode}): {done.stderr.strip()[-500:]}")


def file_at(repo: Path, commit: str, path: str, *, git: str = "git", timeout_s: float = 60.0) -> str | None:
    """The text of `path` at `commit` in the working copy `repo`, or None when it has no such file."""
    try:
        done = subprocess.run(
            [git, "-C", str(repo), "show", f"{commit}:{path}"], capture_output=True, timeout=timeout_s, check=False,
            stdin=subprocess.DEVNULL, env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CheckoutError(f"git show {commit[:12]}:{path} failed: {exc}") from exc
    return done.stdout.decode("utf-8", errors="replace") if done.returncode == 0 else None
