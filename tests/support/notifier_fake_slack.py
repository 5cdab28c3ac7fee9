"""A local HTTP server that speaks enough of Slack for the official slack_sdk clients pointed at it:
the Web API methods chat.postMessage, conversations.history (with message metadata) and
conversations.list under /api/, and incoming webhooks under /hooks/<name>.

It keeps every request it received and every message it accepted, checks the bot token like Slack
does, and can be told to answer the next calls with 429 (and a Retry-After header) or 500, so tests
can assert what Slack would have seen and how the client behaved."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local_http import LocalHTTPServer

DEFAULT_CHANNELS = {"C0UPDATES01": "wave-updates", "C0ALERTS001": "wave-alerts", "C0BUDGET001": "wave-budget"}


@dataclass(frozen=True)
class Received:
    method: str  # HTTP method
    path: str  # the API method ("chat.postMessage") or the hook path ("hooks/updates")
    headers: dict[str, str]
    body: dict[str, Any]  # JSON body, or the query/form parameters
    at: float  # time.monotonic() on arrival


@dataclass
class Message:
    channel: str  # channel id (Web API) or hook name (webhook)
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    metadata: dict[str, Any] | None = None


@dataclass
class _Failure:
    status: int
    remaining: int
    path: str | None
    retry_after: int | None
    after_effect: bool  # do the work, then answer with the failure (the answer was lost, not the request)
    channel: str | None  # only requests naming this channel (id or name, as sent)


@dataclass
class FakeSlack:
    token: str = "xoxb-test-token"
    channels: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CHANNELS))  # id -> name
    hooks: frozenset[str] = frozenset({"updates", "alerts", "budget", "all"})

    def __post_init__(self) -> None:
        self.requests: list[Received] = []
        self.messages: list[Message] = []
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        self._ts = int(time.time()) * 1_000_000
        self._http = LocalHTTPServer(_handler(self))

    # --- test controls -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._http.url

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def hook_url(self, name: str) -> str:
        return f"{self.url}/hooks/{name}"

    def start(self) -> FakeSlack:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def fail_next(
        self,
        count: int,
        status: int,
        *,
        path: str | None = None,
        channel: str | None = None,
        retry_after: int | None = None,
        after_effect: bool = False,
    ) -> None:
        """Answer the next `count` requests (to `path`, naming `channel`, when given) with `status`;
        with `after_effect`, carry each request out first, as if only Slack's answer was lost."""
        with self._lock:
            self._failures.append(_Failure(status, count, path, retry_after, after_effect, channel))

    def received(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def messages_in(self, channel: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.channel == channel]

    def channel_id(self, name: str) -> str:
        return next(cid for cid, cname in self.channels.items() if cname == name.lstrip("#"))

    # --- behaviour -----------------------------------------------------------------------------

    def _answer(self, request: Received) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append(request)
            failure = next((f for f in self._failures if f.remaining > 0 and _matches(f, request)), None)
            if failure is not None:
                failure.remaining -= 1
                if failure.after_effect:
                    self._serve(request)
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
                error = "ratelimited" if failure.status == 429 else "internal_error"
                return failure.status, headers, _json({"ok": False, "error": error})
            return self._serve(request)

    def _serve(self, request: Received) -> tuple[int, dict[str, str], bytes]:
        if request.path.startswith("hooks/"):
            return self._webhook(request)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return 200, {}, _json({"ok": False, "error": "invalid_auth"})
        method = {
            "chat.postMessage": self._post_message,
            "conversations.history": self._history,
            "conversations.list": self._list,
        }.get(request.path)
        if method is None:
            return 404, {}, _json({"ok": False, "error": "unknown_method"})
        return 200, {}, _json(method(request.body))

    def _next_ts(self) -> str:
        self._ts += 100
        return f"{self._ts // 1_000_000}.{self._ts % 1_000_000:06d}"

    def _resolve(self, channel: str) -> str | None:
        if channel in self.channels:
            return channel
        name = channel.lstrip("#")
        return next((cid for cid, cname in self.channels.items() if cname == name), None)

    def _post_message(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(str(body.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if not body.get("text") and not body.get("blocks"):
            return {"ok": False, "error": "no_text"}
        blocks = body.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        metadata = body.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        message = Message(channel, self._next_ts(), body.get("text", ""), blocks, metadata)
        self.messages.append(message)
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "message": _shown(message, with_metadata=True),
        }

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        if channel not in self.channels:  # like Slack: history wants a channel id, not a name
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(params.get("oldest") or 0)
        limit = int(params.get("limit") or 100)
        start = int(params.get("cursor") or 0)
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        found = [m for m in reversed(self.messages) if m.channel == channel and float(m.ts) > oldest]
        page = found[start : start + limit]
        more = start + limit < len(found)
        return {
            "ok": True,
            "messages": [_shown(m, with_metadata) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _list(self, params: dict[str, Any]) -> dict[str, Any]:
        channels = [{"id": cid, "name": name, "is_archived": False} for cid, name in self.channels.items()]
        return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}

    def _webhook(self, request: Received) -> tuple[int, dict[str, str], bytes]:
        name = request.path.removeprefix("hooks/")
        if name not in self.hooks:
            return 404, {}, b"no_service"
        if not request.body.get("text") and not request.body.get("blocks"):
            return 400, {}, b"no_text"
        self.messages.append(
            Message(name, self._next_ts(), request.body.get("text", ""), request.body.get("blocks") or [])
        )
        return 200, {}, b"ok"


def _matches(failure: _Failure, request: Received) -> bool:
    return failure.path in (None, request.path) and failure.channel in (None, request.body.get("channel"))


def _shown(message: Message, with_metadata: bool) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "type": "message",
        "ts": message.ts,
        "text": message.text,
        "blocks": message.blocks,
    }
    if with_metadata and message.metadata is not None:
        shown["metadata"] = message.metadata
    return shown


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def _handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            self._serve(self._query())

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            content_type = self.headers.get("Content-Type", "")
            if "json" in content_type:
                body = json.loads(raw or "{}")
            else:
                body = {k: v[-1] for k, v in parse_qs(raw).items()}
            self._serve({**self._query(), **body})

        def _query(self) -> dict[str, Any]:
            return {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}

        def _serve(self, body: dict[str, Any]) -> None:
            path = urlsplit(self.path).path.removeprefix("/").removeprefix("api/")
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, payload = fake._answer(
                Received(self.command, path, headers, body, time.monotonic())
            )
            self.send_response(status)
            is_json = payload.startswith(b"{")
            self.send_header("Content-Type", "application/json; charset=utf-8" if is_json else "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler
