"""JSON over HTTP for the git host adapters (stdlib only), with the credential kept out of every message."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .hosting import HostError, HostRefusedError

TIMEOUT_S = 30.0
_MESSAGE_LIMIT = 300  # characters of a host's error text kept in an error


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # the decoded JSON, or None for an empty body


class HostClient:
    """Calls `base_url` + path with `Authorization: <scheme> <token>`. Status 5xx, 429 and unreachable
    hosts raise `HostError` (worth a retry); other 4xx raise `HostRefusedError`, except the statuses a
    caller says it expects (`ok=`), which are returned."""

    def __init__(self, base_url: str, token: str, scheme: str, headers: dict[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._scheme = scheme
        self._headers = headers or {}

    def call(self, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = ()) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        for name, value in self._headers.items():
            request.add_header(name, value)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self._token:
            request.add_header("Authorization", f"{self._scheme} {self._token}")
        where = f"{method} {self.base_url}{path}"
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - the configured host's API
                return Answer(response.status, _decode(response.read()))
        except urllib.error.HTTPError as exc:
            payload = _decode(exc.read())
            if exc.code in ok:
                return Answer(exc.code, payload)
            text = self.scrub(_message(payload) or exc.reason or "")
            if exc.code >= 500 or exc.code == 429:
                raise HostError(f"{where}: the host answered {exc.code} {text}".rstrip()) from None
            raise HostRefusedError(f"{where}: the host answered {exc.code} {text}".rstrip(), exc.code) from None
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise HostError(f"{where}: the host cannot be reached ({self.scrub(str(reason))})") from None

    def scrub(self, text: str) -> str:
        """`text` with the credential replaced, wherever a host or a library echoed it."""
        return text.replace(self._token, "***") if self._token else text


def segment(value: str) -> str:
    """A value (a branch name with slashes) as one URL path segment."""
    return quote(value, safe="")


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")[:_MESSAGE_LIMIT]


def _message(payload: Any) -> str:
    if isinstance(payload, dict):
        text = str(payload.get("message") or payload.get("error") or "")
        errors = payload.get("errors")
        if isinstance(errors, list) and errors:
            text += " " + "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors[:3])
        return text.strip()[:_MESSAGE_LIMIT]
    return str(payload or "")[:_MESSAGE_LIMIT]
