"""What a command or query refuses, as one line a person can act on. Each kind carries the HTTP
status an API answers with; the CLI prints the line and exits 1."""

from __future__ import annotations


class AppError(Exception):
    """A request WAVE will not carry out, and why (one line)."""

    status = 400


class InvalidRequest(AppError):
    """The request itself is wrong: a bad amount, a blank story, a repository or branch that does not exist."""

    status = 400


class NotFound(AppError):
    """No such run."""

    status = 404


class Conflict(AppError):
    """The run's state does not allow it: finished, not waiting, already answered, or changing too fast."""

    status = 409


class Unreadable(AppError):
    """A run with a stored event that can no longer be decoded."""

    status = 409
