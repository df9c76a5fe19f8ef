"""Load lines of the chaos bench: a burst of concurrent publishes, and many live event streams.

- ``publish N concurrent``: N ``POST /publish_task`` sent at once, each on its own connection;
  each task is already done when planned (a robot is where it is asked to go), so it succeeds at
  once with no subtask. Counts 5xx and transport errors, and the p99 latency.
- ``events N clients``: N ``GET /events`` streams held open while a task runs; counts 5xx and
  transport errors, and the clients that received no event.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from deploy.chaos_fleet import ChaosFleet

__all__ = ["LoadResult", "run_event_load", "run_publish_load"]

CONNECT_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 120.0


@dataclass
class LoadResult:
    name: str
    statuses: Counter[str] = field(default_factory=Counter)  # HTTP status, or the transport error's name
    latencies_ms: list[float] = field(default_factory=list)
    silent: int = 0  # event clients that received no event

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status.startswith("5"))

    @property
    def transport_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if not status.isdigit())

    @property
    def ok(self) -> bool:
        return self.server_errors == self.transport_errors == self.silent == 0

    def line(self) -> str:
        text = f"{self.name}: {self.server_errors} 5xx"
        if self.latencies_ms:
            ordered = sorted(self.latencies_ms)
            text += f", p99 {ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]:.0f} ms"
        if self.transport_errors:
            text += f", {self.transport_errors} transport errors"
        if self.silent:
            text += f", {self.silent} clients got no event"
        return text

    def detail(self) -> str:
        return f"{self.name}: statuses {dict(self.statuses)}"


def _noop_task(fleet: ChaosFleet) -> str:
    """A task that is done when planned: go where a robot already is."""
    for name, robot in sorted(fleet.robots().items()):
        room, _, n = str(robot["position"]).partition("_")
        if room in ("home", "hall") and n == name.removeprefix("r"):
            return f"go to {room} {n}"
    raise RuntimeError("no robot is in its lane: call fleet.tidy() first")


def run_publish_load(fleet: ChaosFleet, clients: int) -> LoadResult:
    return asyncio.run(_publish_burst(fleet.master_url, _noop_task(fleet), clients))


async def _publish_burst(url: str, text: str, clients: int) -> LoadResult:
    """``clients`` publishes at once, each on its own connection. A bare HTTP/1.1 client: httpx's
    pool costs the client more CPU per request than the master spends serving it, on a small box."""
    result = LoadResult(f"publish {clients} concurrent")
    parsed = httpx.URL(url)
    host, port = parsed.host, parsed.port or 80
    body = json.dumps({"task": text}).encode()
    request = (f"POST /publish_task HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    go = asyncio.Event()

    async def one() -> None:
        await go.wait()
        start = time.perf_counter()
        try:
            status = await asyncio.wait_for(_exchange(host, port, request), REQUEST_TIMEOUT_S)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as e:
            status = type(e).__name__
        result.statuses[status] += 1
        result.latencies_ms.append((time.perf_counter() - start) * 1000)

    sends = [asyncio.create_task(one()) for _ in range(clients)]
    await asyncio.sleep(0)
    go.set()
    await asyncio.gather(*sends)
    return result


async def _exchange(host: str, port: int, request: bytes) -> str:
    """Send ``request`` on a new connection; the response's status code once it is read whole."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        status_line = await reader.readline()
        await reader.read()  # Connection: close: the response ends with the connection
    finally:
        writer.close()
    parts = status_line.split()
    if len(parts) < 2 or not parts[1].isdigit():
        raise ValueError(f"not an HTTP response: {status_line[:80]!r}")
    return parts[1].decode()


def run_event_load(fleet: ChaosFleet, clients: int, hold_s: float = 3.0) -> LoadResult:
    return asyncio.run(_event_streams(fleet, clients, hold_s))


async def _event_streams(fleet: ChaosFleet, clients: int, hold_s: float) -> LoadResult:
    result = LoadResult(f"events {clients} clients")
    received = [0] * clients
    connected = [asyncio.Event() for _ in range(clients)]
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=clients + 8, max_keepalive_connections=0)
    timeout = httpx.Timeout(30.0, connect=CONNECT_TIMEOUT_S, pool=CONNECT_TIMEOUT_S)
    async with httpx.AsyncClient(base_url=fleet.master_url, limits=limits, timeout=timeout) as http:

        async def listen(i: int) -> None:
            try:
                async with http.stream("GET", "/events") as reply:
                    result.statuses[str(reply.status_code)] += 1
                    if reply.status_code != 200:
                        return
                    async for line in reply.aiter_lines():
                        if line.startswith(": connected"):
                            connected[i].set()
                        elif line.startswith("event: "):
                            received[i] += 1
                        if stop.is_set():
                            return
            except httpx.HTTPError as e:
                result.statuses[type(e).__name__] += 1
            finally:
                connected[i].set()  # connected, refused or failed: nobody waits for it any more

        listeners = [asyncio.create_task(listen(i)) for i in range(clients)]
        await asyncio.wait_for(asyncio.gather(*(c.wait() for c in connected)), CONNECT_TIMEOUT_S)
        task_id = (await asyncio.to_thread(fleet.publish, fleet.target("r1")))["task_id"]
        await asyncio.sleep(hold_s)
        await asyncio.to_thread(fleet.wait_task, task_id, fleet.settings.task_deadline_s)
        stop.set()
        await asyncio.sleep(0.5)  # the last events, then the listeners return at their next line
        for listener in listeners:
            listener.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
    opened = result.statuses.get("200", 0)
    result.silent = sum(1 for n in received if n == 0) - (clients - opened)
    return result
