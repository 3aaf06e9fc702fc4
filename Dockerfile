# The LLM gateway image. Build:  docker build -t llm-gateway:0.1.0 .
# Two stages: the builder installs into /opt/venv in the order of scripts/install.sh; the final stage
# copies only that venv and /app (the code it runs from) onto a slim base, as an unprivileged user.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv && python -m pip install "pip==26.3"
WORKDIR /app
COPY constraints.txt ./
COPY requirements/ requirements/
# The CPU build of PyTorch first (from PyTorch's CPU index, for torch only), or sentence-transformers
# pulls a multi-GB CUDA build. The version comes from constraints.txt so the two never disagree.
RUN python -m pip install --index-url https://download.pytorch.org/whl/cpu \
      "$(grep -E '^torch==' constraints.txt)"
# litellm only from the exact wheel whose hash is pinned (a compromised release exists).
RUN python -m pip install --no-deps --require-hashes -r requirements/litellm-hashes.txt
# Then the package and its pinned dependencies, editable as in scripts/install.sh: the code runs from
# /app, so data files next to it (classifier lexicons, migrations, policies) ship without a package list.
COPY pyproject.toml README.md* ./
COPY gateway/ gateway/
COPY rag/ rag/
# The policy seeded into an empty database (GATEWAY_POLICY_FILE below).
COPY router_policies/ router_policies/
RUN python -m pip install -c constraints.txt -e . \
 && python -m pip check

FROM ${PYTHON_IMAGE} AS runtime
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8080 \
    GATEWAY_DATA_DIR=/var/lib/gateway \
    GATEWAY_POLICY_FILE=/app/router_policies/default.yaml
RUN groupadd --system --gid 10001 gateway \
 && useradd --system --uid 10001 --gid gateway --home-dir /var/lib/gateway --shell /usr/sbin/nologin gateway \
 && install -d -o gateway -g gateway -m 0750 /var/lib/gateway
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app
WORKDIR /app
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# Export the bundled embedding model to ONNX at build time, so a start never runs torch.onnx.export
# and the data directory can stay read-only in Kubernetes.
RUN python -c "from rag.embedding import build_embedder; build_embedder('onnx-int8', cache_dir='/var/lib/gateway/models')"
EXPOSE 8080
# uvicorn treats SIGTERM as "stop accepting, finish in-flight work up to GATEWAY_SHUTDOWN_GRACE_S".
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('GATEWAY_PORT', '8080'), timeout=2)"]
CMD ["gateway", "serve"]
