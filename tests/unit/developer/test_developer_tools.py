"""The model's tools read the checkout and nothing else, and answer in bounded text."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from wave_developer import RepositoryView, ViewLimits, run_tool
from wave_llm import ToolCall


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    (root / "src").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\nsecret = 1\n")
    (root / "src" / "app.py").write_text("def price(amount):\n    return amount\n")
    (root / "README.md").write_text("# shop\nprice list\n")
    (root / "logo.png").write_bytes(b"\x89PNG\0\0data")
    (tmp_path / "secret.txt").write_text("price of the secret\n")
    os.symlink(tmp_path / "secret.txt", root / "leak.txt")
    os.symlink(tmp_path, root / "up")
    return root


def call(name: str, **arguments: object) -> ToolCall:
    return ToolCall(id="c1", name=name, arguments=arguments)


def test_read_file_returns_the_file_with_its_line_count(repo: Path) -> None:
    answer = run_tool(RepositoryView(repo), call("read_file", path="src/app.py"))
    assert answer == "src/app.py (2 lines):\ndef price(amount):\n    return amount\n"


def test_read_file_can_read_a_range_of_lines(repo: Path) -> None:
    answer = run_tool(RepositoryView(repo), call("read_file", path="src/app.py", start_line=2, end_line=2))
    assert answer == "src/app.py (lines 2-2 of 2):\n    return amount\n"


def test_a_long_file_is_cut_and_says_so(repo: Path) -> None:
    (repo / "big.py").write_text("x = 1\n" * 1000)
    answer = run_tool(RepositoryView(repo, ViewLimits(read_chars=60)), call("read_file", path="big.py"))
    assert answer.count("x = 1") == 10
    assert "[truncated after line 10; read further with start_line]" in answer


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ({"path": "../secret.txt"}, "'..'"),
        ({"path": "/etc/passwd"}, "absolute"),
        ({"path": ".git/config"}, ".git"),
        ({"path": "leak.txt"}, "outside the repository"),
        ({"path": "up/secret.txt"}, "outside the repository"),
        ({"path": "src/missing.py"}, "no such file"),
        ({"path": "src"}, "not a file"),
        ({"path": "logo.png"}, "binary"),
        ({}, "'path' is required"),
        ({"path": "src/app.py", "start_line": 0}, "positive integer"),
    ],
)
def test_read_file_refuses_what_is_not_a_text_file_of_the_repository(
    repo: Path, arguments: dict[str, object], complaint: str
) -> None:
    answer = run_tool(RepositoryView(repo), call("read_file", **arguments))
    assert answer.startswith("error: ")
    assert complaint in answer


def test_list_directory_hides_git_and_marks_directories_and_links(repo: Path) -> None:
    answer = run_tool(RepositoryView(repo), call("list_directory", path="."))
    assert answer.splitlines() == ["./ (5 entries):", "README.md", "leak.txt@", "logo.png", "src/", "up@"]


def test_list_directory_defaults_to_the_root_and_refuses_escapes(repo: Path) -> None:
    assert run_tool(RepositoryView(repo), call("list_directory")).startswith("./ ")
    assert run_tool(RepositoryView(repo), call("list_directory", path="src")).startswith("src/ (1 entries)")
    assert "outside the repository" in run_tool(RepositoryView(repo), call("list_directory", path="up"))
    assert "'..'" in run_tool(RepositoryView(repo), call("list_directory", path=".."))


def test_search_finds_lines_in_repository_files_only(repo: Path) -> None:
    answer = run_tool(RepositoryView(repo), call("search", pattern="price"))
    assert answer.splitlines() == [
        "2 match(es) for 'price':",
        "README.md:2: price list",
        "src/app.py:1: def price(amount):",
    ]  # not the secret behind the links, not .git


def test_search_output_is_bounded(repo: Path) -> None:
    (repo / "many.txt").write_text("hit\n" * 100)
    answer = run_tool(RepositoryView(repo, ViewLimits(search_matches=3)), call("search", pattern="hit", path="many.txt"))
    assert answer.splitlines()[1:] == ["many.txt:1: hit", "many.txt:2: hit", "many.txt:3: hit", "[97 more matches not shown]"]


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [({"pattern": "("}, "not a valid regular expression"), ({"pattern": ""}, "non-empty"),
     ({"pattern": "x" * 500}, "longer than"), ({"pattern": "x", "path": "../"}, "'..'")],
)
def test_search_refuses_bad_patterns_and_escapes(repo: Path, arguments: dict[str, object], complaint: str) -> None:
    answer = run_tool(RepositoryView(repo), call("search", **arguments))
    assert answer.startswith("error: ") and complaint in answer


def test_an_unknown_tool_is_answered_with_the_known_ones(repo: Path) -> None:
    answer = run_tool(RepositoryView(repo), call("run_shell", command="rm -rf /"))
    assert answer == "error: unknown tool 'run_shell'; the tools are read_file, list_directory, search"


def test_a_catastrophically_backtracking_pattern_is_refused_in_bounded_time(repo: Path) -> None:
    (repo / "trap.txt").write_text("a" * 40 + "!\n")
    started = time.monotonic()
    answer = run_tool(RepositoryView(repo, ViewLimits(search_seconds=0.3)), call("search", pattern="(a|aa)+$", path="trap.txt"))
    assert answer.startswith("error: pattern '(a|aa)+$' took longer than 0.3 s")
    assert time.monotonic() - started < 5  # Python's re would take hours on this line
