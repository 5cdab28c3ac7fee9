"""Credential detection: the event store's redaction patterns (which say what a secret looks like) plus
Shannon entropy for long random-looking tokens those patterns cannot name."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from wave_events.redaction import redact

# Kinds the redaction rules find by the shape of a name, not of the value: likelier to be false alarms.
GENERIC_KINDS = frozenset({"secret-assignment", "url-password", "bearer-token"})
_MARKER = re.compile(r"\[REDACTED:([a-z0-9-]+)\]")
_PRIVATE_KEY_HEADER = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{32,}")
_INTEGRITY_PREFIX = re.compile(r"^(?:sha1|sha256|sha384|sha512)-")
ENTROPY_BITS_PER_CHAR = 4.5


@dataclass(frozen=True)
class SecretHit:
    kind: str
    generic: bool


def secret_kinds(text: str) -> list[SecretHit]:
    """The kinds of credential present in `text`, each once, specific formats first."""
    before = Counter(_MARKER.findall(text))
    after = Counter(_MARKER.findall(redact(text)))
    kinds = [kind for kind in after if after[kind] > before.get(kind, 0)]
    if _PRIVATE_KEY_HEADER.search(text) and "private-key" not in kinds:
        kinds.append("private-key")
    hits = [SecretHit(kind, kind in GENERIC_KINDS) for kind in kinds]
    return sorted(hits, key=lambda h: (h.generic, h.kind))


def shannon_entropy(token: str) -> float:
    counts = Counter(token)
    n = len(token)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def high_entropy_tokens(text: str) -> list[tuple[int, float]]:
    """(length, bits per char) of each long token random enough to be a key. Hex digests stay below the
    threshold (at most 4 bits per char) and subresource-integrity hashes are skipped by their prefix."""
    found: list[tuple[int, float]] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if _INTEGRITY_PREFIX.match(token) or "REDACTED" in token:
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
