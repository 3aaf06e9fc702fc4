"""The leanest Python hop: an aiohttp server that forwards each request to an upstream, untouched.

A reference for evals/bench_gateway.py: what one Python process in the middle costs on this machine
with nothing else to do (no auth, no parsing, no ledger), measured in the same run as the gateway.

    python -m evals.passthrough --port 8091 --upstream http://127.0.0.1:8090
"""

from __future__ import annotations

import argparse

import aiohttp
from aiohttp import web

_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


def build(upstream: str) -> web.Application:
    app = web.Application()

    async def start(app: web.Application) -> None:
        app["client"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def stop(app: web.Application) -> None:
        await app["client"].close()

    async def forward(request: web.Request) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        async with app["client"].post(
            upstream + request.path, data=await request.read(), headers=headers
        ) as up:
            reply = web.StreamResponse(status=up.status, headers={"content-type": up.headers["content-type"]})
            await reply.prepare(request)
            async for piece in up.content.iter_any():
                await reply.write(piece)
            await reply.write_eof()
            return reply

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_post("/{tail:.*}", forward)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    import uvloop

    uvloop.install()
    web.run_app(
        build(args.upstream.rstrip("/")), host="127.0.0.1", port=args.port, access_log=None, print=None
    )


if __name__ == "__main__":
    main()
