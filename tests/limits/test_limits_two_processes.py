"""Two OS processes share one Redis: a burst of 500 calls against 100 requests/minute admits exactly 100."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

WORKER = Path(__file__).with_name("limits_burst_worker.py")
REPO = Path(__file__).resolve().parents[2]


def test_two_processes_admit_exactly_the_limit(redis_server):
    prefix = f"{{burst{uuid.uuid4().hex[:8]}}}:"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), redis_server.url, prefix, "250", "100"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            line = worker.stdout.readline().strip()
            assert line == "ready", (line, worker.stderr.read() if worker.stderr else "")
        for worker in workers:  # both are connected and waiting: release them together
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        summaries = []
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            summaries.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert [s["errors"] for s in summaries] == [0, 0]
    assert sum(s["admitted"] for s in summaries) == 100
    assert sum(s["refused"] for s in summaries) == 400
    # Both processes really took part in the race.
    assert all(s["admitted"] + s["refused"] == 250 for s in summaries)
