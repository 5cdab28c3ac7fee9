"""Many Server-Sent Events clients in one process, for the API suite: each holds its own HTTP/1.1
connection to `GET /api/v1/stream` and notes, per event id (global position), the monotonic time the
bytes arrived. A process of its own, so the clients' parsing does not run in the server's event loop.

    python bench/sse_clients.py --host H --port P --token T --clients N --after POSITION --out FILE

Prints `connected N` once every stream has answered 200, then waits for one line on stdin:
`stop LAST TIMES` (TIMES: a JSON file {position: monotonic seconds the append returned}). When every
client has received LAST (or after a grace period) it writes each delivery's latency in milliseconds
to FILE (array('d') bytes) and prints one JSON line: clients, deliveries, missing, repeated, out of order,
its own CPU seconds.
`time.monotonic` is CLOCK_MONOTONIC, the same clock in every process of the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from array import array
from pathlib import Path

_ID = re.compile(rb"(?:^|\n)id: (\d+)\n")
GRACE_S = 20.0


class StreamClient(asyncio.Protocol):
    def __init__(self, request: bytes, connected: asyncio.Future[None]) -> None:
        self.request = request
        self.connected = connected
        self.head = b""
        self.body = b""
        self.positions = array("q")
        self.times = array("d")
        self.target = 0
        self.done = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if not self.connected.done():
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            status = self.head.split(b"\r\n", 1)[0]
            if b" 200 " not in status:
                self.connected.set_exception(RuntimeError(f"stream refused: {status.decode(errors='replace')}"))
                return
            self.connected.set_result(None)
            data = self.head[end + 4 :]
        # Frames end with a blank line; chunk-size lines of the chunked encoding sit between frames.
        self.body += data
        cut = self.body.rfind(b"\n\n")
        if cut < 0:
            return
        complete, self.body = self.body[: cut + 1], self.body[cut + 2 :]
        for found in _ID.finditer(complete):
            self.positions.append(int(found.group(1)))
            self.times.append(now)
        self._check_done()

    def _check_done(self) -> None:
        if self.target and self.positions and self.positions[-1] >= self.target and not self.done.done():
            self.done.set_result(None)

    def finish_at(self, target: int) -> None:
        self.target = target
        self._check_done()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.connected.done():
            self.connected.set_exception(ConnectionError(f"stream closed before answering: {exc}"))
        if not self.done.done():
            self.done.set_result(None)


async def main(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    request = (
        f"GET /api/v1/stream HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
        f"Authorization: Bearer {args.token}\r\nLast-Event-ID: {args.after}\r\n"
        "Accept: text/event-stream\r\n\r\n"
    ).encode()
    clients: list[StreamClient] = []
    for _ in range(args.clients):
        connected = loop.create_future()
        client = StreamClient(request, connected)
        await loop.create_connection(lambda c=client: c, args.host, args.port)
        clients.append(client)
    await asyncio.gather(*(c.connected for c in clients))
    print(f"connected {len(clients)}", flush=True)

    line = await loop.run_in_executor(None, sys.stdin.readline)
    _, last, times_path = line.split()
    appended = {int(k): v for k, v in json.loads(await asyncio.to_thread(Path(times_path).read_text)).items()}
    for client in clients:
        client.finish_at(int(last))
    await asyncio.wait([c.done for c in clients], timeout=GRACE_S)

    latencies = array("d")
    missing = repeated = disordered = 0
    for client in clients:
        seen: set[int] = set()
        previous = 0
        for position, at in zip(client.positions, client.times, strict=True):
            if position in seen:
                repeated += 1
                continue
            seen.add(position)
            disordered += position < previous
            previous = position
            if position in appended:
                latencies.append((at - appended[position]) * 1000)
        missing += len(appended.keys() - seen)
        if client.transport is not None:
            client.transport.close()
    await asyncio.to_thread(Path(args.out).write_bytes, latencies.tobytes())
    summary = {
        "clients": len(clients), "deliveries": len(latencies), "missing": missing,
        "repeated": repeated, "out_of_order": disordered, "cpu_s": time.process_time(),
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--after", type=int, default=0)
    parser.add_argument("--out", required=True)
    asyncio.run(main(parser.parse_args()))
