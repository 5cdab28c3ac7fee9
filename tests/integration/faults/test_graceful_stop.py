"""What an operator sees of a service process: /healthz, /readyz and /metrics while it works, and a
SIGTERM (as Kubernetes sends) that finishes, commits and leaves the consumer group — so its successor
takes over at once and handles nothing twice."""

from __future__ import annotations

import asyncio
import socket
import time
import urllib.error
import urllib.request

import pytest
from fault_flow import MIDDLE, SERVICE_A, feed, wait_for_count
from fault_procs import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


async def _answer(port: int, path: str, status: int, timeout: float = 60) -> str:
    async def answered():
        code, body = await asyncio.to_thread(_get, port, path)
        return body if code == status else None

    return await until(answered, timeout, interval=0.2)


async def test_health_metrics_and_a_graceful_stop(deployment, store, figures):
    pool = store.pool
    port = _free_port()
    deployment.relay().start()
    a = deployment.service("fault_flow:create_a", health_port=port).start()

    assert await _answer(port, "/healthz", 200) == "ok\n"
    assert await _answer(port, "/readyz", 200) == "ready\n"
    first = await feed(store, 20, seconds=0.5)
    await wait_for_count(pool, MIDDLE, len(first), timeout=60)
    metrics = await _answer(port, "/metrics", 200)
    handled = [line for line in metrics.splitlines() if line.startswith("wave_events_handled_total{") and SERVICE_A in line]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in handled) == len(first)
    lags = [line for line in metrics.splitlines() if line.startswith("wave_consumer_lag{") and SERVICE_A in line]
    assert lags and all('partition="' in line and 'topic="' in line for line in lags)  # one series per partition
    assert (await asyncio.to_thread(_get, port, "/nothing"))[0] == 404

    stopped_at = time.monotonic()
    await asyncio.to_thread(a.stop, 20.0)
    stop_s = time.monotonic() - stopped_at
    assert a.proc.returncode == 0, a.tail()  # stopped by SIGTERM, not killed
    assert (await asyncio.to_thread(_get, port, "/healthz"))[0] == 0  # the endpoint went with it

    restarted_at = time.monotonic()
    deployment.service("fault_flow:create_a", name="faulta-next").start()
    second = await feed(store, 5, seconds=0.1)
    await wait_for_count(pool, MIDDLE, len(first) + len(second), timeout=60)
    takeover_s = time.monotonic() - restarted_at
    reruns = await pool.fetchval(
        "SELECT count(*) - count(DISTINCT cause_id) FROM fault_invocations WHERE service = $1", SERVICE_A
    )
    figures.report(inputs=len(first) + len(second), stop_s=stop_s, takeover_s=takeover_s, handler_reruns=reruns)
    assert reruns == 0  # offsets were committed on the way out: nothing was delivered again
    assert takeover_s < 8  # the old member left the group: no wait for its 10 s session timeout
