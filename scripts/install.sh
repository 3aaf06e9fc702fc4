#!/usr/bin/env bash
# Install everything into ./.venv (idempotent; re-runs only when the pins change).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
stamp=".venv/.installed-$(cat pyproject.toml constraints.txt requirements/litellm-hashes.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "installing into .venv (first run takes a few minutes)…" >&2
  python -m pip install -q --upgrade pip
  # The CPU build of PyTorch first, or sentence-transformers pulls a multi-GB CUDA build.
  python -m pip install -q "torch==2.13.0"
  # litellm only from the exact wheel whose hash is pinned (see README, "Verifying litellm").
  python -m pip install -q --no-deps --require-hashes -r requirements/litellm-hashes.txt
  python -m pip install -q -c constraints.txt -e ".[dev]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
