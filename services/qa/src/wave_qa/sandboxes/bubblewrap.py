"""The bubblewrap sandbox: new namespaces (no network), a root made of read-only system directories,
the interpreter the tests need read-only, the work directory the only writable place, a private /tmp,
a cleared environment, resource limits, and a wall clock that takes the whole tree down.

Started as root, the command runs as an unprivileged user (`run_as`, default nobody) without a user
namespace: inside a user namespace created by root it would still be root to the kernel, which
exempts root from RLIMIT_NPROC — a fork bomb would not be contained. The work directory is handed to
that user first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from ..sandbox import Limits, Mounts, Sandbox, SandboxError, SandboxResult, scrub_env
from ._spawn import prlimit_prefix, run_contained
from .environment import interpreter_bin_dirs, interpreter_dirs, sandbox_env

NOBODY = 65534
SYSTEM_DIRS = ("/usr",)
SYSTEM_LINKS_OR_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_ENTRIES = (
    "/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/passwd", "/etc/group",
    "/etc/nsswitch.conf", "/etc/hosts", "/etc/localtime", "/etc/ssl", "/etc/ca-certificates", "/etc/mime.types",
    "/etc/protocols", "/etc/services", "/etc/gitconfig",
)


def bubblewrap_works(bwrap: str = "bwrap") -> bool:
    """Whether bwrap can build a sandbox here (user namespaces, mounts): actually try one."""
    path = shutil.which(bwrap)
    if path is None:
        return False
    try:
        return subprocess.run(
            [path, "--ro-bind", "/", "/", "true"], capture_output=True, timeout=10, check=False
        ).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class BubblewrapSandbox(Sandbox):
    name = "bubblewrap"

    def __init__(
        self,
        *,
        bwrap: str = "bwrap",
        ro_paths: Sequence[str] = (),
        tool_dirs: Sequence[str] | None = None,
        run_as: int = NOBODY,
        as_root: bool | None = None,
    ) -> None:
        """`ro_paths`: more host paths the tests may read (the interpreter's are always there);
        `tool_dirs`: put first on PATH (default: the interpreter's bin directory); `run_as`: the uid
        and gid the command runs as when bwrap is started by root."""
        self._bwrap = shutil.which(bwrap) or bwrap
        self._ro_paths = tuple(dict.fromkeys([*interpreter_dirs(), *ro_paths]))
        self._tool_dirs = tuple(tool_dirs) if tool_dirs is not None else interpreter_bin_dirs()
        self._run_as = run_as
        self._as_root = os.geteuid() == 0 if as_root is None else as_root

    def command_line(
        self, command: Sequence[str], workdir: Path, limits: Limits, env: Mapping[str, str], mounts: Mounts | None = None
    ) -> list[str]:
        """The full argv: prlimit, bwrap and its options, the command. Pure but for looking at which host
        paths exist."""
        workdir_s = str(workdir)
        mounts = mounts or Mounts()
        args = [*prlimit_prefix(limits, prlimit=shutil.which("prlimit") or "prlimit"), self._bwrap]
        if self._as_root:
            args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        else:
            args += ["--unshare-all"]  # includes the network: only a loopback that is down
        args += ["--die-with-parent", "--new-session"]
        made: set[str] = {"/", "/tmp", "/usr", "/proc", "/dev", "/etc"}
        covered: list[str] = []
        for d in SYSTEM_DIRS:
            args += ["--ro-bind", d, d]
            covered.append(d)
        for entry in SYSTEM_LINKS_OR_DIRS:
            if os.path.islink(entry):
                args += ["--symlink", os.readlink(entry), entry]
            elif os.path.isdir(entry):
                args += ["--ro-bind", entry, entry]
                covered.append(entry)
        # /etc as bwrap would make it is 0700: the sandbox user (nobody) could not reach /etc/ssl (node
        # reads its OpenSSL configuration at start) nor /etc/passwd
        args += ["--perms", "0755", "--dir", "/etc"]
        for entry in ETC_ENTRIES:
            args += ["--ro-bind-try", entry, entry]
        # /tmp is an empty tmpfs, not a covering bind: a read-only path under it (a venv in /tmp) is bound.
        args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
        for path in dict.fromkeys([*self._ro_paths, *mounts.read_only]):
            if _under_any(path, covered) or not os.path.exists(path):
                continue
            args += _parents(path, made) + ["--ro-bind", path, path]
            covered.append(path)
        for path in mounts.writable:  # build caches kept between runs
            args += _parents(path, made) + ["--bind", path, path]
        args += _parents(workdir_s, made) + ["--bind", workdir_s, workdir_s, "--chdir", workdir_s]
        args += ["--clearenv"]
        environment = sandbox_env(scrub_env(env), home=workdir_s, path_dirs=[*mounts.path_dirs, *self._tool_dirs])
        for key, value in sorted(environment.items()):
            args += ["--setenv", key, value]
        if self._as_root:
            setpriv = shutil.which("setpriv") or "setpriv"
            uid = str(self._run_as)
            args += [
                "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
                setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
            ]
        else:
            args += ["--"]
        return [*args, *command]

    def run(
        self, command: Sequence[str], workdir: Path, limits: Limits, env: Mapping[str, str], *,
        stop: threading.Event | None = None, mounts: Mounts | None = None,
    ) -> SandboxResult:
        workdir = Path(workdir).resolve()
        if not workdir.is_dir():
            raise FileNotFoundError(workdir)
        if self._as_root:
            _hand_over(workdir, self._run_as)
        argv = self.command_line(command, workdir, limits, env, mounts)
        result = run_contained(argv, cwd=workdir, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                               timeout_s=limits.timeout_s, stop=stop)
        if result.exit_code == 1 and result.stderr.startswith("bwrap:"):
            raise SandboxError(f"bubblewrap could not build the sandbox: {result.stderr.strip()[:500]}")
        return result


def _under_any(path: str, roots: Sequence[str]) -> bool:
    p = PurePosixPath(path)
    return any(p == PurePosixPath(r) or PurePosixPath(r) in p.parents for r in roots)


def _parents(path: str, made: set[str]) -> list[str]:
    """Directories leading to a mount point, made traversable (bwrap would make them 0700)."""
    args: list[str] = []
    for parent in reversed(PurePosixPath(path).parents):
        key = str(parent)
        if key not in made:
            made.add(key)
            args += ["--perms", "0755", "--dir", key]
    return args


def _hand_over(workdir: Path, uid: int) -> None:
    os.chown(workdir, uid, uid)
    for root, dirs, files in os.walk(workdir):
        for name in dirs + files:
            try:
                os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)
            except FileNotFoundError:
                pass
