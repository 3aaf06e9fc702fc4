#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs, lints, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh
# shellcheck disable=SC1091
. .venv/bin/activate
export LITELLM_LOCAL_MODEL_COST_MAP=True HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# A real Redis server for the limiter tests (Debian's package).
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "redis-server missing: install Debian's redis-server package" >&2
  fi
fi
ruff check .
python -m pytest -q -p no:cacheprovider "$@"
