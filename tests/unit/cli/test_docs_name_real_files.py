"""The documentation sends readers to example files; each one it names must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("services/*/README.md"))]
EXAMPLE_PATH = re.compile(r"\bexamples/[\w./-]*\w")


def test_every_example_file_the_docs_name_exists():
    named = {(doc.relative_to(ROOT).as_posix(), path) for doc in DOCS for path in EXAMPLE_PATH.findall(doc.read_text())}
    assert named, "the docs name no example file: the pattern is wrong"
    missing = sorted(f"{doc}: {path}" for doc, path in named if not (ROOT / path).exists())
    assert missing == []
