"""WAVE's image (`make images`) and the demo story run from it (`make demo-images`): the relay and the
six services as containers, non-root with a read-only root, over the real PostgreSQL and Kafka; the
story merges. Needs the private Docker daemon `make test` starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pygit2
import pytest
from qa_docker import require_daemon

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"relay", "planner", "developer", "safety", "gitops", "qa", "notifier"}

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _run(argv: list[str], timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, **(env or {})}, check=False)


@pytest.fixture(scope="module")
def image() -> str:
    require_daemon()
    built = _run(["bash", "deploy/images/build.sh"], timeout=1200)
    assert built.returncode == 0, built.stderr[-3000:]
    return built.stdout.strip().splitlines()[-1]


@pytest.mark.timeout(1300)
def test_the_image_runs_wave_as_a_non_root_user_on_a_read_only_root(image):
    shown = _run(["docker", "run", "--rm", "--read-only", "--network", "none", image, "--help"], timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "service" in shown.stdout and "relay" in shown.stdout and "serve" in shown.stdout

    probe = ("import os\nprint(os.getuid())\ntry:\n    open('/opt/wave/written', 'w')\n"
             "except OSError as e:\n    print(e.strerror)\n")
    ran = _run(["docker", "run", "--rm", "--read-only", "--network", "none", "--entrypoint", "python", image,
                "-c", probe], timeout=120)
    assert ran.stdout.split("\n")[:2] == ["10001", "Read-only file system"], ran.stdout + ran.stderr

    compilers = _run(["docker", "run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c",
                      "command -v gcc cc c++ clang || echo none"], timeout=120)
    assert compilers.stdout.strip() == "none"

    labels = json.loads(_run(["docker", "image", "inspect", image], timeout=60).stdout)[0]["Config"]["Labels"]
    revision = _run(["git", "rev-parse", "--short=12", "HEAD"], timeout=30).stdout.strip()
    assert labels["org.opencontainers.image.revision"].startswith(revision)
    assert labels["org.opencontainers.image.source"]


@pytest.mark.postgres
@pytest.mark.kafka
@pytest.mark.timeout(1500)
def test_the_demo_story_merges_with_every_service_a_container_of_the_image(image, tmp_path, database_url,
                                                                           kafka_bootstrap):
    home = tmp_path / "home"
    demo = _run(["bash", "deploy/images/demo.sh"], timeout=900, env={
        "WAVE_DEMO_IMAGE": image, "WAVE_DEMO_HOME": str(home), "WAVE_TEST_DATABASE_URL": database_url,
        "WAVE_TEST_KAFKA_BOOTSTRAP": kafka_bootstrap, "COLUMNS": "200"})
    logs = home / "demo" / "logs"
    if demo.returncode != 0:
        for log in sorted(logs.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "✓ G5 tested" in demo.stdout and "✓ G7 merged" in demo.stdout

    repo = pygit2.Repository(str(home / "demo" / "sample-repo"))
    main = repo.revparse_single("main")
    assert 'text.lower()).strip("-")' in (main.tree / "textkit" / "strings.py").data.decode()  # the fix

    run_id = next(line.split()[1] for line in demo.stdout.splitlines() if line.startswith("run ") and "submitted" in line)
    base, _, _ = database_url.rpartition("/")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAVE_")}
    env.update(WAVE_HOME=str(home), WAVE_DATABASE_URL=f"{base}/wave_demo")
    status = subprocess.run([sys.executable, "-m", "wave_cli", "status", run_id, "--json"], capture_output=True,
                            text=True, env=env, timeout=120, cwd=ROOT, check=False)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["merge_commit"] == str(main.id)

    containers = json.loads((logs / "containers.json").read_text())
    assert {c["Name"].rsplit("-", 1)[-1] for c in containers} == SERVICES
    for container in containers:
        assert container["Config"]["User"] == "10001:10001" and container["HostConfig"]["ReadonlyRootfs"] is True
        assert container["Config"]["Image"] == image
    left = _run(["docker", "ps", "-aq", "--filter", "label=wave.demo"], timeout=60)
    assert left.stdout.strip() == ""  # removed when the demo ended
