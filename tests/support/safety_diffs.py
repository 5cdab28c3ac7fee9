"""Builders for unified diffs in the shape `git diff` prints them."""

from __future__ import annotations

import base64
import zlib


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
    """A new binary file of `size` zero bytes, with its data, as `git diff --binary` writes it."""
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..4444444\nGIT binary patch\n"
        f"literal {size}\n{_base85_lines(bytes(size))}\nliteral 0\n{_base85_lines(b'')}\n"
    )


def _base85_lines(data: bytes) -> str:
    """git's binary patch lines: deflated data, 52 bytes a line, each led by a letter giving its length."""
    packed = zlib.compress(data)
    lines = []
    for at in range(0, len(packed), 52):
        chunk = packed[at : at + 52]
        length = chr(ord("A") + len(chunk) - 1) if len(chunk) <= 26 else chr(ord("a") + len(chunk) - 27)
        lines.append(length + base64.b85encode(chunk, pad=True).decode())
    return "\n".join(lines) + "\n"
