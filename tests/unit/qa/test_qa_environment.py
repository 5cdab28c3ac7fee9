"""Preparing and telling apart the test environment, decided without running anything: which setup the
trusted settings ask for, what a run's output says about a missing program or dependency (an
environment escalation, not a failing test), go's and node's test reports, where toolchains live."""

from __future__ import annotations

import json

import pytest
from wave_events import catalogue as c
from wave_qa import (
    ConfigError,
    QAConfig,
    SandboxResult,
    SetupConfig,
    SetupConfigError,
    TestReport,
    environment_problem,
    parse_output,
    plan_setup,
    read_setup_config,
    toolchain_layout,
)
from wave_qa.prepare import AUTO, proposal

SOURCE = ".wave/qa.toml on main at abc"
PYPROJECT = (
    '[project]\nname = "t"\ndependencies = ["inflection==0.5.1", "attrs>=23; python_version>\'3.8\'"]\n'
    '[project.optional-dependencies]\ntest = ["hypothesis"]\ndocs = ["sphinx"]\n'
    '[dependency-groups]\ndev = ["pytest-timeout", {include-group = "test"}]\n'
)


def failed(output: str, exit_code: int = 1) -> SandboxResult:
    return SandboxResult(exit_code=exit_code, stdout=output, stderr="", timed_out=False, duration_s=1.0)


def report(passed: int = 0, failed: int = 0, errors: int = 0, source: str = "junit") -> TestReport:
    return TestReport(c.TestCounts(passed=passed, failed=failed, errors=errors), (), source)


# --- trusted settings and plans -------------------------------------------------------------------


def test_nothing_configured_installs_nothing_but_proposes_what_it_detected() -> None:
    files = {"pyproject.toml": PYPROJECT, "requirements-dev.txt": "freezegun==1.5\n-e .\ngit+https://x/y.git\n"}
    config = read_setup_config(None, source=SOURCE)

    assert plan_setup(files, config) is None
    proposed = plan_setup(files, config, propose=True)
    assert proposed is not None and proposed.ecosystems == ("python",)
    assert proposed.python_requirements == (
        "inflection==0.5.1", "attrs>=23; python_version>'3.8'", "hypothesis", "pytest-timeout", "freezegun==1.5",
    )
    assert proposed.skipped == ("-e .", "git+https://x/y.git")  # no paths, URLs or pip options
    assert proposal(proposed).endswith('add setup = ["python"] to .wave/qa.toml on the target branch')

    no_dependencies = plan_setup({"pyproject.toml": '[project]\nname = "t"\n', "go.mod": "module x\n"}, config, propose=True)
    assert no_dependencies is not None and no_dependencies.ecosystems == ("python", "go")
    assert proposal(no_dependencies) == ""  # nothing worth proposing


@pytest.mark.parametrize(
    ("text", "ecosystems"),
    [
        ('setup = ["python", "go"]\n', ("python", "go")),
        ('setup = "node"\n', ("node",)),
        ('setup = "auto"\n', AUTO),
        ('setup = "none"\n', ()),
        ('command = "make test"\n', None),
    ],
)
def test_the_setup_key(text: str, ecosystems: tuple[str, ...] | None) -> None:
    assert read_setup_config(text, source=SOURCE).ecosystems == ecosystems


def test_auto_sets_up_every_ecosystem_found_and_none_nothing() -> None:
    files = {"go.mod": "module x\n", "go.sum": "", "package.json": "{}", "package-lock.json": "{}"}
    auto = plan_setup(files, read_setup_config('setup = "auto"\n', source=SOURCE))
    assert auto is not None and auto.ecosystems == ("node", "go")
    assert auto.node_lockfile == "package-lock.json"
    assert auto.inputs == ("package.json", "package-lock.json", "go.mod", "go.sum")
    assert auto.describe() == "node: npm ci; go: go mod download" and auto.source == SOURCE
    assert plan_setup(files, read_setup_config('setup = "none"\n', source=SOURCE)) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('setup = ["python", "ruby"]\n', "unknown setup 'ruby'"),
        ("setup = 3\n", "setup must be"),
        ('setup = "go"\npython_extras = "test"\n', "must be lists of strings"),
        ("setup = [\n", SOURCE),
    ],
)
def test_unusable_setup_settings_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(SetupConfigError, match=message):
        read_setup_config(text, source=SOURCE)


def test_the_cache_key_changes_with_the_inputs_and_the_toolchain() -> None:
    plan = plan_setup({"requirements.txt": "six\n"}, SetupConfig(("python",), source=SOURCE))
    assert plan is not None
    key = plan.cache_key({"requirements.txt": "h1"}, "3.11")
    assert key == plan.cache_key({"requirements.txt": "h1"}, "3.11")
    assert key != plan.cache_key({"requirements.txt": "h2"}, "3.11") != plan.cache_key({"requirements.txt": "h1"}, "3.12")


def test_the_operator_setting() -> None:
    config = QAConfig.from_env({"WAVE_QA_SETUP": "python, go", "WAVE_QA_ENV_ROOT": "/var/cache/qa-env"})
    assert config.setup == SetupConfig(("python", "go"), source="WAVE_QA_SETUP")
    assert config.env_root == "/var/cache/qa-env"
    assert QAConfig.from_env({}).setup is None
    with pytest.raises(ConfigError, match="WAVE_QA_SETUP"):
        QAConfig.from_env({"WAVE_QA_SETUP": "cobol"})
    with pytest.raises(ConfigError, match="WAVE_QA_ENV_ROOT"):
        QAConfig.from_env({"WAVE_QA_ENV_ROOT": "relative/dir"})


# --- environment problems, not test failures -------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "program"),
    [
        ("setpriv: failed to execute go: No such file or directory", "go"),
        ("> x@1.0.0 test\n> jest\n\nsh: 1: jest: not found", "jest"),
    ],
)
def test_a_program_that_cannot_start_is_the_environment(output: str, program: str) -> None:
    problem = environment_problem(failed(output, exit_code=127), report(errors=1, source="exit code"), ())
    assert problem == f"a program the test command needs is not in the sandbox ({program})"


PYTEST_COLLECTION_ERROR = (
    "==== ERRORS ====\n_ ERROR collecting tests/test_titles.py _\nImportError while importing test module\n"
    "E   ModuleNotFoundError: No module named '{module}'\n!!! Interrupted: 1 error during collection !!!\n"
)


def test_a_dependency_missing_while_collecting_is_the_environment() -> None:
    output = PYTEST_COLLECTION_ERROR.format(module="inflection.core")
    problem = environment_problem(failed(output, 2), report(errors=1), ("titles.py", "tests/test_titles.py"))
    assert problem == "the Python module 'inflection' is not installed (ModuleNotFoundError while collecting the tests)"


@pytest.mark.parametrize("module", ["titles", "titles.helpers", "mypkg"])
def test_a_missing_module_of_the_repository_itself_is_the_code(module: str) -> None:
    output = PYTEST_COLLECTION_ERROR.format(module=module)
    files = ("titles.py", "src/mypkg/__init__.py", "tests/test_titles.py")
    assert environment_problem(failed(output, 2), report(errors=1), files) is None


def test_once_tests_ran_a_missing_module_is_for_the_fixer() -> None:
    output = PYTEST_COLLECTION_ERROR.format(module="yaml")
    assert environment_problem(failed(output, 1), report(passed=3, failed=1), ("a.py",)) is None


def test_a_missing_node_package_is_the_environment_a_missing_relative_file_the_code() -> None:
    missing = "Error: Cannot find module '@scope/pad/lib'\nRequire stack:\n- /repo/greet.js\n"
    relative = "Error: Cannot find module '../greet'\n"
    assert environment_problem(failed(missing), report(failed=1, source="tap"), ()) == (
        "the Node package '@scope/pad' is not installed (Cannot find module)"
    )
    assert environment_problem(failed(relative), report(failed=1, source="tap"), ()) is None


def test_a_go_module_missing_offline_is_the_environment_a_missing_package_of_the_module_the_code() -> None:
    missing = "shapes.go:3:8: no required module provides package github.com/x/y; to add it:\n\tgo get github.com/x/y\n"
    own = "shapes.go:3:8: no required module provides package example.com/shapes/geo; to add it:\n"
    assert environment_problem(failed(missing), report(errors=1), (), "example.com/shapes") == (
        "a Go module the tests need is not available offline (no required module provides package github.com/x/y)"
    )
    assert environment_problem(failed(own), report(errors=1), (), "example.com/shapes") is None


def test_a_missing_shared_library_is_the_environment() -> None:
    output = "E   ImportError: libgeos_c.so.1: cannot open shared object file: No such file or directory\n"
    assert environment_problem(failed(output, 2), report(errors=1), ()) == (
        "the shared library libgeos_c.so.1 is not installed on the qa host"
    )


def test_an_ordinary_failure_or_a_timeout_is_not_the_environment() -> None:
    assert environment_problem(failed("E   assert 7 == 12"), report(failed=1), ()) is None
    timed_out = SandboxResult(exit_code=-9, stdout="sh: 1: x: not found", stderr="", timed_out=True, duration_s=9)
    assert environment_problem(timed_out, report(), ()) is None


# --- go test -json and node --test reports --------------------------------------------------------


def go_events(*events: dict[str, object]) -> str:
    return "\n".join(json.dumps(e) for e in events) + "\n"


def test_go_test_json_counts_every_top_level_test_and_keeps_a_failures_output() -> None:
    output = go_events(
        {"Action": "run", "Package": "m/a", "Test": "TestOne"},
        {"Action": "pass", "Package": "m/a", "Test": "TestOne"},
        {"Action": "output", "Package": "m/a", "Test": "TestTwo", "Output": "    a_test.go:9: area = 7\n"},
        {"Action": "pass", "Package": "m/a", "Test": "TestTwo/sub"},
        {"Action": "fail", "Package": "m/a", "Test": "TestTwo"},
        {"Action": "skip", "Package": "m/a", "Test": "TestThree"},
        {"Action": "fail", "Package": "m/a"},
        {"Action": "output", "Package": "m/b", "Output": "b.go:3:1: syntax error\n"},
        {"Action": "fail", "Package": "m/b"},
    )
    parsed = parse_output(1, output)
    assert parsed.counts == c.TestCounts(passed=1, failed=1, errors=1, skipped=1)
    assert [f.name for f in parsed.failures] == ["m/a::TestTwo", "m/b"]
    assert "area = 7" in parsed.failures[0].detail and "syntax error" in parsed.failures[1].detail


def test_node_test_tap_totals_and_failing_tests() -> None:
    output = "TAP version 13\nok 1 - greets\nnot ok 2 - shouts\n  ---\n  ...\n1..2\n# tests 2\n# pass 1\n# fail 1\n# skipped 0\n"
    parsed = parse_output(1, output)
    assert parsed.counts == c.TestCounts(passed=1, failed=1)
    assert [f.name for f in parsed.failures] == ["shouts"]


# --- toolchains -------------------------------------------------------------------------------------


def test_a_toolchain_outside_the_system_directories_is_bound_and_on_path() -> None:
    layout = toolchain_layout({
        "go": "/usr/local/go/bin/go\0/usr/local/go/bin/go",
        "node": "/opt/node-20/bin/node\0/opt/node-20/bin/node",
        "npm": "/opt/node-20/bin/npm\0/opt/node-20/lib/node_modules/npm/bin/npm-cli.js",
        "npx": "/usr/bin/npx\0/usr/lib/node_modules/npm/bin/npx-cli.js",
    })
    assert layout.roots == ("/opt/node-20",)  # /usr is in every sandbox already
    assert layout.path_dirs == ("/usr/local/go/bin", "/opt/node-20/bin", "/usr/bin")
    assert layout.found["npm"] == "/opt/node-20/lib/node_modules/npm/bin/npm-cli.js"
