"""String helpers."""

import re


def shout(text: str) -> str:
    """Upper-case `text` and end it with an exclamation mark."""
    return text.upper() + "!"


def words(text: str) -> list[str]:
    """The words of `text`: runs of letters and digits."""
    return re.findall(r"[A-Za-z0-9]+", text)
