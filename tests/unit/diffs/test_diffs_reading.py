"""The one diff reader: the form libgit2 needs, files and hunks kept apart, unsafe paths refused."""

from __future__ import annotations

import pygit2
import pytest
from wave_diffs import DiffError, UnsafePathError, check, path_problem, read
from wave_diffs import split as read_diff

GIT_DIFF = (
    "diff --git a/app.py b/app.py\nindex 1111111..2222222 100644\n--- a/app.py\n+++ b/app.py\n"
    "@@ -1,2 +1,2 @@\n def price(amount):\n-    return amount\n+    return amount * 2\n"
    "@@ -10 +10 @@\n-x = 1\n+x = 2\n"
    "diff --git a/old.txt b/old.txt\ndeleted file mode 100644\n--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n"
)


def test_a_git_diff_is_kept_as_it_is() -> None:
    proposed = read_diff(GIT_DIFF)
    assert proposed.text == GIT_DIFF
    assert [f.path for f in proposed.files] == ["app.py", "old.txt"]
    assert [h.header for h in proposed.files[0].hunks] == ["@@ -1,2 +1,2 @@", "@@ -10 +10 @@"]


def test_one_hunk_of_a_file_is_a_patch_of_its_own() -> None:
    app = read_diff(GIT_DIFF).files[0]
    second = app.with_hunk(1)
    assert second.startswith("diff --git a/app.py b/app.py\n") and "@@ -10 +10 @@\n-x = 1\n+x = 2\n" in second
    assert "return amount" not in second
    assert len(pygit2.Diff.parse_diff(second)[0].hunks) == 1


def test_plain_unified_diffs_get_git_headers_and_prefixes() -> None:
    text = (
        "Sure! Here is the diff:\n"
        "--- app.py\t2024-01-01 10:00:00\n+++ app.py\t2024-01-01 10:05:00\n@@ -1 +1 @@\n-a\n+b\n"
        "--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+n\n"
        "--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-o\n"
        "Let me know!\n"
    )
    proposed = read_diff(text)
    assert proposed.text == (
        "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-a\n+b\n"
        "diff --git a/new.py b/new.py\nnew file mode 100644\n--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+n\n"
        "diff --git a/old.py b/old.py\ndeleted file mode 100644\n--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-o\n"
    )
    assert [f.status for f in read(text).files] == ["modified", "added", "deleted"]


def test_removed_lines_that_look_like_headers_stay_in_their_hunk() -> None:
    text = "--- a/notes.md\n+++ b/notes.md\n@@ -1,2 +1,1 @@\n--- a/ruler\n-+++ b/ruler\n+ruler\n"
    proposed = read_diff(text)
    assert len(proposed.files) == 1 and len(proposed.files[0].hunks) == 1
    assert proposed.files[0].hunks[0].lines[1:] == ("--- a/ruler\n", "-+++ b/ruler\n", "+ruler\n")


def test_an_empty_context_line_and_a_missing_final_newline_are_repaired() -> None:
    text = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n\n-b\n+c"
    assert read_diff(text).files[0].hunks[0].lines == ("@@ -1,3 +1,3 @@\n", " a\n", " \n", "-b\n", "+c\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("make it faster", "no file change found"),
        ("--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n", "cut short"),
        ("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\nnot a diff line\n", "ends early"),
        ("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\0\n+b\n", "NUL"),
    ],
)
def test_text_that_is_not_a_usable_diff_says_why(text: str, message: str) -> None:
    with pytest.raises(DiffError, match=message):
        read_diff(text)


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../escape.py", "'..'"),
        ("src/../../escape.py", "'..'"),
        (".git/config", ".git"),
        ("sub/.GIT/hooks/pre-commit", ".git"),
        ("C:/Windows/x", "absolute"),
    ],
)
def test_paths_leaving_the_worktree_are_refused(path: str, why: str) -> None:
    diff = read(f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+x\n")
    with pytest.raises(UnsafePathError, match=why):
        check(diff)


def test_an_absolute_path_in_a_plain_diff_is_refused() -> None:
    diff = read("--- /dev/null\n+++ /etc/passwd\n@@ -0,0 +1 @@\n+x\n")
    assert diff.files[0].paths == ("etc/passwd", "/etc/passwd")  # libgit2 drops the slash; the check does not
    with pytest.raises(UnsafePathError, match="absolute"):
        check(diff)


@pytest.mark.parametrize(
    ("link", "target", "refused"),
    [
        ("docs/latest", "v2", False),
        ("docs/latest", "../README.md", False),
        ("docs/latest", "../../outside", True),
        ("link", "/etc/passwd", True),
    ],
)
def test_symbolic_links_may_point_inside_the_worktree_only(link: str, target: str, refused: bool) -> None:
    text = f"diff --git a/{link} b/{link}\nnew file mode 120000\n--- /dev/null\n+++ b/{link}\n@@ -0,0 +1 @@\n+{target}\n\\ No newline at end of file\n"
    diff = read(text)
    if refused:
        with pytest.raises(UnsafePathError, match="points outside"):
            check(diff)
    else:
        check(diff)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/etc/passwd", "outside"),
        ("../outside.py", "outside"),
        ("src/../../outside.py", "outside"),
        ("~/.ssh/id_rsa", "outside"),
        ("C:/win.txt", "outside"),
        ("a\\b.py", "outside"),
        (".git/config", "git"),
        ("sub/.GIT/hooks/pre-commit", "git"),
        ("./app.py", "malformed"),
        ("src//app.py", "malformed"),
        ("bad\nname", "malformed"),
        ("", "malformed"),
    ],
)
def test_each_path_problem_has_its_kind(path: str, kind: str) -> None:
    problem = path_problem(path)
    assert problem is not None and problem.kind == kind


@pytest.mark.parametrize(
    "path", ["app.py", "src/wave/app.py", "docs/a-b_c.1.md", ".github/workflows/ci.yml", "my file é.txt"]
)
def test_plain_relative_paths_are_accepted(path: str) -> None:
    assert path_problem(path) is None


def test_quoted_paths_renames_modes_and_binary_are_read_as_git_reads_them() -> None:
    text = (
        'diff --git "a/caf\\303\\251 menu.txt" "b/caf\\303\\251 menu.txt"\n'
        '--- "a/caf\\303\\251 menu.txt"\n+++ "b/caf\\303\\251 menu.txt"\n@@ -1 +1 @@\n-a\n+b\n'
        "diff --git a/old.py b/new.py\nsimilarity index 100%\nrename from old.py\nrename to new.py\n"
        "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n"
        "diff --git a/x.so b/x.so\nindex 1111111..5555555 100644\nBinary files a/x.so and b/x.so differ\n"
    )
    files = read(text).files
    assert [(f.status, f.old_path, f.new_path) for f in files] == [
        ("modified", "café menu.txt", "café menu.txt"),
        ("renamed", "old.py", "new.py"),
        ("modified", "run.sh", "run.sh"),
        ("modified", "x.so", "x.so"),
    ]
    assert (files[2].old_mode, files[2].new_mode) == (0o100644, 0o100755)
    assert files[3].binary and files[3].binary_size is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("--- /dev/null\n+++ /dev/null\n@@ -0,0 +1 @@\n+a\n", "both sides"),
        ("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n--- a/f\n+++ b/f\n@@ -3 +3 @@\n-c\n+d\n", "twice"),
        ("diff --git a/x.so b/x.so\nGIT binary patch\nliteral 9\nzcmV?d00001\n\n", "git cannot read"),
    ],
)
def test_what_git_would_read_only_in_part_is_refused(text: str, message: str) -> None:
    with pytest.raises(DiffError, match=message):
        read(text)
