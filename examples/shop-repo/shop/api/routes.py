"""The HTTP routes' handlers: plain functions returning (status, body)."""


def version() -> tuple[int, dict[str, str]]:
    return 200, {"version": "0.1.0"}
