"""Write the API's OpenAPI document: `python -m wave_api.openapi docs/api/openapi.json`
(`--check` fails when the file differs, as the test suite does)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .app import ApiConfig, create_app
from .settings import ApiSettings


def document() -> dict[str, Any]:
    # Settings given, so the document never depends on this process's environment.
    return create_app(ApiConfig(settings=ApiSettings())).openapi()


def text() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    paths = [a for a in args if a != "--check"]
    if len(paths) != 1:
        print("usage: python -m wave_api.openapi [--check] PATH", file=sys.stderr)
        return 2
    path = Path(paths[0])
    wanted = text()
    if check:
        if not path.is_file() or path.read_text(encoding="utf-8") != wanted:
            print(f"{path} is out of date: run python -m wave_api.openapi {path}", file=sys.stderr)
            return 1
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(wanted, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
