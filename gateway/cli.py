"""`gateway serve | keys | simulate` (and later commands): the operator's command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Set before anything imports litellm or tiktoken: never fetch a price map or tokenizer at run time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _settings(args: argparse.Namespace | None = None) -> Any:
    from gateway.config import Settings

    overrides: dict[str, Any] = {}
    if args is not None:
        if getattr(args, "host", None):
            overrides["host"] = args.host
        if getattr(args, "port", None) is not None:
            overrides["port"] = args.port
        if getattr(args, "workers", None) is not None:
            overrides["workers"] = args.workers
    return Settings(**overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from gateway.api.protocol import GatewayHttpProtocol
    from gateway.app import create_app, master_key_for
    from gateway.providers.registry import plan_upstreams

    settings = _settings(args)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    master_key, created = master_key_for(settings)
    plan = plan_upstreams(settings, None)
    base = f"http://{settings.host}:{settings.port}"
    simulated = [
        name
        for name, (_, _, sim) in (("openai", plan.openai), ("anthropic", plan.anthropic), ("vllm", plan.vllm))
        if sim
    ]
    shown = (
        master_key
        if (created or args.show_key)
        else master_key[:16] + "… (in " + str(Path(settings.data_dir) / "master.key") + ")"
    )
    if settings.secret("master_key"):
        shown = "(from GATEWAY_MASTER_KEY)"
    print(f"LLM gateway on {base}", flush=True)
    print(f"  admin key: {shown}", flush=True)
    if simulated:
        print(
            f"  SIMULATED upstreams for: {', '.join(simulated)} (no provider key set; see README)", flush=True
        )
    print("  try:", flush=True)
    print(f"    curl -s {base}/v1/chat/completions -H 'Authorization: Bearer <admin key>' \\", flush=True)
    print("      -H 'Content-Type: application/json' \\", flush=True)
    print(
        '      -d \'{"model": "auto", "messages": [{"role": "user", "content": "Hello"}]}\'',
        flush=True,
    )
    # The server options both ways of serving share (one process, or several on one port).
    server_options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "loop": "uvloop",
        # uvicorn's httptools protocol, serving the per-call routes without the ASGI layer (see the module).
        "http": GatewayHttpProtocol,
        "access_log": False,
        "log_level": settings.log_level.lower(),
        "timeout_graceful_shutdown": int(settings.shutdown_grace_s),
        "server_header": False,
    }
    if settings.workers > 1:
        # Several processes on one port: every worker builds its own app from the same environment. Limits
        # and budgets hold across them only through Redis (REDIS_URL), as across replicas.
        if not settings.redis_url:
            print("  note: without REDIS_URL each worker counts limits on its own", flush=True)
        uvicorn.run("gateway.app:create_app", factory=True, workers=settings.workers, **server_options)
        return 0
    app = create_app(settings)
    config = uvicorn.Config(app, **server_options)
    state = app.state  # the FastLane exposes the FastAPI app's state

    class DrainingServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            state.draining = True  # /readyz answers 503 on connections still open while we drain
            super().handle_exit(sig, frame)

    DrainingServer(config).run()
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from gateway.simulate.config import SimConfig
    from gateway.simulate.server import run_simulator

    config = SimConfig(
        latency_ms=args.latency_ms,
        tokens_per_second=args.tokens_per_second,
        openai_api_key=args.openai_key,
        anthropic_api_key=args.anthropic_key,
        vllm_api_key=args.vllm_key,
    )
    print(
        f"SIMULATED upstream (OpenAI /openai/v1, Anthropic /anthropic, vLLM /vllm/v1) on "
        f"http://{args.host}:{args.port} — a test and demo tool, not a provider",
        flush=True,
    )
    run_simulator(args.host, args.port, config)
    return 0


async def _with_repo(fn: Any) -> Any:
    from gateway.app import master_key_for  # noqa: F401  (keeps the data dir layout in one place)
    from gateway.auth.keys import KeyRepository
    from gateway.storage.db import Database, start_embedded_postgres

    settings = _settings()
    url, server = settings.database_url, None
    if not url:
        url, server = start_embedded_postgres(Path(settings.data_dir))
    db = Database(url, min_size=1, max_size=2)
    await db.open()
    try:
        await db.migrate()
        return await fn(KeyRepository(db))
    finally:
        await db.close()
        if server is not None:
            server.cleanup()


def cmd_keys(args: argparse.Namespace) -> int:
    if args.keys_cmd == "create":
        from gateway.auth.keys import DEFAULT_SCOPES

        async def create(repo: Any) -> Any:
            return await repo.create(
                name=args.name,
                team=args.team,
                owner=args.owner,
                scopes=list(args.scope or DEFAULT_SCOPES),
                allowed_models=args.model or None,
                is_admin=args.admin,
                limits={},
                metadata={},
                expires_at=None,
                created_by="cli",
            )

        record, secret = asyncio.run(_with_repo(create))
        print(json.dumps({**record.public(), "key": secret}, indent=2))
        print("The key is shown once; only its hash is stored.", file=sys.stderr)
        return 0
    if args.keys_cmd == "list":
        records = asyncio.run(_with_repo(lambda repo: repo.list_keys(include_revoked=args.all)))
        print(f"{'id':<22} {'name':<20} {'team':<14} {'prefix':<12} {'scopes':<24} revoked")
        for r in records:
            print(
                f"{r.id:<22} {r.name[:20]:<20} {r.team[:14]:<14} {r.key_prefix:<12} "
                f"{','.join(r.scopes)[:24]:<24} {'yes' if r.revoked_at else ''}"
            )
        return 0
    if args.keys_cmd == "revoke":
        record = asyncio.run(_with_repo(lambda repo: repo.revoke(args.key_id)))
        if record is None:
            print(f"no key {args.key_id}", file=sys.stderr)
            return 1
        print(f"revoked {record.id}")
        return 0
    return 2


def cmd_ingest(args: argparse.Namespace) -> int:
    from gateway.cli_costs import local_master_key
    from gateway.cli_ingest import ingest_paths

    key = args.key or local_master_key()
    if not key:
        print("a key is needed: --key or GATEWAY_API_KEY", file=sys.stderr)
        return 2
    summary = ingest_paths(args.paths, base_url=args.url, api_key=key, vector_store=args.store)
    return 0 if summary.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description="Multi-provider LLM gateway")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, help="processes sharing the port (default 1; GATEWAY_WORKERS)")
    serve.add_argument("--show-key", action="store_true", help="print the whole admin key")
    serve.set_defaults(func=cmd_serve)

    sim = sub.add_parser("simulate", help="run the simulated upstream (OpenAI, Anthropic and vLLM formats)")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8090)
    sim.add_argument("--latency-ms", type=float, default=0.0, help="delay before the first byte")
    sim.add_argument("--tokens-per-second", type=float, default=0.0, help="stream pacing (0: no pacing)")
    sim.add_argument("--openai-key", help="key the OpenAI endpoints require (default: any)")
    sim.add_argument("--anthropic-key", help="key the Anthropic endpoint requires (default: any)")
    sim.add_argument("--vllm-key", help="key the vLLM endpoints require (default: any)")
    sim.set_defaults(func=cmd_simulate)

    keys = sub.add_parser("keys", help="create, list and revoke API keys")
    keys_sub = keys.add_subparsers(dest="keys_cmd", required=True)
    create = keys_sub.add_parser("create")
    create.add_argument("--name", required=True)
    create.add_argument("--team", default="default")
    create.add_argument("--owner")
    create.add_argument(
        "--scope", action="append", help="repeat for several (chat, embeddings, files, admin)"
    )
    create.add_argument("--model", action="append", help="allowed model; repeat; default: all")
    create.add_argument("--admin", action="store_true")
    lst = keys_sub.add_parser("list")
    lst.add_argument("--all", action="store_true", help="include revoked keys")
    revoke = keys_sub.add_parser("revoke")
    revoke.add_argument("key_id")
    keys.set_defaults(func=cmd_keys)

    ingest = sub.add_parser("ingest", help="upload files and folders into a vector store, with progress")
    ingest.add_argument("paths", nargs="+", help="files or folders (walked recursively)")
    ingest.add_argument("--store", help="vector store id (vs_…) or name (created if missing)")
    ingest.add_argument("--url", default=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8080"))
    ingest.add_argument("--key", default=os.environ.get("GATEWAY_API_KEY"), help="a key with the files scope")
    ingest.set_defaults(func=cmd_ingest)

    from gateway.cli_costs import add_costs_parser

    add_costs_parser(sub)

    from gateway.cli_policies import add_parser as add_policies_parser

    add_policies_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
