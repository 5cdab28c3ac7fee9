"""Secrets never reach the store or the bus: values that look like credentials are replaced.

Redaction runs on the encoded JSON text of a payload. No pattern matches a quote outside the part it
keeps, and replacements contain no quote or backslash, so the text stays valid JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARKER = "[REDACTED:{kind}]"


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    group: str | int = 0  # the part of the match that is the secret


def _rule(kind: str, pattern: str, group: str | int = 0) -> _Rule:
    return _Rule(kind, re.compile(pattern), group)


# Specific token formats first; the generic "secret-named assignment" rules last.
_RULES: tuple[_Rule, ...] = (
    _rule("private-key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[^\"]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    _rule("anthropic-key", r"\bsk-ant-[A-Za-z0-9_-]{20,}"),
    _rule("openai-key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    _rule("xai-key", r"\bxai-[A-Za-z0-9]{20,}"),
    _rule("github-token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    _rule("slack-token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    _rule("slack-webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+"),
    _rule("aws-access-key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    _rule("google-api-key", r"\bAIza[0-9A-Za-z_-]{35}"),
    _rule("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    _rule("bearer-token", r"\bBearer (?P<secret>[A-Za-z0-9._~+/-]{16,}=*)", "secret"),
    _rule(
        "url-password",
        r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s\"\\]+:(?P<secret>[^@/\s\"\\]+)@",
        "secret",
    ),
    # KEY=value in environment style, e.g. `AWS_SECRET_ACCESS_KEY=wJalr…` or `DB_PASSWORD=…`.
    _rule(
        "secret-assignment",
        r"\b[A-Z][A-Z0-9_]*(?:SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|ACCESS_KEY)[A-Z0-9_]*"
        r"\s*[=:]\s*(?P<secret>[^\s\"'\\$]{8,})",
        "secret",
    ),
    # A quoted literal assigned to a secret-named identifier, e.g. `password = "…"` (quotes JSON-escaped or not).
    _rule(
        "secret-assignment",
        r"(?i)\b[\w-]*(?:secret|password|passwd|api[_-]?key|access[_-]?key|auth[_-]?token|access[_-]?token)[\w-]*"
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


def redact(text: str) -> str:
    """Replace every secret-looking value in `text` (plain text or JSON text) with a marker naming its kind."""
    if not may_hold_secret(text):
        return text
    return _redact_all(text)


def _redact_all(text: str) -> str:
    """The full path: every rule over the whole text."""
    for rule in _RULES:
        if rule.group == 0:
            text = rule.pattern.sub(MARKER.format(kind=rule.kind), text)
        else:
            text = rule.pattern.sub(lambda m, r=rule: _replace_group(m, r), text)
    return text


def _replace_group(match: re.Match[str], rule: _Rule) -> str:
    start, end = match.span(rule.group)
    whole_start = match.start()
    text = match.group(0)
    return text[: start - whole_start] + MARKER.format(kind=rule.kind) + text[end - whole_start :]


def contains_redaction(text: str) -> bool:
    return "[REDACTED:" in text
