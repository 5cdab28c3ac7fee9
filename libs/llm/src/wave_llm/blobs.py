"""Content-addressed storage for bodies too large to travel inside an event."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

from wave_events.catalogue import ContentRef

_REF = re.compile(r"^sha256:([0-9a-f]{64})$")


class BlobNotFound(LookupError):
    pass


class BlobStore(ABC):
    """Write-once storage keyed by the SHA-256 of the content.

    Contract: `put` returns `ContentRef("sha256:<hex>", size)` for the bytes it stored; putting the same bytes
    again returns the same ref and changes nothing; `get` returns exactly those bytes, or raises `BlobNotFound`.
    """

    @abstractmethod
    async def put(self, data: bytes) -> ContentRef:
        """Store `data` (once) and return its ref."""

    @abstractmethod
    async def get(self, ref: ContentRef | str) -> bytes:
        """The bytes stored under `ref`; `BlobNotFound` when there are none."""


def content_ref(data: bytes) -> ContentRef:
    return ContentRef(ref="sha256:" + hashlib.sha256(data).hexdigest(), size=len(data))


class FileBlobStore(BlobStore):
    """Blobs as read-only files `<root>/sha256/<first two hex digits>/<hex>`."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path_of(self, ref: ContentRef | str) -> Path:
        text = ref.ref if isinstance(ref, ContentRef) else ref
        match = _REF.match(text)
        if match is None:
            raise ValueError(f"not a content ref: {text!r} (expected sha256:<64 hex digits>)")
        digest = match.group(1)
        return self.root / "sha256" / digest[:2] / digest

    async def put(self, data: bytes) -> ContentRef:
        ref = content_ref(data)
        await asyncio.to_thread(self._write_once, self.path_of(ref), data)
        return ref

    def _write_once(self, path: Path, data: bytes) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".blob.", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, 0o444)
            try:
                # link, unlike rename, never replaces a file a concurrent writer put there first
                os.link(temporary, path)
            except FileExistsError:
                pass
        finally:
            Path(temporary).unlink(missing_ok=True)

    async def get(self, ref: ContentRef | str) -> bytes:
        path = self.path_of(ref)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {path.name} under {self.root}") from None
        if hashlib.sha256(data).hexdigest() != path.name:
            raise BlobNotFound(f"blob {path.name} under {self.root} is corrupt (its content hash differs)")
        return data
