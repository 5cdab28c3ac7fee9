"""Builders for unified diffs in the shape `git diff` prints them."""

from __future__ import annotations


def modified(path: str, old: str, new: str) -> str:
    old_lines, new_lines = old.splitlines(), new.splitlines()
    body = "".join(f"-{line}\n" for line in old_lines) + "".join(f"+{line}\n" for line in new_lines)
    return (
        f"diff --git a/{path} b/{path}\nindex 1111111..2222222 100644\n--- a/{path}\n+++ b/{path}\n"
        f"@@ -1,{len(old_lines)} +1,{len(new_lines)} @@\n{body}"
    )


def added(path: str, content: str, mode: str = "100644") -> str:
    lines = content.splitlines()
    body = "".join(f"+{line}\n" for line in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode {mode}\nindex 0000000..3333333\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1,{len(lines)} @@\n{body}"
    )


def binary(path: str, size: int) -> str:
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..4444444\nGIT binary patch\n"
        f"literal {size}\nzcmV?d00001\n\nliteral 0\nHcmV?d00001\n\n"
    )
