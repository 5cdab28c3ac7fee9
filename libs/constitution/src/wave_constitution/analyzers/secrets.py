"""Credential detection: the shared secret detector of `wave_events.redaction` (the same decision that
redacts events and withholds proposed changes) plus Shannon entropy for long random-looking tokens its
patterns cannot name."""

from __future__ import annotations

import re
from dataclasses import dataclass

from wave_events.redaction import GENERIC_KINDS, find_secrets, is_placeholder, shannon_entropy

_PRIVATE_KEY_HEADER = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{32,}")
_INTEGRITY_PREFIX = re.compile(r"^(?:sha1|sha256|sha384|sha512)-")
ENTROPY_BITS_PER_CHAR = 4.5


@dataclass(frozen=True)
class SecretHit:
    kind: str
    generic: bool


def secret_kinds(text: str) -> list[SecretHit]:
    """The kinds of real-looking credential present in `text`, each once, specific formats first. A private
    key's header counts even without its body: a diff may show only part of the key."""
    kinds = list(dict.fromkeys(match.kind for match in find_secrets(text)))
    if _PRIVATE_KEY_HEADER.search(text) and "private-key" not in kinds:
        kinds.append("private-key")
    hits = [SecretHit(kind, kind in GENERIC_KINDS) for kind in kinds]
    return sorted(hits, key=lambda h: (h.generic, h.kind))


def high_entropy_tokens(text: str) -> list[tuple[int, float]]:
    """(length, bits per char) of each long token random enough to be a key. Hex digests stay below the
    threshold (at most 4 bits per char), subresource-integrity hashes are skipped by their prefix, and
    stand-ins (`sk-ant-api03-your-key-here`) by the detector's placeholder test."""
    found: list[tuple[int, float]] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if _INTEGRITY_PREFIX.match(token) or "REDACTED" in token or is_placeholder(token):
            continue
        if not (
            any(c.isdigit() for c in token)
            and any(c.isupper() for c in token)
            and any(c.islower() for c in token)
        ):
            continue
        entropy = shannon_entropy(token)
        if entropy >= ENTROPY_BITS_PER_CHAR:
            found.append((len(token), round(entropy, 2)))
    return found
