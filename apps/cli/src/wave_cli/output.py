"""Standard output that a closed reader cannot stop: `wave run … | head` keeps driving the run to its
end and exits with the run's status; what it would have printed goes nowhere."""

from __future__ import annotations

import os
import sys
from typing import Any


class ClosableStdout:
    """sys.stdout (looked up at each write, so test runners that swap it still see the output) until
    a write finds the reader gone; from then on every write is dropped."""

    def __init__(self) -> None:
        self.closed_by_reader = False

    def write(self, text: str) -> int:
        if not self.closed_by_reader:
            try:
                return sys.stdout.write(text)
            except BrokenPipeError:
                self._reader_gone()
        return len(text)

    def flush(self) -> None:
        if not self.closed_by_reader:
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                self._reader_gone()

    def _reader_gone(self) -> None:
        self.closed_by_reader = True
        # What Python still holds for the closed pipe would fail again when it flushes at exit.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # a stdout that is not a file (a test runner's buffer)
            pass

    def __getattr__(self, name: str) -> Any:  # isatty, encoding, fileno: those of the current stdout
        return getattr(sys.stdout, name)
