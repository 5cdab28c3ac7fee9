"""The demo's stack as containers of WAVE's image: each process a non-root container with a read-only
root, on the host's network, given WAVE's settings and nothing else of the caller's environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from wave_cli.demo import ContainerStack
from wave_cli.main import main


def _stack(tmp_path: Path) -> ContainerStack:
    env = {"WAVE_DATABASE_URL": "postgresql://db/wave_demo", "WAVE_HOME": str(tmp_path), "AWS_SECRET": "x",
           "PATH": "/usr/bin"}
    return ContainerStack(["qa", "planner"], env, tmp_path / "logs", image="wave:abc", prefix="wave-demo-1",
                          mounts=[(tmp_path, True), (Path("/examples"), False)])


def test_a_service_runs_non_root_with_a_read_only_root_and_only_wave_settings(tmp_path):
    argv = _stack(tmp_path).container_argv("planner")
    assert argv[:3] == ["docker", "run", "--rm"]
    assert "--read-only" in argv and argv[argv.index("--user") + 1] == "10001:10001"
    assert argv[argv.index("--network") + 1] == "host"
    assert argv[-3:] == ["wave:abc", "service", "planner"]
    settings = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--env"]
    assert settings == ["WAVE_DATABASE_URL=postgresql://db/wave_demo", f"WAVE_HOME={tmp_path}"]
    volumes = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--volume"]
    assert volumes == [f"{tmp_path}:{tmp_path}:rw", "/examples:/examples:ro"]


def test_qa_runs_the_tests_as_a_process_in_its_container_and_the_relay_is_the_relay(tmp_path):
    stack = _stack(tmp_path)
    qa = stack.container_argv("qa")
    assert "WAVE_QA_SANDBOX=process" in qa and "WAVE_QA_ALLOW_BARE=1" in qa
    assert "WAVE_QA_SANDBOX=process" not in stack.container_argv("planner")
    assert stack.container_argv("relay")[-2:] == ["wave:abc", "relay"]


def test_a_role_named_twice_runs_two_containers_each_naming_its_instance(tmp_path):
    stack = _stack(tmp_path)
    argv = stack.container_argv("developer", "developer-2")
    assert argv[argv.index("--name") + 1] == "wave-demo-1-developer-2"
    assert "WAVE_INSTANCE=developer-2" in argv and argv[-2:] == ["service", "developer"]
    assert not any(a.startswith("WAVE_INSTANCE=") for a in stack.container_argv("developer"))


def test_an_image_without_the_stack_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    for key in ("WAVE_DATABASE_URL", "WAVE_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("WAVE_HOME", str(tmp_path))
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--image", "wave:latest"])
    assert exited.value.code == 1
    assert "--image runs the stack's processes as containers: add --stack" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()  # refused before the sample repository is made
