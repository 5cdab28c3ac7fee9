"""A local HTTP server that speaks enough of the Anthropic Messages API and the OpenAI chat completions API
for the official SDKs, pointed at it with `base_url`. It answers from a script of replies and keeps every
request it received, so tests can assert what a provider actually sent."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal

from local_http import LocalHTTPServer

Api = Literal["anthropic", "openai"]
PATHS: dict[str, Api] = {"/v1/messages": "anthropic", "/v1/chat/completions": "openai"}


@dataclass(frozen=True)
class Reply:
    status: int = 200
    text: str = "fake answer"
    input_tokens: int = 11
    output_tokens: int = 7
    model: str | None = None  # echo the requested model when None
    tool_calls: tuple[dict[str, Any], ...] = ()  # {"id", "name", "arguments": {...}}
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    error_message: str = "scripted failure"


@dataclass(frozen=True)
class Received:
    api: Api
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float


class FakeModelServer:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._script: dict[Api, deque[Reply]] = {"anthropic": deque(), "openai": deque()}
        self._lock = threading.Lock()
        self._answered = threading.Condition(self._lock)
        self.answers_sent = 0  # successful replies written to the wire, in full
        self._http = LocalHTTPServer(self._handler_class())

    @property
    def url(self) -> str:
        return self._http.url

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"

    def enqueue(self, api: Api, *replies: Reply) -> None:
        """Replies for the next requests of `api`, in order; once they run out, a default answer."""
        with self._lock:
            self._script[api].extend(replies)

    def received(self, api: Api) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.api == api]

    def wait_answered(self, count: int, timeout: float) -> bool:  # noqa: ASYNC109 - a thread's wait
        """Block until `count` successful replies were sent (a deterministic point to crash a client at)."""
        with self._answered:
            return self._answered.wait_for(lambda: self.answers_sent >= count, timeout)

    def start(self) -> FakeModelServer:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def _next(self, api: Api) -> Reply:
        with self._lock:
            return self._script[api].popleft() if self._script[api] else Reply()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                api = PATHS.get(self.path)
                if api is None:
                    self._send(404, {"error": {"message": f"no such path {self.path}"}}, {})
                    return
                body = json.loads(raw or b"{}")
                with server._lock:
                    server.requests.append(
                        Received(
                            api,
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.monotonic(),
                        )
                    )
                reply = server._next(api)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                document = _success(api, body, reply) if reply.status == 200 else _failure(api, reply)
                self._send(reply.status, document, reply.headers)
                if reply.status == 200:
                    with server._answered:
                        server.answers_sent += 1
                        server._answered.notify_all()

            def _send(self, status: int, document: dict[str, Any], headers: dict[str, str]) -> None:
                data = json.dumps(document).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        return Handler


def _success(api: Api, request: dict[str, Any], reply: Reply) -> dict[str, Any]:
    model = reply.model or request.get("model", "unknown")
    if api == "anthropic":
        content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
        content += [
            {"type": "tool_use", "id": c["id"], "name": c["name"], "input": c["arguments"]}
            for c in reply.tool_calls
        ]
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": "tool_use" if reply.tool_calls else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
        }
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
            }
            for c in reply.tool_calls
        ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if reply.tool_calls else "stop"}
        ],
        "usage": {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens,
            "total_tokens": reply.input_tokens + reply.output_tokens,
        },
    }


def _failure(api: Api, reply: Reply) -> dict[str, Any]:
    if api == "anthropic":
        return {"type": "error", "error": {"type": "api_error", "message": reply.error_message}}
    return {"error": {"message": reply.error_message, "type": "server_error", "code": None}}
