"""The health server over real sockets: what a Kubernetes probe and a Prometheus scrape get, from the
pod's own address as well as from loopback, and what a client that speaks bad HTTP gets."""

from __future__ import annotations

import asyncio
import socket
import urllib.error
import urllib.request

import pytest
from wave_runtime.metrics import EVENTS_HANDLED, HealthServer
from wave_runtime.process import ALL_INTERFACES, LOOPBACK


def _get(host: str, port: int, path: str, method: str = "GET") -> tuple[int, str, str]:
    request = urllib.request.Request(f"http://{host}:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection((LOOPBACK, port), timeout=5) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(4096):
            answer += chunk
    return answer


def _own_address() -> str:
    """This machine's address on its network (not loopback): where a probe from outside arrives."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # UDP connect sends nothing; it only picks the outgoing address
        address = probe.getsockname()[0]
    assert not address.startswith("127."), "the test needs a network interface besides loopback"
    return address


@pytest.fixture
async def serving():
    ready = {"now": False}
    server = HealthServer(0, lambda: ready["now"], ALL_INTERFACES)
    await server.start()
    try:
        yield server, ready
    finally:
        await server.stop()


async def test_probes_and_scrapes_are_answered_on_every_interface(serving) -> None:
    server, ready = serving
    EVENTS_HANDLED.labels("health-test", "RunRequested", "handled").inc()
    for host in (LOOPBACK, _own_address()):
        assert await asyncio.to_thread(_get, host, server.port, "/healthz") == (200, "text/plain", "ok\n")
        ready["now"] = False
        assert await asyncio.to_thread(_get, host, server.port, "/readyz") == (503, "text/plain", "not ready\n")
        ready["now"] = True
        assert await asyncio.to_thread(_get, host, server.port, "/readyz") == (200, "text/plain", "ready\n")
        status, kind, body = await asyncio.to_thread(_get, host, server.port, "/metrics")
        assert status == 200 and kind.startswith("text/plain; version=")  # the exposition format
        assert 'wave_events_handled_total{event_type="RunRequested",outcome="handled",service="health-test"} 1.0' in body
        assert (await asyncio.to_thread(_get, host, server.port, "/nothing"))[0] == 404


async def test_a_loopback_server_is_not_reachable_from_outside() -> None:
    server = HealthServer(0, lambda: True, LOOPBACK)
    await server.start()
    try:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((_own_address(), server.port), timeout=5).close()
    finally:
        await server.stop()


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",  # no method, path and version
        b"GET /healthz HTTP/1.1 extra words\r\n\r\n",
        b"GET /healthz HTTP/one\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  # a TLS hello sent to plain HTTP
        b"GET /healthz HTTP/1.1\r\n" + b"X-Long: " + b"a" * 70_000 + b"\r\n\r\n",
    ],
)
async def test_a_malformed_request_gets_a_4xx_and_the_server_goes_on(serving, request_bytes: bytes) -> None:
    server, _ = serving
    answer = await asyncio.to_thread(_raw, server.port, request_bytes)
    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 500, answer[:200]
    assert await asyncio.to_thread(_get, LOOPBACK, server.port, "/healthz") == (200, "text/plain", "ok\n")


async def test_only_get_is_served(serving) -> None:
    server, _ = serving
    assert (await asyncio.to_thread(_get, LOOPBACK, server.port, "/healthz", "POST"))[0] == 405


async def test_a_stopped_server_frees_its_port(serving) -> None:
    server, _ = serving
    await server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((LOOPBACK, server.port), timeout=5).close()
