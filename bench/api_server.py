"""The API as `wave serve` runs it without services, for the API suite: the app of `wave_api` under
uvicorn, over the store at STORE_URL, in a process of its own.

    python bench/api_server.py STORE_URL

Prints `listening PORT` when it accepts connections. One command on stdin, `append RATE COUNT TIMES
RUN,RUN,...`, appends COUNT events through the API's own store at RATE per second (as the services of
an embedded `wave serve` do), writes {position: time.monotonic() the append returned} to TIMES and
prints `appended`. Ends on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import uvicorn
from api_bench import append_at_rate
from wave_api import ApiConfig, create_app


async def commands(server: uvicorn.Server, app: object) -> None:
    loop = asyncio.get_running_loop()
    while not server.should_exit:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        verb, rate, count, times, runs = line.split()
        if verb != "append":
            print(f"unknown command {verb!r}", flush=True)
            continue
        store = app.state.api.store  # type: ignore[attr-defined]
        returned = await append_at_rate(store, runs.split(","), float(rate), int(count))
        await asyncio.to_thread(Path(times).write_text, json.dumps(returned))
        print("appended", flush=True)


async def main(store_url: str) -> None:
    app = create_app(ApiConfig(store_url=store_url, env={}))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(2048)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        if serving.done():
            await serving  # raises what stopped it
            return
        await asyncio.sleep(0.02)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, lambda: setattr(server, "should_exit", True))
    print(f"listening {listener.getsockname()[1]}", flush=True)
    asyncio.create_task(commands(server, app))
    await serving
    # The command reader's thread may still wait on stdin; the app has shut down already.
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
