"""A proposed diff as gitops takes it: read by the shared reader (`wave_diffs`), which safety scored
too, its paths checked, and refused with a reason a ChangeRejected event can carry otherwise."""

from __future__ import annotations

import pygit2
import wave_diffs

from .errors import MalformedDiffError, UnsafePathError


def read_change(text: str) -> tuple[wave_diffs.ReadDiff, pygit2.Diff]:
    """The diff read and checked, and libgit2's parse of it to apply. Raises ChangeRefusedError subtypes."""
    try:
        diff = wave_diffs.read(text)
        wave_diffs.check(diff)
    except wave_diffs.UnsafePathError as exc:
        raise UnsafePathError(str(exc)) from None
    except wave_diffs.DiffError as exc:
        raise MalformedDiffError(str(exc)) from None
    return diff, pygit2.Diff.parse_diff(diff.text)
