"""The demo: a sample repository with a real test suite, a story, and a cassette of model answers
in which the first change fails the tests and the fix passes. Everything it needs is in examples/."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pygit2
import yaml

from .errors import UserError

DEMO_STORY = "slugify"


@dataclass(frozen=True)
class DemoFiles:
    repo: Path  # the sample repository's files (not a git repository: the demo makes one)
    story: Path
    cassette: Path


def find_examples(explicit: str | None) -> Path:
    """examples/ of this checkout: named, under the working directory, or beside the installed package."""
    candidates = [Path(explicit)] if explicit else [Path.cwd() / "examples", Path(__file__).resolve().parents[4] / "examples"]
    for candidate in candidates:
        if (candidate / "sample-repo").is_dir():
            return candidate
    where = ", ".join(str(c) for c in candidates)
    raise UserError(f"cannot find the demo's examples/ directory (looked in {where}); pass --examples DIR")


def demo_files(examples: Path, story: str = DEMO_STORY) -> DemoFiles:
    files = DemoFiles(examples / "sample-repo", examples / "stories" / story / "story.md",
                      examples / "stories" / story / "cassette.yml")
    for path in (files.repo, files.story, files.cassette):
        if not path.exists():
            raise UserError(f"the demo needs {path}, which is missing")
    return files


def fresh_repository(source: Path, target: Path) -> Path:
    """Copy the sample files to `target` and make them a repository with one commit on main."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.pyc"))
    repo = pygit2.init_repository(str(target), initial_head="main")
    repo.index.add_all()
    repo.index.write()
    tree = repo.index.write_tree()
    author = pygit2.Signature("WAVE demo", "demo@wave.invalid")
    repo.create_commit("refs/heads/main", author, author, "textkit: shout and words", tree, [])
    return target


def scripted_models_file(cassette: Path, home: Path) -> Path:
    """A models configuration that sends every role to the scripted provider playing `cassette`, kept
    under WAVE_HOME/models by its content: runs remember this path, so it never changes under them."""
    from wave_llm import ROLES

    document = {
        "version": 1,
        "providers": {"scripted": {"kind": "scripted", "cassette": str(cassette.resolve())}},
        "routes": {role: [{"provider": "scripted", "model": "scripted", "max_failures": 1}] for role in ROLES},
        "blobs_dir": str((home / "blobs").resolve()),
    }
    text = yaml.safe_dump(document, sort_keys=False)
    path = (home / "models" / f"{hashlib.sha256(text.encode()).hexdigest()[:16]}.yml").resolve()
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.with_suffix(".tmp").write_text(text, encoding="utf-8")
        path.with_suffix(".tmp").replace(path)
    return path


class Stack:
    """The relay and every service, each its own process (`wave relay`, `wave service NAME`), logging
    to files; stopped with SIGTERM so each finishes its in-flight event and leaves its group. A name
    given more than once runs that many instances in its consumer group (`developer-1`, `developer-2`,
    … each its `WAVE_INSTANCE`)."""

    def __init__(self, names: list[str], env: dict[str, str], logs: Path) -> None:
        self.names, self.env, self.logs = names, env, logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        for instance, name in instances(["relay", *self.names]):
            argv = [sys.executable, "-m", "wave_cli", *(["relay"] if name == "relay" else ["service", name])]
            env = {**self.env, "WAVE_INSTANCE": instance} if instance != name else self.env
            with (self.logs / f"{instance}.log").open("wb") as log:
                self.processes[instance] = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)

    def check(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace").strip().splitlines()[-3:]
                raise UserError(f"{name} exited with status {process.returncode}: {' / '.join(tail)}")

    def stop(self, grace_s: float = 20.0) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def instances(names: list[str]) -> list[tuple[str, str]]:
    """(instance, role) for each name: a role named once is its own instance, one named n times
    becomes `role-1` … `role-n`."""
    seen: dict[str, int] = {}
    named = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        named.append((f"{name}-{seen[name]}" if names.count(name) > 1 else name, name))
    return named
IMAGE_USER = "10001:10001"  # the image's non-root user (deploy/images/Dockerfile)


class ContainerStack(Stack):
    """The same processes as containers of WAVE's image (`make demo-images`): on the host's network
    (the local PostgreSQL and Kafka), as the image's non-root user, with a read-only root filesystem;
    writable only /tmp (a tmpfs) and the demo's home, mounted at the same path so the repository and
    models file the run names are found. The WAVE_* settings are passed on, nothing else of this
    environment. QA runs the tests as a plain process inside its container (bubblewrap cannot make
    namespaces there and no Docker daemon is reachable from it): the container is the sandbox."""

    QA_ENV = {"WAVE_QA_SANDBOX": "process", "WAVE_QA_ALLOW_BARE": "1"}

    def __init__(self, names: list[str], env: dict[str, str], logs: Path, *, image: str, prefix: str,
                 mounts: list[tuple[Path, bool]]) -> None:
        super().__init__(names, env, logs)
        self.image, self.prefix, self.mounts = image, prefix, mounts
        self.containers: list[str] = []
        self.handed_over: list[tuple[Path, int, int]] = []  # writable mounts and their owners before

    def container_argv(self, name: str, instance: str | None = None) -> list[str]:
        instance = instance or name
        container = f"{self.prefix}-{instance}"
        settings = {k: v for k, v in self.env.items() if k.startswith("WAVE_")}
        if instance != name:
            settings["WAVE_INSTANCE"] = instance
        if name == "qa":
            settings.update(self.QA_ENV)
        argv = ["docker", "run", "--rm", "--name", container, "--network", "host", "--read-only",
                "--tmpfs", "/tmp:rw,nosuid,nodev,size=512m", "--user", IMAGE_USER,
                "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                "--label", f"wave.demo={self.prefix}"]
        for path, writable in self.mounts:
            argv += ["--volume", f"{path}:{path}:{'rw' if writable else 'ro'}"]
        for key, value in sorted(settings.items()):
            argv += ["--env", f"{key}={value}"]
        return [*argv, self.image, *(["relay"] if name == "relay" else ["service", name])]

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        uid, gid = (int(part) for part in IMAGE_USER.split(":"))
        if os.geteuid() == 0:  # the containers' user must own what they write: the demo's home
            for path, writable in self.mounts:
                if writable:
                    owner = path.stat()
                    self.handed_over.append((path, owner.st_uid, owner.st_gid))
                    _chown_tree(path, uid, gid)
        for instance, name in instances(["relay", *self.names]):
            self.containers.append(f"{self.prefix}-{instance}")
            with (self.logs / f"{instance}.log").open("wb") as log:
                self.processes[instance] = subprocess.Popen(self.container_argv(name, instance), stdout=log,
                                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def stop(self, grace_s: float = 20.0) -> None:
        # `docker stop` sends SIGTERM inside each container (--rm removes it); whatever is left is removed.
        if self.containers:
            inspected = subprocess.run(["docker", "inspect", *self.containers], capture_output=True, text=True,
                                       timeout=60, check=False)
            # What ran, for whoever checks it afterwards: user, read-only root, image, command.
            (self.logs / "containers.json").write_text(inspected.stdout or "[]", encoding="utf-8")
            subprocess.run(["docker", "stop", "--time", str(int(grace_s)), *self.containers],
                           capture_output=True, timeout=grace_s + 30, check=False)
            subprocess.run(["docker", "rm", "--force", *self.containers], capture_output=True, timeout=60, check=False)
        super().stop(grace_s=10.0)
        for path, uid, gid in self.handed_over:  # the demo's home back to its owner
            _chown_tree(path, uid, gid)
        self.handed_over.clear()


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for folder, dirs, files in os.walk(root):
        for entry in (*dirs, *files):
            os.chown(os.path.join(folder, entry), uid, gid, follow_symlinks=False)


async def fresh_database(server_url: str, name: str) -> str:
    """Drop and create `name` on the server of `server_url`; return its URL."""
    import asyncpg

    admin = await asyncpg.connect(server_url, timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"
