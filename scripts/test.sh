#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs, lints, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh
# shellcheck disable=SC1091
. .venv/bin/activate
export LITELLM_LOCAL_MODEL_COST_MAP=True HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# Real servers and tools the tests drive (Debian packages), installed when missing.
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
[ -x /usr/bin/chromium ] || need+=(chromium)   # the console's browser tests (Playwright drives it)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing ${need[*]}…" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "missing Debian packages: ${need[*]} (their tests will skip)" >&2
  fi
fi
ruff check .
mypy gateway rag
python -m pytest -q -p no:cacheprovider "$@"
