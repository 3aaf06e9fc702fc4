#!/usr/bin/env bash
# Install (first run) and start the gateway on 127.0.0.1:8080 with the embedded PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh
export LITELLM_LOCAL_MODEL_COST_MAP=True HF_HUB_OFFLINE=1
exec .venv/bin/gateway serve "$@"
