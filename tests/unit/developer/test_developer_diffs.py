"""Reading the model's answer and its diff strictly, and writing the diff in canonical git form."""

from __future__ import annotations

import pytest
from wave_developer import DiffError, UnsafePathError, check_path, parse_diff, read_answer, render

MODIFY = """\
--- a/app.py
+++ b/app.py
@@ -1,2 +1,2 @@
 def price(amount):
-    return amount
+    return amount + tax(amount)
"""

ADD = """\
--- /dev/null
+++ b/docs/tax.md
@@ -0,0 +1,2 @@
+# Tax
+Prices include 20% tax.
"""


def test_a_fenced_answer_gives_its_diff_and_rationale() -> None:
    answer = read_answer(f"Rationale: price() adds the tax\n```diff\n{MODIFY}```\nThanks!")
    assert answer.diff_text == MODIFY
    assert answer.rationale == "price() adds the tax"


def test_an_answer_that_is_only_a_diff_is_read_whole() -> None:
    answer = read_answer("I changed price.\n" + MODIFY)
    assert answer.diff_text == MODIFY
    assert answer.rationale == "I changed price."


def test_a_patch_block_is_read_like_a_diff_block() -> None:
    assert read_answer(f"```patch\n{ADD}```").diff_text == ADD


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("I would change price() to add the tax.", "no diff found"),
        (f"```diff\n{MODIFY}", "not closed"),
        (f"```diff\n{MODIFY}```\n```diff\n{ADD}```", "more than one"),
    ],
)
def test_an_answer_without_one_usable_block_is_refused(text: str, complaint: str) -> None:
    with pytest.raises(DiffError, match=complaint):
        read_answer(text)


def test_files_are_read_with_their_kind_and_hunks() -> None:
    diff = parse_diff(MODIFY + ADD + "--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n")
    assert [(f.path, f.kind) for f in diff.files] == [("app.py", "modify"), ("docs/tax.md", "add"), ("old.txt", "delete")]
    assert diff.files[0].hunks[0].old_lines == ("def price(amount):", "    return amount")


def test_the_canonical_form_is_what_git_writes() -> None:
    text = render(parse_diff(MODIFY + ADD))
    assert text.startswith("diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n")
    assert "diff --git a/docs/tax.md b/docs/tax.md\nnew file mode 100644\n--- /dev/null\n+++ b/docs/tax.md\n" in text
    assert parse_diff(text) == parse_diff(MODIFY + ADD)


def test_paths_without_prefixes_and_trimmed_blank_context_are_accepted() -> None:
    diff = parse_diff("--- app.py\n+++ app.py\n@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n")
    assert diff.files[0].path == "app.py"
    assert diff.files[0].hunks[0].lines == (" a", " ", "-b", "+c")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "empty"),
        ("just words\n", "not part of a unified diff"),
        ("--- a/app.py\n@@ -1 +1 @@\n-a\n+b\n", r"\+\+\+ b/<path>"),
        ("--- a/app.py\n+++ b/app.py\n", "no hunk"),
        ("--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n a\n-b\n", "cut short"),
        ("--- a/app.py\n+++ b/app.py\n@@ -1,1 +1,1 @@\n-a\n+b\n+c\n", "not part of a unified diff"),
        ("--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n a\n*b\n", "does not start with"),
        ("--- a/app.py\n+++ b/app.py\n@@ one @@\n-a\n", "malformed hunk header"),
        ("--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n a\n", "changes nothing"),
        ("--- a/app.py\n+++ b/main.py\n@@ -1 +1 @@\n-a\n+b\n", "renames are not supported"),
        ("diff --git a/x b/y\nrename from x\nrename to y\n", "renames are not supported"),
        ("diff --git a/logo.png b/logo.png\nBinary files a/logo.png and b/logo.png differ\n", "binary"),
        ("--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-a\n+b\n--- a/app.py\n+++ b/app.py\n@@ -3 +3 @@\n-c\n+d\n", "twice"),
        ("--- /dev/null\n+++ /dev/null\n@@ -0,0 +1 @@\n+a\n", "both sides"),
    ],
)
def test_malformed_diffs_are_refused_with_a_reason(text: str, complaint: str) -> None:
    with pytest.raises(DiffError, match=complaint):
        parse_diff(text)


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "../outside.py", "src/../../outside.py", ".git/config", "sub/.GIT/hooks/pre-commit",
     "C:/win.txt", "a\\b.py", "./app.py", "~/.ssh/id_rsa", "src//app.py", "bad\nname"],
)
def test_paths_outside_the_repository_are_refused(path: str) -> None:
    with pytest.raises(UnsafePathError):
        check_path(path)


def test_a_diff_escaping_the_repository_is_refused() -> None:
    with pytest.raises(UnsafePathError, match=r"'\.\.'"):
        parse_diff("--- a/../evil.py\n+++ b/../evil.py\n@@ -1 +1 @@\n-a\n+b\n")
    with pytest.raises(UnsafePathError, match="absolute"):
        parse_diff("--- /dev/null\n+++ /tmp/evil.py\n@@ -0,0 +1 @@\n+a\n")


@pytest.mark.parametrize("path", ["app.py", "src/wave/app.py", "docs/a-b_c.1.md", ".github/workflows/ci.yml"])
def test_plain_relative_paths_are_accepted(path: str) -> None:
    check_path(path)


def test_the_answer_format_in_the_readme_is_accepted() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[3] / "services" / "developer" / "README.md").read_text()
    example = readme.split("<!-- answer-example -->")[1].split("<!-- /answer-example -->")[0]
    text = example.strip().removeprefix("````text\n").removesuffix("\n````")
    answer = read_answer(text)
    assert answer.rationale == "price() now adds the tax, as the story asks."
    assert [f.kind for f in parse_diff(answer.diff_text).files] == ["modify", "add"]
