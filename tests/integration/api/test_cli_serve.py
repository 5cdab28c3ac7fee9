"""`wave token` and `wave serve` as a user types them."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request

import pytest
from cli_process import WAVE, wave


def test_tokens_are_made_listed_and_revoked_and_shown_once(tmp_path):
    made = wave(tmp_path, "token", "create", "--role", "approver", "--name", "ana")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("wave_") and len(secret) > 40
    assert "shown this once" in made.stderr
    listed = wave(tmp_path, "token", "list", "--json")
    assert json.loads(listed.stdout)[0] | {"created_at": None} == {"name": "ana", "role": "approver", "created_at": None}
    assert secret not in listed.stdout
    assert secret not in (tmp_path / "wave.db").read_bytes().decode("latin-1")
    again = wave(tmp_path, "token", "create", "--role", "viewer", "--name", "ana")
    assert again.returncode == 1 and "exists already" in again.stderr
    bad = wave(tmp_path, "token", "create", "--role", "owner", "--name", "x")
    assert bad.returncode == 2 and "owner" in bad.stderr
    assert wave(tmp_path, "token", "revoke", "ana").returncode == 0
    assert json.loads(wave(tmp_path, "token", "list", "--json").stdout) == []
    gone = wave(tmp_path, "token", "revoke", "ana")
    assert gone.returncode == 1 and "no live token named 'ana'" in gone.stderr


@pytest.mark.timeout(90)
def test_wave_serve_prints_its_url_and_answers_with_the_tokens_the_cli_made(tmp_path):
    secret = wave(tmp_path, "token", "create", "--role", "viewer", "--name", "ana").stdout.strip()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WAVE_")}
    environment.update(WAVE_HOME=str(tmp_path), COLUMNS="200", PYTHONUNBUFFERED="1")
    server = subprocess.Popen([*WAVE, "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=environment)
    try:
        line = server.stdout.readline()
        assert "WAVE API on http://127.0.0.1:" in line, line + server.stderr.read() if server.poll() is not None else line
        base = line.split(" on ", 1)[1].split("/api/v1", 1)[0]
        assert "embedded: the API and every service" in line
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=5) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        request = urllib.request.Request(f"{base}/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read()) == {"name": "ana", "role": "viewer"}
    finally:
        server.terminate()
        server.wait(timeout=30)


async def test_connections_to_wave_serve_send_small_answers_at_once():
    """A socket made without naming TCP is not given TCP_NODELAY by asyncio: every answer written in
    two parts (headers, then body) would then wait for the client's delayed ACK, some 40 ms."""
    import asyncio
    import socket

    from wave_cli.commands.serve import _listen

    listener = _listen("127.0.0.1", 0)
    loop = asyncio.get_running_loop()
    accepted: asyncio.Future[asyncio.BaseTransport] = loop.create_future()

    class Accept(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted.set_result(transport)

    server = await loop.create_server(Accept, sock=listener)  # what uvicorn does with the socket
    try:
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        transport = await asyncio.wait_for(accepted, 10)
        connection = transport.get_extra_info("socket")
        assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        writer.close()
        transport.close()
    finally:
        server.close()
        await server.wait_closed()
