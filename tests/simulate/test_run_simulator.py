"""`python -m gateway.simulate` (run_simulator) serves until it is signalled to stop."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys

import aiohttp


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_cli_serves_all_three_providers_and_stops_on_sigint() -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "gateway.simulate", "--port", str(port), "--openai-api-key", "sk-cli"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(base + "/vllm/health") as response:
                        assert response.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the simulator did not start")
            body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
            headers = {"Authorization": "Bearer sk-cli"}
            async with http.post(
                base + "/openai/v1/chat/completions", json=body, headers=headers
            ) as response:
                assert response.status == 200
                assert response.headers["x-simulated"] == "true"
            async with http.post(base + "/openai/v1/chat/completions", json=body) as response:
                assert response.status == 401
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = await asyncio.wait_for(process.communicate(), timeout=15)
        except TimeoutError:
            process.kill()  # never leave a server behind
            await process.wait()
            raise
    assert process.returncode == 0
    assert b"SIMULATED upstream (not a real provider) starting" in output
