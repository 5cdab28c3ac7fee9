"""QA on small real projects of each ecosystem — a Python project with a dependency from PyPI, a Go
module, an npm package — tested in the real bubblewrap sandbox, offline, with what the target
branch's .wave/qa.toml says to set up. A missing dependency or toolchain is an environment escalation,
never a test failure for a fixer.

They need Go, Node and npm on the host (the project's machines have them). Tests marked `network`
install from a package registry (PyPI, the Go module proxy); each install is bounded by the
environment's setup timeout and the test's own timeout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gitops_repos import make_repo
from qa_repos import TITLES_CODE, TITLES_PROJECT, TITLES_TESTS, add_files
from qa_runs import committed_run, refix
from wave_events import catalogue as c
from wave_qa import BubblewrapSandbox, GitCheckout, Limits, QAService, TestEnvironments, Toolchains
from wave_runtime import Unrecoverable

LIMITS = Limits(timeout_s=240, memory_mb=4096, max_procs=512)
SETUP_TIMEOUT_S = 180

GO_MOD = "module example.com/shapes\n\ngo 1.21\n"
GO_CODE = "package shapes\n\nfunc Area(w, h int) int { return w * h }\n\nfunc Perimeter(w, h int) int { return 2 * (w + h) }\n"
GO_TESTS = (
    'package shapes\n\nimport "testing"\n\n'
    'func TestArea(t *testing.T) {\n\tif Area(3, 4) != 12 {\n\t\tt.Fatalf("area of 3x4 = %d", Area(3, 4))\n\t}\n}\n\n'
    'func TestPerimeter(t *testing.T) {\n\tif Perimeter(3, 4) != 14 {\n\t\tt.Fatalf("perimeter of 3x4 = %d", Perimeter(3, 4))\n\t}\n}\n\n'
    'func TestSquare(t *testing.T) {\n\tt.Skip("squares later")\n}\n'
)
PACKAGE_JSON = json.dumps(
    {"name": "greet", "version": "1.0.0", "private": True, "scripts": {"test": "node --test"}}, indent=2
)
NODE_CODE = "exports.greet = (name) => `hello, ${name}`;\nexports.shout = (name) => `HELLO, ${name.toUpperCase()}`;\n"
NODE_TESTS = (
    "const test = require('node:test');\nconst assert = require('node:assert');\nconst { greet, shout } = require('../greet');\n\n"
    "test('greets', () => { assert.strictEqual(greet('ada'), 'hello, ada'); });\n"
    "test('shouts', () => { assert.strictEqual(shout('ada'), 'HELLO, ADA'); });\n"
)


def service(tmp_path: Path, *, toolchains: Toolchains | None = None) -> QAService:
    environments = TestEnvironments(tmp_path / "qa-env", toolchains=toolchains, timeout_s=SETUP_TIMEOUT_S)
    return QAService(BubblewrapSandbox(), GitCheckout(), scratch_root=tmp_path / "scratch", limits=LIMITS,
                     environments=environments)


async def qa_outcome(tmp_path: Path, base_files: dict[str, str], change: dict[str, str], qa: QAService):
    """The project committed on main (with its trusted .wave/qa.toml), a run's change on top, QA's outcome."""
    repo = make_repo(tmp_path / "repo", base_files)
    base = str(repo.head.target)
    head = add_files(repo, change, "the run's change")
    _, (committed,) = committed_run(str(tmp_path / "repo"), base, {"t1": head})
    (*_, outcome) = await qa.handle(committed.state, committed.event)
    return outcome


@pytest.mark.timeout(400)
async def test_a_go_module_is_tested_offline_each_test_counted_and_the_build_cache_kept(tmp_path: Path) -> None:
    qa = service(tmp_path)
    repo = make_repo(tmp_path / "repo", {"go.mod": GO_MOD, "shapes.go": GO_CODE, ".wave/qa.toml": 'setup = ["go"]\n'})
    base = str(repo.head.target)
    good = add_files(repo, {"shapes_test.go": GO_TESTS}, "tests")
    stream, (committed,) = committed_run(str(tmp_path / "repo"), base, {"t1": good})

    (*_, passed) = await qa.handle(committed.state, committed.event)

    assert isinstance(passed, c.TestsPassed), getattr(passed, "failure_excerpt", passed)
    assert passed.counts == c.TestCounts(passed=2, skipped=1)
    assert passed.command == "go test -json ./..."
    assert passed.environment.startswith("go: go mod download (.wave/qa.toml on main at ")

    stream.add(passed)
    broken = add_files(repo, {"shapes.go": GO_CODE.replace("return w * h", "return w + h")}, "faster area")
    retried = refix(stream, "t1", broken, good)
    (*_, failed) = await qa.handle(retried.state, retried.event)

    assert isinstance(failed, c.TestsFailed), failed
    assert failed.counts == c.TestCounts(passed=1, failed=1, skipped=1)
    assert failed.failing_tests == ("example.com/shapes::TestArea",)
    assert "area of 3x4 = 7" in failed.failure_excerpt
    assert "reused" in failed.environment
    # the standard library was compiled once, into the build cache kept outside the checkout
    assert failed.duration_s < passed.duration_s / 2


async def test_without_the_go_toolchain_the_run_escalates_instead_of_asking_a_fixer(tmp_path: Path) -> None:
    qa = service(tmp_path, toolchains=Toolchains())  # as on a host where go is not installed

    with pytest.raises(Unrecoverable) as escalation:
        await qa_outcome(tmp_path, {"go.mod": GO_MOD, "shapes.go": GO_CODE}, {"shapes_test.go": GO_TESTS}, qa)

    assert "a program the test command needs is not in the sandbox (go)" in escalation.value.reason
    assert "install the toolchain on the qa host's PATH" in escalation.value.action


@pytest.mark.timeout(300)
async def test_an_npm_package_is_tested_with_node_test_and_counted(tmp_path: Path) -> None:
    files = {"package.json": PACKAGE_JSON, "greet.js": NODE_CODE, ".wave/qa.toml": 'setup = ["node"]\n'}

    outcome = await qa_outcome(tmp_path, files, {"test/greet.test.js": NODE_TESTS}, service(tmp_path))

    assert isinstance(outcome, c.TestsPassed), getattr(outcome, "failure_excerpt", outcome)
    assert outcome.counts == c.TestCounts(passed=2)
    assert outcome.command == "npm test"
    assert outcome.environment.startswith("node: npm install (.wave/qa.toml on main at ")


async def test_an_npm_package_needing_an_uninstalled_package_escalates(tmp_path: Path) -> None:
    declared = json.dumps({**json.loads(PACKAGE_JSON), "dependencies": {"left-pad": "1.3.0"}})
    files = {"package.json": declared, "greet.js": "const pad = require('left-pad');\n" + NODE_CODE}

    with pytest.raises(Unrecoverable) as escalation:
        await qa_outcome(tmp_path, files, {"test/greet.test.js": NODE_TESTS}, service(tmp_path))

    assert "the Node package 'left-pad' is not installed" in escalation.value.reason
    assert "no setup configured; detected node: npm install" in escalation.value.reason


async def test_a_python_project_whose_dependency_is_not_installed_escalates_with_the_setup_to_add(
    tmp_path: Path,
) -> None:
    files = {"pyproject.toml": TITLES_PROJECT, "titles.py": TITLES_CODE}

    with pytest.raises(Unrecoverable) as escalation:
        await qa_outcome(tmp_path, files, {"tests/test_titles.py": TITLES_TESTS}, service(tmp_path))

    reason = escalation.value.reason
    assert "the Python module 'inflection' is not installed" in reason
    assert 'python: pip install inflection==0.5.1: add setup = ["python"] to .wave/qa.toml' in reason
    assert not (tmp_path / "qa-env").exists() or not any((tmp_path / "qa-env").glob("*/venv"))  # nothing installed


@pytest.mark.network
@pytest.mark.timeout(300)
async def test_a_python_project_with_a_pypi_dependency_is_set_up_once_and_tested_offline(tmp_path: Path) -> None:
    qa = service(tmp_path)
    repo = make_repo(tmp_path / "repo", {"pyproject.toml": TITLES_PROJECT, "titles.py": TITLES_CODE,
                                         ".wave/qa.toml": 'setup = ["python"]\n'})
    base = str(repo.head.target)
    first = add_files(repo, {"tests/test_titles.py": TITLES_TESTS}, "tests")
    stream, (committed,) = committed_run(str(tmp_path / "repo"), base, {"t1": first})

    (*_, passed) = await qa.handle(committed.state, committed.event)

    assert isinstance(passed, c.TestsPassed), getattr(passed, "failure_excerpt", passed)
    assert passed.counts == c.TestCounts(passed=2)
    assert passed.environment.startswith("python: pip install inflection==0.5.1 (.wave/qa.toml on main at ")
    assert "installed" in passed.environment

    stream.add(passed)
    broken = add_files(repo, {"titles.py": TITLES_CODE.replace("titleize", "camelize")}, "camel case")
    retried = refix(stream, "t1", broken, first)
    (*_, failed) = await qa.handle(retried.state, retried.event)

    assert isinstance(failed, c.TestsFailed)
    assert failed.counts == c.TestCounts(passed=1, failed=1)  # camelize("wave") is still "Wave"
    assert "reused" in failed.environment  # the same dependencies: no second install


GO_MOD_WITH_ERRORS = GO_MOD + "\nrequire github.com/pkg/errors v0.9.1\n"
GO_SUM_WITH_ERRORS = (
    "github.com/pkg/errors v0.9.1 h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=\n"
    "github.com/pkg/errors v0.9.1/go.mod h1:bwawxfHBFNV+L2hUp1rHADufV3IMtnDRdf1r5NINEl0=\n"
)
GO_CHECK = (
    'package shapes\n\nimport "github.com/pkg/errors"\n\n'
    'func Check(w int) error {\n\tif w < 0 {\n\t\treturn errors.New("negative width")\n\t}\n\treturn nil\n}\n'
)
GO_CHECK_TEST = (
    'package shapes\n\nimport "testing"\n\n'
    'func TestCheck(t *testing.T) {\n\tif Check(-1) == nil || Check(1) != nil {\n\t\tt.Fatal("check")\n\t}\n}\n'
)


@pytest.mark.network
@pytest.mark.timeout(400)
async def test_a_go_module_with_an_external_module_is_downloaded_from_the_proxy_then_tested_offline(
    tmp_path: Path,
) -> None:
    files = {"go.mod": GO_MOD_WITH_ERRORS, "go.sum": GO_SUM_WITH_ERRORS, "shapes.go": GO_CODE, "check.go": GO_CHECK,
             ".wave/qa.toml": 'setup = ["go"]\n'}

    outcome = await qa_outcome(tmp_path, files, {"check_test.go": GO_CHECK_TEST}, service(tmp_path))

    assert isinstance(outcome, c.TestsPassed), getattr(outcome, "failure_excerpt", outcome)
    assert outcome.counts == c.TestCounts(passed=1)
    assert any((tmp_path / "qa-env").glob("*/gomodcache/github.com/pkg/errors@v0.9.1"))


@pytest.mark.timeout(300)
async def test_a_go_module_whose_external_module_was_not_set_up_escalates(tmp_path: Path) -> None:
    files = {"go.mod": GO_MOD_WITH_ERRORS, "go.sum": GO_SUM_WITH_ERRORS, "shapes.go": GO_CODE, "check.go": GO_CHECK}

    with pytest.raises(Unrecoverable) as escalation:
        await qa_outcome(tmp_path, files, {"check_test.go": GO_CHECK_TEST}, service(tmp_path))

    assert "a Go module the tests need is not available offline" in escalation.value.reason
    assert 'detected go: go mod download: add setup = ["go"]' in escalation.value.reason
