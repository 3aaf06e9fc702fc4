#!/usr/bin/env bash
# Launch vLLM's OpenAI-compatible server for the gateway's self-hosted target on a GPU host.
#   pip install -c constraints.txt -e ".[vllm]"   (or use the vllm/vllm-openai image)
#   VLLM_API_KEY=... HF_TOKEN=... deploy/vllm/serve.sh
# The gateway then needs VLLM_BASE_URL=http://<this host>:${VLLM_PORT}/v1 and the same VLLM_API_KEY.
set -euo pipefail

: "${VLLM_API_KEY:?set VLLM_API_KEY: the key the gateway sends (never run vLLM without one)}"
# The weights to load, and the name vLLM answers to: it must equal the gateway's GATEWAY_VLLM_MODEL.
MODEL=${VLLM_MODEL:-meta-llama/Llama-3.1-8B-Instruct}
SERVED_MODEL_NAME=${GATEWAY_VLLM_MODEL:-meta-llama/Llama-3.1-8B-Instruct}
# One GPU holds the 8B model in bf16 (~16 GB); set to the GPU count to shard larger models.
TENSOR_PARALLEL_SIZE=${VLLM_TENSOR_PARALLEL_SIZE:-1}
# Llama 3.1 supports 128k tokens; 32k leaves KV cache for many concurrent requests on a 24 GB GPU.
# Keep equal to the llama-3.1-8b target's context_window in router_policies/default.yaml.
MAX_MODEL_LEN=${VLLM_MAX_MODEL_LEN:-32768}
GPU_MEMORY_UTILIZATION=${VLLM_GPU_MEMORY_UTILIZATION:-0.90}
HOST=${VLLM_HOST:-0.0.0.0}
PORT=${VLLM_PORT:-8000}

# vLLM reads VLLM_API_KEY itself; passing it as --api-key would show it in `ps`.
export VLLM_API_KEY
exec python -m vllm.entrypoints.openai.api_server \
  --model "$MODEL" \
  --served-model-name "$SERVED_MODEL_NAME" \
  --tensor-parallel-size "$TENSOR_PARALLEL_SIZE" \
  --max-model-len "$MAX_MODEL_LEN" \
  --gpu-memory-utilization "$GPU_MEMORY_UTILIZATION" \
  --host "$HOST" \
  --port "$PORT" \
  "$@"
