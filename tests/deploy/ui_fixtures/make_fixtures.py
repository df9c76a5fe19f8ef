"""Record the pictures' fixtures from a running master.

Example (restaurant, with one task; apartment, scene and fleet only)::

    roboos up --scene restaurant --port 5055 --speed 0.2 &
    python tests/deploy/ui_fixtures/make_fixtures.py http://127.0.0.1:5055 restaurant \
        --task "bring the bread to table 1, put the milk in the fridge and put the juice on the bar counter"
    roboos up --scene apartment --port 5056 &
    python tests/deploy/ui_fixtures/make_fixtures.py http://127.0.0.1:5056 apartment

Writes ``<name>.json``: ``{"scene", "robots", "task", "events"}``, each the ``data`` of the master's
``GET /scene``, ``GET /robots``, ``GET /tasks/<id>`` and the events of ``GET /events?since=0``.
Only bulk the pictures never read is dropped (robots' skill schemas, subtask outcomes).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
TERMINAL = {"succeeded", "failed", "cancelled"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("master", help="the master's base URL")
    parser.add_argument("name", help="the fixture's name (the file is <name>.json here)")
    parser.add_argument("--task", help="publish this task and record it")
    args = parser.parse_args()
    with httpx.Client(base_url=args.master, timeout=30) as client:
        task = run_task(client, args.task) if args.task else None
        fixture = {
            "scene": client.get("/scene").json()["data"],
            "robots": [trim_robot(r) for r in client.get("/robots").json()["data"]],
            "task": task,
            "events": [trim_event(e) for e in read_events(client)],
        }
    (HERE / f"{args.name}.json").write_text(json.dumps(fixture, indent=1) + "\n")


def run_task(client: httpx.Client, text: str) -> dict:
    task_id = client.post("/publish_task", json={"task": text}).json()["task_id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        record = client.get(f"/tasks/{task_id}").json()["data"]
        if record["state"] in TERMINAL:
            return record
        time.sleep(0.2)
    raise SystemExit(f"task {task_id} did not finish in 60 s")


def read_events(client: httpx.Client) -> list[dict]:
    """Every retained event: the replay arrives at once, then the stream goes quiet."""
    events: list[dict] = []
    try:
        with client.stream("GET", "/events", params={"since": "0"}, timeout=httpx.Timeout(30, read=1.5)) as resp:
            for line in resp.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[len("data: "):]))
    except httpx.ReadTimeout:
        pass
    return events


def trim_robot(record: dict) -> dict:
    profile = {k: v for k, v in record["profile"].items() if k not in ("skills", "skill_endpoint")}
    return {**record, "profile": profile}


def trim_event(event: dict) -> dict:
    data = {k: v for k, v in event["data"].items() if k != "outcomes"}
    return {**event, "data": data}


if __name__ == "__main__":
    main()
