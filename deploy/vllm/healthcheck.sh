#!/usr/bin/env bash
# Exit 0 when vLLM is up and serves the model the gateway asks for; for cron, systemd or a load balancer.
#   VLLM_API_KEY=... deploy/vllm/healthcheck.sh [http://127.0.0.1:8000]
set -euo pipefail
BASE=${1:-http://127.0.0.1:${VLLM_PORT:-8000}}
SERVED_MODEL_NAME=${GATEWAY_VLLM_MODEL:-meta-llama/Llama-3.1-8B-Instruct}
# /health needs no key and answers 200 once the engine is up.
curl -fsS --max-time 5 "$BASE/health" >/dev/null
# /v1/models needs the key: this also proves the key and the served name match the gateway's settings.
models=$(curl -fsS --max-time 5 -H "Authorization: Bearer ${VLLM_API_KEY:?set VLLM_API_KEY}" "$BASE/v1/models")
if ! python3 -c 'import json, sys; sys.exit(sys.argv[1] not in {m["id"] for m in json.load(sys.stdin)["data"]})' \
    "$SERVED_MODEL_NAME" <<<"$models"; then
  echo "vLLM at $BASE does not serve $SERVED_MODEL_NAME (check --served-model-name)" >&2
  exit 1
fi
echo "vLLM at $BASE serves $SERVED_MODEL_NAME"
