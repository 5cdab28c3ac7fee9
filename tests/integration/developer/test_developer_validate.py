"""A model's answer against a real checkout: what is accepted, how it is rewritten, what is refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from developer_runs import APP, PRICE_DIFF, make_repo
from wave_developer import DiffError, UnsafePathError, validate_answer


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    make_repo(tmp_path / "repo")
    return tmp_path / "repo"


def fenced(diff: str) -> str:
    return f"Rationale: r\n```diff\n{diff}```"


def applies_with_git(checkout: Path, diff: str) -> None:
    subprocess.run(["git", "-C", str(checkout), "apply", "--check", "-"], input=diff.encode(), check=True)


def test_the_proposed_diff_is_the_one_git_writes(checkout: Path) -> None:
    change = validate_answer(fenced(PRICE_DIFF), checkout)
    assert change.paths == ("app.py",)
    assert change.diff.startswith("diff --git a/app.py b/app.py\nindex ")
    assert "@@ -1,5 +1,5 @@\n def price(amount):\n-    return amount\n+    return amount + tax(amount)\n \n \n" in change.diff
    applies_with_git(checkout, change.diff)
    assert (checkout / "app.py").read_text() == APP  # the checkout itself is left as it was
    assert subprocess.run(["git", "-C", str(checkout), "status", "--porcelain"], capture_output=True,
                          text=True, check=True).stdout == ""


def test_wrong_line_numbers_are_forgiven_but_not_wrong_lines(checkout: Path) -> None:
    change = validate_answer(fenced(PRICE_DIFF.replace("@@ -1,2 +1,2 @@", "@@ -3,2 +3,2 @@")), checkout)
    applies_with_git(checkout, change.diff)
    with pytest.raises(DiffError, match="does not match the file"):
        validate_answer(fenced(PRICE_DIFF.replace("-    return amount", "-    return amount * 2")), checkout)


def test_new_and_deleted_files(checkout: Path) -> None:
    diff = "--- /dev/null\n+++ b/docs/tax.md\n@@ -0,0 +1 @@\n+20%\n--- a/README.md\n+++ /dev/null\n@@ -1 +0,0 @@\n-# shop\n"
    change = validate_answer(fenced(diff), checkout)
    assert "new file mode 100644" in change.diff and "deleted file mode 100644" in change.diff
    applies_with_git(checkout, change.diff)


@pytest.mark.parametrize(
    ("diff", "complaint"),
    [
        ("--- /dev/null\n+++ b/app.py\n@@ -0,0 +1 @@\n+x\n", "already exists"),
        ("--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-a\n+b\n", "does not exist at this commit"),
        ("--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-# shop\n+# shop\n", "changes nothing"),
    ],
)
def test_changes_that_do_not_fit_the_commit_are_refused(checkout: Path, diff: str, complaint: str) -> None:
    with pytest.raises(DiffError, match=complaint):
        validate_answer(fenced(diff), checkout)


def test_a_path_through_a_link_out_of_the_checkout_is_refused(checkout: Path, tmp_path: Path) -> None:
    (checkout / "elsewhere").symlink_to(tmp_path)
    with pytest.raises(UnsafePathError, match="outside the repository"):
        validate_answer(fenced("--- /dev/null\n+++ b/elsewhere/x.py\n@@ -0,0 +1 @@\n+x\n"), checkout)
    assert not (tmp_path / "x.py").exists()
