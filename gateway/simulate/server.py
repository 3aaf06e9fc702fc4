"""The simulated upstream as an aiohttp app: build it, start it on a port, or run it until stopped."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiohttp import web

from gateway.simulate.config import SimConfig
from gateway.simulate.control import add_control_routes
from gateway.simulate.history import RecordedRequest
from gateway.simulate.provider_routes import add_provider_routes
from gateway.simulate.state import SIM_STATE, SimState
from gateway.simulate.tokens import TokenCounter

logger = logging.getLogger("gateway.simulate")

# Long enough for in-flight answers; held "timeout" requests are released by SimState.closing first.
_SHUTDOWN_TIMEOUT_S = 2.0


def build_sim_app(config: SimConfig | None = None, *, counter: TokenCounter | None = None) -> web.Application:
    """An aiohttp app serving /openai/v1, /anthropic/v1, /vllm/v1 and the /sim control API."""
    app = web.Application(client_max_size=32 * 1024 * 1024)
    app[SIM_STATE] = SimState(config or SimConfig(), counter)
    add_provider_routes(app)
    add_control_routes(app)
    app.on_response_prepare.append(_mark_simulated)
    app.on_shutdown.append(_release_held_requests)
    return app


async def _mark_simulated(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["x-simulated"] = "true"


async def _release_held_requests(app: web.Application) -> None:
    app[SIM_STATE].closing.set()


@dataclass
class SimServer:
    """A running simulator; `url` is its base, e.g. http://127.0.0.1:PORT."""

    url: str
    port: int
    app: web.Application
    runner: web.AppRunner

    @property
    def state(self) -> SimState:
        return self.app[SIM_STATE]

    @property
    def config(self) -> SimConfig:
        return self.state.config

    @property
    def requests(self) -> list[RecordedRequest]:
        """Recent received requests, oldest first, credentials redacted."""
        return self.state.history.items()

    async def close(self) -> None:
        self.state.closing.set()
        await self.runner.cleanup()
        logger.info("SIMULATED upstream at %s stopped", self.url)


async def start_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    config: SimConfig | None = None,
    *,
    counter: TokenCounter | None = None,
) -> SimServer:
    """Start the simulator in the running event loop; port 0 picks a free port."""
    app = build_sim_app(config, counter=counter)
    runner = web.AppRunner(
        app, access_log=None, handler_cancellation=True, shutdown_timeout=_SHUTDOWN_TIMEOUT_S
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = int(runner.addresses[0][1])
    url = f"http://{_url_host(host)}:{bound_port}"
    logger.info("SIMULATED upstream (not a real provider) listening at %s", url)
    return SimServer(url=url, port=bound_port, app=app, runner=runner)


def run_simulator(host: str = "127.0.0.1", port: int = 8090, config: SimConfig | None = None) -> None:
    """Serve the simulator until interrupted (for `gateway simulate`)."""
    app = build_sim_app(config)
    logger.info("SIMULATED upstream (not a real provider) starting at http://%s:%d", _url_host(host), port)
    web.run_app(
        app,
        host=host,
        port=port,
        access_log=None,
        handler_cancellation=True,
        shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
        print=None,
        loop=_fastest_event_loop(),
    )


def _fastest_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (it comes with uvicorn[standard]): about a third more requests per second."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
