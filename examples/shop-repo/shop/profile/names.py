"""Customer names."""


def initials(first: str, last: str) -> str:
    return f"{first[:1]}{last[:1]}".upper()
