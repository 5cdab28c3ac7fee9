"""Which command runs a repository's tests: a table of repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from wave_qa import RepoConfigError, detect_test_command, read_repo_files, resolve_test_command

JUNIT = ".wave-qa/junit.xml"
PYTEST = ("python", "-m", "pytest", "-q", f"--junitxml={JUNIT}")
NPM_SCRIPT = json.dumps({"scripts": {"test": "jest"}})
NPM_PLACEHOLDER = json.dumps({"scripts": {"test": 'echo "Error: no test specified" && exit 1'}})


@pytest.mark.parametrize(
    ("files", "argv"),
    [
        ({"pyproject.toml": "[tool.pytest.ini_options]\n", "app.py": ""}, PYTEST),
        ({"pyproject.toml": "[project]\nname='x'\n", "src/x/test_core.py": ""}, PYTEST),
        ({"setup.cfg": "[tool:pytest]\n"}, PYTEST),
        ({"pytest.ini": ""}, PYTEST),
        ({"conftest.py": ""}, PYTEST),
        ({"tests/test_app.py": "", "app.py": ""}, PYTEST),
        ({"test_app.py": ""}, PYTEST),
        ({"package.json": NPM_SCRIPT, "index.js": ""}, ("npm", "test")),
        ({"package.json": NPM_PLACEHOLDER}, None),
        ({"package.json": "{not json"}, None),
        ({"go.mod": "module example.com/x\n", "x_test.go": ""}, ("go", "test", "-json", "./...")),
        ({"test.py": "", "app.py": ""}, (*PYTEST, "-o", "python_files=test_*.py *_test.py test.py")),
        ({"test.py": "", "pytest.ini": "[pytest]\npython_files = check_*.py\n"}, PYTEST),
        ({"Makefile": "build:\n\tcc x.c\n\ntest: build\n\t./run-tests\n"}, ("make", "test")),
        ({"Makefile": "test := yes\nall:\n\ttrue\n"}, None),
        ({"README.md": "", "src/app.py": ""}, None),
        ({"pyproject.toml": "[tool.pytest.ini_options]\n", "package.json": NPM_SCRIPT}, PYTEST),
        ({"package.json": NPM_SCRIPT, "go.mod": "module x\n"}, ("npm", "test")),
    ],
)
def test_detects_the_test_command(files: dict[str, str], argv: tuple[str, ...] | None) -> None:
    command = detect_test_command(files, junit_path=JUNIT)
    assert (command.argv if command else None) == argv
    if command is not None and command.runner == "pytest":
        assert command.junit_path == JUNIT


def test_the_configured_command_wins_and_runs_in_a_shell() -> None:
    command = resolve_test_command({"pytest.ini": ""}, junit_path=JUNIT, configured="make check && echo ok")
    assert command is not None and command.argv == ("/bin/sh", "-c", "make check && echo ok")
    assert command.junit_path is None


def test_the_trusted_qa_toml_comes_before_detection() -> None:
    trusted = 'command = ["python", "-m", "pytest", "--junitxml={junit}"]\n'
    command = resolve_test_command({"pytest.ini": ""}, junit_path=JUNIT, trusted_config=trusted)
    assert command is not None
    assert command.argv == ("python", "-m", "pytest", f"--junitxml={JUNIT}")
    assert command.junit_path == JUNIT


def test_a_broken_qa_toml_is_an_error_naming_the_file() -> None:
    with pytest.raises(RepoConfigError, match=r"\.wave/qa\.toml"):
        resolve_test_command({}, junit_path=JUNIT, trusted_config="command = 3\n")


def test_the_commits_own_qa_toml_does_not_choose_the_command() -> None:
    files = {".wave/qa.toml": 'command = "true"\n', "pytest.ini": ""}
    command = resolve_test_command(files, junit_path=JUNIT)
    assert command is not None and command.runner == "pytest"
    assert resolve_test_command({".wave/qa.toml": 'command = "true"\n'}, junit_path=JUNIT) is None


def test_reads_paths_and_marker_contents_but_not_dependencies(tmp_path: Path) -> None:
    (tmp_path / "node_modules/x").mkdir(parents=True)
    (tmp_path / "node_modules/x/test_x.py").write_text("")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/test_a.py").write_text("def test(): pass\n")
    (tmp_path / "package.json").write_text(NPM_SCRIPT)
    (tmp_path / "Makefile").symlink_to("/etc/hostname")
    files = read_repo_files(tmp_path)
    assert files["package.json"] == NPM_SCRIPT
    assert files["tests/test_a.py"] == ""  # not a marker: only its name matters
    assert files["Makefile"] == ""  # a link is never followed
    assert not any(p.startswith("node_modules") for p in files)


def test_a_qa_toml_string_runs_in_a_shell() -> None:
    command = resolve_test_command({}, junit_path=JUNIT, trusted_config='[tests]\ncommand = "tox -e py311"\n')
    assert command is not None and command.argv == ("/bin/sh", "-c", "tox -e py311")
