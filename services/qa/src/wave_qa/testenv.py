"""Preparing what a repository's tests need before they run offline in the sandbox: the host's
toolchains (found once, bound read-only and put on PATH), the dependencies a `SetupPlan` names
(installed outside the sandbox, with network, into `<root>/<hash>` and reused while the plan and its
input files are unchanged), and Go's build cache (kept between runs, the only writable mount besides
the checkout).

Installing runs none of the repository's code: pip takes wheels only (`--only-binary=:all:`), npm
runs no install scripts (`--ignore-scripts`), `go mod download` compiles nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import site
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .prepare import SetupPlan
from .sandbox import Mounts, scrub_env
from .sandboxes.bubblewrap import NOBODY

TOOLCHAIN_COMMANDS = ("go", "node", "npm", "npx")
_SYSTEM_ROOTS = ("/usr", "/bin", "/sbin", "/lib", "/lib64")
_COMPLETE = ".complete"
_OUTPUT_TAIL = 3000
# What the operator's own registry or proxy settings may say; passed to the installers, never to tests.
INSTALLER_SETTINGS = (
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "GOPROXY", "GONOSUMDB", "GOPRIVATE",
    "npm_config_registry", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR",
)
# Go in the sandbox: no network, no toolchain downloads, the module cache as prepared.
GO_OFFLINE = {"GOPROXY": "off", "GOTOOLCHAIN": "local", "GOTELEMETRY": "off", "GOFLAGS": "-mod=readonly",
              "GOPATH": "/tmp/gopath"}


class SetupError(Exception):
    """Installing the dependencies failed; the message ends with the installer's output."""


@dataclass(frozen=True)
class Toolchains:
    """Host toolchains for the sandbox: their install roots (read-only) and the directories of their
    commands (on PATH)."""

    roots: tuple[str, ...] = ()
    path_dirs: tuple[str, ...] = ()
    found: Mapping[str, str] = field(default_factory=dict)  # command -> its resolved path


def toolchain_layout(commands: Mapping[str, str]) -> Toolchains:
    """Pure: `commands` maps a command to (where PATH finds it, where that resolves to), joined by
    "\\0". A command in `<root>/bin` brings `<root>`; roots under the system directories are already in
    every sandbox."""
    roots: list[str] = []
    path_dirs: list[str] = []
    found: dict[str, str] = {}
    for name, joined in commands.items():
        on_path, resolved = joined.split("\0")
        found[name] = resolved
        for command_path in (on_path, resolved):
            bin_dir = PurePosixPath(command_path).parent
            root = bin_dir.parent if bin_dir.name == "bin" else bin_dir
            if not any(str(root) == r or str(root).startswith(r + "/") for r in _SYSTEM_ROOTS):
                roots.append(str(root))
        path_dirs.append(str(PurePosixPath(on_path).parent))
    return Toolchains(_outermost(roots), tuple(dict.fromkeys(path_dirs)), found)


def host_toolchains(commands: Iterable[str] = TOOLCHAIN_COMMANDS, path: str | None = None) -> Toolchains:
    located = {}
    for name in commands:
        where = shutil.which(name, path=path)
        if where is not None:
            located[name] = f"{os.path.abspath(where)}\0{os.path.realpath(where)}"
    return toolchain_layout(located)


def _outermost(paths: list[str]) -> tuple[str, ...]:
    unique = sorted(set(paths))
    return tuple(p for p in unique if not any(p != q and p.startswith(q + "/") for q in unique))


@dataclass(frozen=True)
class Prepared:
    """What one test run gets: mounts, variables, and one line saying what was set up."""

    mounts: Mounts
    env: Mapping[str, str]
    description: str = ""


class TestEnvironments:
    __test__ = False

    def __init__(
        self, root: str | Path, *, toolchains: Toolchains | None = None, run_as: int = NOBODY,
        timeout_s: float = 900.0,
    ) -> None:
        """`root`: where prepared environments and caches live; `run_as`: the uid that must be able to
        write the build caches (the sandbox's user when QA runs as root)."""
        self.root = Path(root)
        self.toolchains = toolchains if toolchains is not None else host_toolchains()
        self._run_as = run_as
        self._timeout_s = timeout_s

    def prepare(self, plan: SetupPlan | None, checkout: Path, files: Mapping[str, str], *, scope: str) -> Prepared:
        """Mounts and variables for testing `checkout`; installs what `plan` names first (or reuses the
        environment already prepared for the same inputs). `scope` separates build caches (one per
        repository). Raises SetupError."""
        read_only = list(self.toolchains.roots)
        writable: list[str] = []
        path_dirs = list(self.toolchains.path_dirs)
        env: dict[str, str] = {}
        description = ""
        if "go.mod" in files and "go" in self.toolchains.found:
            env.update(GO_OFFLINE)
            cache = self._own_dir(self.root / "go-build" / hashlib.sha256(scope.encode()).hexdigest()[:16])
            writable.append(str(cache))
            env["GOCACHE"] = str(cache)
            env["GOMODCACHE"] = "/tmp/gomodcache"
        if plan is not None:
            env_dir, reused = self._installed(plan, checkout)
            read_only.append(str(env_dir))
            if "python" in plan.ecosystems:
                path_dirs.insert(0, str(env_dir / "venv" / "bin"))
                env["VIRTUAL_ENV"] = str(env_dir / "venv")
            if "node" in plan.ecosystems and not (checkout / "node_modules").exists():
                (checkout / "node_modules").symlink_to(env_dir / "node" / "node_modules")
            if "go" in plan.ecosystems:
                env["GOMODCACHE"] = str(env_dir / "gomodcache")
            description = f"{plan.describe()} ({plan.source}; {'reused' if reused else 'installed'} {env_dir.name})"
        return Prepared(Mounts(tuple(dict.fromkeys(read_only)), tuple(writable), tuple(dict.fromkeys(path_dirs))),
                        env, description)

    def _installed(self, plan: SetupPlan, checkout: Path) -> tuple[Path, bool]:
        digests = {name: _digest(checkout / name) for name in plan.inputs}
        toolchain = f"{sys.version}|{sorted(self.toolchains.found.items())}"
        key = plan.cache_key(digests, toolchain)
        self.root.mkdir(parents=True, exist_ok=True)
        env_dir = self.root / key
        with open(self.root / f"{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one installer per environment; the others wait and reuse it
            if (env_dir / _COMPLETE).exists():
                return env_dir, True
            shutil.rmtree(env_dir, ignore_errors=True)
            env_dir.mkdir(mode=0o755)
            try:
                self._install(plan, checkout, env_dir)
            except BaseException:
                shutil.rmtree(env_dir, ignore_errors=True)
                raise
            (env_dir / _COMPLETE).write_text(plan.describe() + "\n")
        return env_dir, False

    def _install(self, plan: SetupPlan, checkout: Path, env_dir: Path) -> None:
        if "python" in plan.ecosystems:
            venv = env_dir / "venv"
            self._run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=env_dir)
            _fall_back_to_this_interpreter(venv)
            if plan.python_requirements:
                self._run(
                    [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                     "--disable-pip-version-check", "--no-input", "--only-binary=:all:",
                     "--cache-dir", str(self.root / "pip-cache"), "--", *plan.python_requirements],
                    cwd=env_dir,
                )
        if "node" in plan.ecosystems:
            npm = self.toolchains.found.get("npm")
            if npm is None:
                raise SetupError("npm is not installed on the qa host (setup \"node\" needs it)")
            work = env_dir / "node"
            work.mkdir()
            for name in ("package.json", *([plan.node_lockfile] if plan.node_lockfile else [])):
                shutil.copyfile(checkout / name, work / name)
            verb = ["ci"] if plan.node_lockfile else ["install", "--no-package-lock"]
            self._run([npm, *verb, "--ignore-scripts", "--no-audit", "--no-fund"], cwd=work,
                      extra={"npm_config_cache": str(self.root / "npm-cache")})
            (work / "node_modules").mkdir(exist_ok=True)
        if "go" in plan.ecosystems:
            go = self.toolchains.found.get("go")
            if go is None:
                raise SetupError("go is not installed on the qa host (setup \"go\" needs it)")
            work = env_dir / "go-src"
            work.mkdir()
            for name in ("go.mod", "go.sum"):
                if (checkout / name).is_file():
                    shutil.copyfile(checkout / name, work / name)
            self._run([go, "mod", "download"], cwd=work, extra={
                "GOMODCACHE": str(env_dir / "gomodcache"), "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local",
                "GOTELEMETRY": "off", "GOCACHE": str(self.root / "go-build-setup"), "GOPATH": str(self.root / "gopath"),
            })
            (env_dir / "gomodcache").mkdir(exist_ok=True)
            shutil.rmtree(work)

    def _run(self, argv: list[str], *, cwd: Path, extra: Mapping[str, str] | None = None) -> None:
        env = {
            "PATH": os.pathsep.join([*self.toolchains.path_dirs, os.environ.get("PATH", "/usr/bin:/bin")]),
            "HOME": str(self.root / "home"), "LANG": "C.UTF-8",
            **scrub_env({k: v for k, v in os.environ.items() if k in ("TMPDIR",)}),
            **{k: os.environ[k] for k in INSTALLER_SETTINGS if os.environ.get(k)},
            **(extra or {}),
        }
        try:
            done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=self._timeout_s,
                                  stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired as exc:
            raise SetupError(f"`{_shown(argv)}` took more than {self._timeout_s:g}s") from exc
        except OSError as exc:
            raise SetupError(f"`{_shown(argv)}` could not start: {exc}") from exc
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip()
            raise SetupError(f"`{_shown(argv)}` exited {done.returncode}: {output[-_OUTPUT_TAIL:]}")

    def _own_dir(self, path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(path, self._run_as, self._run_as)
        return path


def _fall_back_to_this_interpreter(venv: Path) -> None:
    """The test runner (pytest) comes from WAVE's own environment unless the repository installs its
    own: a .pth file puts WAVE's site-packages after the venv's."""
    site_packages = next((venv / "lib").glob("python*/site-packages"))
    (site_packages / "_wave_qa_fallback.pth").write_text("\n".join(site.getsitepackages()) + "\n")


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def _shown(argv: list[str]) -> str:
    return " ".join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv))[:300]
