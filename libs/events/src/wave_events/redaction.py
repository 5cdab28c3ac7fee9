"""The one secret detector of WAVE, and redaction built on it: secrets never reach the store or the bus.

`find_secrets` names every real-looking credential in a text: a known key format with a random body, a
private key, a password in a URL, a secret-named assignment of a random-looking literal. What only
looks like one — placeholders and fixtures (`placeholder`, `example`, `dummy`, `test`, `changeme`,
`<your-key>`, `${VAR}`, `xxxx`, low-entropy or repetitive values) — is not a finding, so redaction
leaves it alone and the safety service does not flag it. Safety's secrets analyzer uses the same
detector, so what is withheld, flagged and redacted is one decision.

Redaction runs on the encoded JSON text of a payload. No pattern matches a quote outside the part it
keeps, and replacements contain no quote or backslash, so the text stays valid JSON.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

MARKER = "[REDACTED:{kind}]"


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    group: str | int = 0  # the part of the match that is the secret


def _rule(kind: str, pattern: str, group: str | int = 0) -> _Rule:
    return _Rule(kind, re.compile(pattern), group)


# Where a token may begin: after a non-word character, or after a JSON escape such as the `\n` of a
# line break (in JSON text the `n` of `\n` is a word character, so `\b` would miss a key on a new line).
START = r"(?:(?<!\w)|(?<=\\[nrtbf]))"

# Specific token formats first; the generic "secret-named assignment" rules last.
_RULES: tuple[_Rule, ...] = (
    _rule("private-key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[^\"]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    _rule("anthropic-key", START + r"sk-ant-[A-Za-z0-9_-]{20,}"),
    _rule("openai-key", START + r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    _rule("xai-key", START + r"xai-[A-Za-z0-9]{20,}"),
    _rule("github-token", START + r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    _rule("slack-token", START + r"xox[abposr]-[A-Za-z0-9-]{10,}"),
    _rule("slack-webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+"),
    _rule("aws-access-key", START + r"(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    _rule("google-api-key", START + r"AIza[0-9A-Za-z_-]{35}"),
    _rule("jwt", START + r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    _rule("bearer-token", START + r"Bearer (?P<secret>[A-Za-z0-9._~+/-]{16,}=*)", "secret"),
    _rule(
        "url-password",
        START + r"[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s\"\\]+:(?P<secret>[^@/\s\"\\]+)@",
        "secret",
    ),
    # KEY=value in environment style, e.g. `AWS_SECRET_ACCESS_KEY=wJalr…` or `DB_PASSWORD=…`.
    _rule(
        "secret-assignment",
        START + r"[A-Z][A-Z0-9_]*(?:SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|ACCESS_KEY)[A-Z0-9_]*"
        r"\s*[=:]\s*(?P<secret>[^\s\"'\\$]{8,})",
        "secret",
    ),
    # A quoted literal assigned to a secret-named identifier, e.g. `password = "…"` (quotes JSON-escaped or not).
    _rule(
        "secret-assignment",
        r"(?i)" + START + r"[\w-]*(?:secret|password|passwd|api[_-]?key|access[_-]?key|auth[_-]?token|access[_-]?token)[\w-]*"
        r"\s*[=:]\s*(?:\\\"|\"|')(?P<secret>[^\"'\\\s]{8,})(?:\\\"|\"|')",
        "secret",
    ),
)


# Every rule's match contains one of these literals, so text holding none of them cannot match any
# rule. Keep them in step with _RULES: tests/unit/events/test_redaction_fast_path.py checks that the
# fast path and the full path agree on secret-bearing and clean samples.
_CASE_SENSITIVE_LITERALS = (
    "PRIVATE KEY", "sk-", "xai-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox",
    "hooks.slack.com", "AKIA", "ASIA", "AIza", "eyJ", "Bearer ", "://",
    "SECRET", "PASSWORD", "PASSWD", "TOKEN", "API_KEY", "ACCESS_KEY",
)
# The case-insensitive rule, looked for in the lower-cased text ("passw": password and passwd).
_LOWER_CASE_LITERALS = (
    "secret", "passw", "api_key", "api-key", "apikey", "access_key", "access-key", "accesskey",
    "auth_token", "auth-token", "authtoken", "access_token", "access-token", "accesstoken",
)


def may_hold_secret(text: str) -> bool:
    """False only when no rule can match `text` (so `redact(text) == text`); cheap, for skipping work. Non-ASCII text always takes the full path: under
    IGNORECASE, characters such as the long s and the Kelvin sign match ASCII letters."""
    if not text.isascii():
        return True
    for literal in _CASE_SENSITIVE_LITERALS:
        if literal in text:
            return True
    lowered = text.lower()
    for literal in _LOWER_CASE_LITERALS:
        if literal in lowered:
            return True
    return False


# Kinds found by the shape of a name (or of a URL), not by a format of the value: likelier false alarms.
GENERIC_KINDS = frozenset({"secret-assignment", "url-password", "bearer-token"})
# Known prefixes the entropy of a key's body is measured without.
_KEY_PREFIX = re.compile(
    r"^(?:sk-ant-(?:api\d+-|admin\d+-)?|sk-(?:proj-|svcacct-|admin-)?|xai-|gh[pousr]_|github_pat_|xox[abposr]-"
    r"|AKIA|ASIA|AIza|https://hooks\.slack\.com/services/)"
)
# Words that mark a value as a stand-in. Long ones count anywhere in the value (a random key holds
# one with negligible odds); short ones only as a whole run of letters (`test-token`, `my_fake_key`).
_PLACEHOLDER_WORDS = ("placeholder", "example", "dummy", "changeme", "change_me", "change-me", "fixture",
                      "redacted", "sample", "insert", "replace")
_PLACEHOLDER_SHORT_WORDS = frozenset({"test", "tests", "fake", "mock", "your", "todo", "secret", "password"})
_LETTER_RUN = re.compile(r"[A-Za-z]+")
_TEMPLATE = re.compile(r"^(?:<.*>|\$\{.*\}|\{\{.*\}\}|%\(.*\)s|\$[A-Z_]+)$|\*{3,}|\.{3}|xxxx|XXXX")
MIN_ENTROPY_BITS = 3.0  # bits per character below which a value is too regular to be a credential


@dataclass(frozen=True)
class SecretMatch:
    """A real-looking credential in a text: its kind and where its secret part is (never its value)."""

    kind: str
    start: int
    end: int

    @property
    def generic(self) -> bool:
        return self.kind in GENERIC_KINDS


def shannon_entropy(text: str) -> float:
    """Bits per character of `text`'s character distribution (0 for an empty text)."""
    n = len(text)
    if not n:
        return 0.0
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def is_placeholder(value: str) -> bool:
    """Whether a secret-shaped value is a stand-in (placeholder, fixture, template) rather than a credential."""
    lowered = value.lower()
    if any(word in lowered for word in _PLACEHOLDER_WORDS):
        return True
    if any(run.lower() in _PLACEHOLDER_SHORT_WORDS for run in _LETTER_RUN.findall(value)):
        return True
    if _TEMPLATE.search(value):
        return True
    body = _KEY_PREFIX.sub("", value)
    if not body:
        return True
    most_common = Counter(body).most_common(1)[0][1]
    return most_common * 2 > len(body) or shannon_entropy(body) < MIN_ENTROPY_BITS


def _is_real(kind: str, value: str) -> bool:
    if kind == "private-key":
        # The body between the armour lines: a stand-in such as "..." or "<key>" is not a key.
        body = re.sub(r"-----(?:BEGIN|END) [A-Z0-9 ]*PRIVATE KEY-----|\\n|\s", "", value)
        return len(body) >= 16 and not is_placeholder(body)
    if kind == "url-password":
        # People choose these: low entropy does not make one a stand-in, only the words and templates do.
        lowered = value.lower()
        return not (
            any(word in lowered for word in _PLACEHOLDER_WORDS)
            or any(run.lower() in _PLACEHOLDER_SHORT_WORDS for run in _LETTER_RUN.findall(value))
            or _TEMPLATE.search(value)
        )
    return not is_placeholder(value)


def find_secrets(text: str) -> list[SecretMatch]:
    """Every real-looking credential in `text` (plain or JSON text), in order; stand-ins are left out.

    Rules run in order on the original text; a match overlapping one already found is the same
    credential seen by a less specific rule and is skipped.
    """
    if not may_hold_secret(text):
        return []
    return _find_all(text)


def _find_all(text: str) -> list[SecretMatch]:
    found: list[SecretMatch] = []
    for rule in _RULES:
        for match in rule.pattern.finditer(text):
            start, end = match.span(rule.group)
            if any(start < other.end and other.start < end for other in found):
                continue
            if _is_real(rule.kind, text[start:end]):
                found.append(SecretMatch(rule.kind, start, end))
    return sorted(found, key=lambda m: m.start)


def redact(text: str) -> str:
    """Replace every real-looking secret in `text` (plain text or JSON text) with a marker naming its kind."""
    if not may_hold_secret(text):
        return text
    return _redact_all(text)


def _redact_all(text: str) -> str:
    """The full path: every rule over the whole text."""
    return _replace(text, _find_all(text))


def _replace(text: str, matches: list[SecretMatch]) -> str:
    parts: list[str] = []
    position = 0
    for match in matches:
        parts.append(text[position : match.start])
        parts.append(MARKER.format(kind=match.kind))
        position = match.end
    parts.append(text[position:])
    return "".join(parts)


def contains_redaction(text: str) -> bool:
    return "[REDACTED:" in text
