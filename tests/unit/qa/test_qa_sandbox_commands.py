"""The commands the sandbox adapters build, checked without running them (no docker daemon here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from wave_qa import BubblewrapSandbox, DockerSandbox, Limits, Mounts, scrub_env

LIMITS = Limits(timeout_s=60, memory_mb=512, cpu_s=30, max_procs=64)
ENV = {"CI": "true", "GITHUB_TOKEN": "ghp_x", "OPENAI_API_KEY": "sk-x", "AWS_REGION": "eu", "DB_PASSWORD": "pw"}


@pytest.mark.parametrize(
    "name",
    ["GITHUB_TOKEN", "OPENAI_API_KEY", "WAVE_FAKE_API_KEY", "AWS_ACCESS_KEY_ID", "AWS_REGION", "DB_PASSWORD",
     "MY_SECRET", "SSH_AUTH_SOCK", "DATABASE_URL", "WAVE_DATABASE_URL", "npm_config__auth"],
)
def test_secret_looking_variables_are_scrubbed(name: str) -> None:
    assert scrub_env({name: "x", "CI": "true"}) == {"CI": "true"}


def flag_values(argv: list[str], flag: str, arity: int = 2) -> list[tuple[str, ...]]:
    return [tuple(argv[i + 1 : i + 1 + arity]) for i, a in enumerate(argv) if a == flag]


def test_bubblewrap_as_root_drops_to_an_unprivileged_user_in_fresh_namespaces(tmp_path: Path) -> None:
    argv = BubblewrapSandbox(as_root=True, run_as=4242).command_line(["pytest"], tmp_path, LIMITS, ENV)
    bwrap = argv.index(next(a for a in argv if a.endswith("bwrap")))
    assert argv[:bwrap][1:] == [f"--as={512 * 1024 * 1024}", "--nproc=64", "--core=0", "--cpu=30", "--"]
    for flag in ("--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in argv
    assert flag_values(argv, "--bind") == [(str(tmp_path), str(tmp_path))]  # the only writable bind
    assert ("/usr", "/usr") in flag_values(argv, "--ro-bind")
    assert flag_values(argv, "--tmpfs", 1) == [("/tmp",)]
    setenv = dict(flag_values(argv, "--setenv"))
    assert setenv["CI"] == "true" and setenv["HOME"] == str(tmp_path) and "LANG" in setenv and "PATH" in setenv
    assert not {"GITHUB_TOKEN", "OPENAI_API_KEY", "AWS_REGION", "DB_PASSWORD"} & set(setenv)
    tail = argv[argv.index("--", bwrap) + 1 :]
    assert tail[0].endswith("setpriv") and "--reuid=4242" in tail and tail[-1] == "pytest"


def test_bubblewrap_as_a_user_unshares_everything(tmp_path: Path) -> None:
    argv = BubblewrapSandbox(as_root=False).command_line(["make", "test"], tmp_path, LIMITS, {})
    assert "--unshare-all" in argv and "--unshare-net" not in argv
    assert argv[-3:] == ["--", "make", "test"]


def test_bubblewrap_makes_the_interpreter_readable(tmp_path: Path) -> None:
    import sys

    argv = BubblewrapSandbox(as_root=True).command_line(["python"], tmp_path, LIMITS, {})
    bound = {src for src, _ in flag_values(argv, "--ro-bind")}
    prefix = str(Path(sys.prefix).resolve())
    assert any(prefix == b or prefix.startswith(b + "/") for b in bound)
    assert dict(flag_values(argv, "--setenv"))["PATH"].startswith(f"{sys.prefix}/bin:")


@pytest.mark.parametrize(("runtime", "name"), [("runsc", "gvisor"), (None, "docker")])
def test_docker_container_is_locked_down(runtime: str | None, name: str, tmp_path: Path) -> None:
    sandbox = DockerSandbox(runtime=runtime, image="ci:py311", run_as=4242)
    spec = sandbox.container_spec(["python", "-m", "pytest"], tmp_path, LIMITS, ENV)
    assert sandbox.name == name
    assert spec.get("runtime") == runtime
    assert spec["image"] == "ci:py311"
    assert spec["command"] == [
        "/usr/bin/prlimit", f"--as={512 * 1024 * 1024}", "--nproc=64", "--core=0", "--cpu=30", "--", "python", "-m", "pytest",
    ]
    assert spec["network_disabled"] and spec["network_mode"] == "none"
    assert spec["read_only"] and spec["cap_drop"] == ["ALL"] and "no-new-privileges" in spec["security_opt"]
    assert spec["volumes"] == {str(tmp_path): {"bind": str(tmp_path), "mode": "rw"}}
    assert spec["working_dir"] == str(tmp_path) and spec["user"] == "4242:4242"
    container_mb = 1024 if runtime == "runsc" else 512  # gVisor's kernel counts there too
    assert spec["mem_limit"] == spec["memswap_limit"] == f"{container_mb}m"
    assert spec["pids_limit"] == (1024 if runtime == "runsc" else 64)  # gVisor's own threads count there
    assert {u["Name"]: u["Hard"] for u in spec["ulimits"]} == {"nproc": 64, "core": 0, "cpu": 30}
    assert spec["environment"]["CI"] == "true" and spec["environment"]["HOME"] == str(tmp_path)
    assert not {"GITHUB_TOKEN", "OPENAI_API_KEY", "AWS_REGION", "DB_PASSWORD"} & set(spec["environment"])


class FakeContainer:
    def __init__(self, status: int | None, ended_meanwhile: bool = False) -> None:
        self.status, self.killed, self.removed = status, False, False
        self.ended_meanwhile = ended_meanwhile

    def start(self) -> None: ...

    def wait(self, timeout: float) -> dict:
        if self.status is None:
            raise TimeoutError("read timed out")
        return {"StatusCode": self.status}

    def kill(self) -> None:
        if self.ended_meanwhile:
            raise RuntimeError("409 Client Error: Conflict: container is not running")
        self.killed = True

    def logs(self, stdout: bool, stderr: bool) -> bytes:
        return b"1 passed in 0.1s\n" if stdout else b"warn\n"

    def remove(self, force: bool) -> None:
        self.removed = True


class FakeClient:
    def __init__(self, container: FakeContainer) -> None:
        self.created: dict = {}
        outer = self

        class Containers:
            def create(self, **spec):
                outer.created = spec
                return container

        self.containers = Containers()


@pytest.mark.parametrize(("status", "exit_code", "timed_out"), [(0, 0, False), (1, 1, False), (None, -9, True)])
def test_docker_run_reports_and_always_removes_the_container(status, exit_code, timed_out, tmp_path: Path) -> None:
    container = FakeContainer(status)
    client = FakeClient(container)
    result = DockerSandbox(client_factory=lambda: client).run(["pytest"], tmp_path, LIMITS, {})
    assert (result.exit_code, result.timed_out) == (exit_code, timed_out)
    assert result.stdout == "1 passed in 0.1s\n" and result.stderr == "warn\n"
    assert container.removed and container.killed == timed_out
    assert client.created["command"][-2:] == ["--", "pytest"]


def test_docker_wall_clock_running_out_as_the_container_ends_is_a_timeout_not_an_error(tmp_path: Path) -> None:
    container = FakeContainer(None, ended_meanwhile=True)
    result = DockerSandbox(client_factory=lambda: FakeClient(container)).run(["pytest"], tmp_path, LIMITS, {})
    assert result.timed_out and result.exit_code == -9
    assert container.removed


def test_bubblewrap_binds_a_runs_environment_read_only_its_build_cache_writable_and_its_tools_on_path(
    tmp_path: Path,
) -> None:
    prepared, cache, work = tmp_path / "qa-env" / "abc", tmp_path / "qa-env" / "go-build", tmp_path / "repo"
    for d in (prepared, cache, work):
        d.mkdir(parents=True)
    mounts = Mounts(read_only=(str(prepared),), writable=(str(cache),), path_dirs=("/usr/local/go/bin",))

    argv = BubblewrapSandbox(as_root=True).command_line(["go", "test"], work, LIMITS, ENV, mounts)

    assert (str(prepared), str(prepared)) in flag_values(argv, "--ro-bind")  # under /tmp, after its tmpfs
    assert flag_values(argv, "--bind") == [(str(cache), str(cache)), (str(work), str(work))]
    assert dict(flag_values(argv, "--setenv"))["PATH"].startswith("/usr/local/go/bin:")
    assert ("0755", "--dir", "/etc") in [tuple(argv[i + 1 : i + 4]) for i, a in enumerate(argv) if a == "--perms"]
