"""`python -m gateway.simulate`: serve the simulated upstream until interrupted."""

from __future__ import annotations

import argparse
import logging

from gateway.simulate.config import SimConfig
from gateway.simulate.server import run_simulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Simulated OpenAI / Anthropic / vLLM upstream (for tests and demos)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="time before the first byte")
    parser.add_argument("--tokens-per-second", type=float, default=0.0, help="stream pacing; 0 = no pacing")
    parser.add_argument("--completion-tokens", type=int, default=16, help="default reply length")
    parser.add_argument(
        "--openai-api-key", default=None, help="required Bearer key for /openai (default: any)"
    )
    parser.add_argument("--anthropic-api-key", default=None, help="required x-api-key for /anthropic")
    parser.add_argument("--vllm-api-key", default=None, help="required Bearer key for /vllm")
    parser.add_argument("--served-model", default=SimConfig().served_model, help="the model /vllm serves")
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = SimConfig(
        latency_ms=args.latency_ms,
        tokens_per_second=args.tokens_per_second,
        completion_tokens=args.completion_tokens,
        openai_api_key=args.openai_api_key,
        anthropic_api_key=args.anthropic_api_key,
        vllm_api_key=args.vllm_api_key,
        served_model=args.served_model,
    )
    run_simulator(args.host, args.port, config)


if __name__ == "__main__":
    main()
