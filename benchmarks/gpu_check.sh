#!/usr/bin/env bash
# GPU checks (needs a CUDA GPU and the gpu extra: CUDA vLLM): prints generation throughput of
# dapo-bench against raw vLLM, the in-place weight load of a kept engine against a fresh one,
# and one bf16 critic and one bf16 policy step.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHONUNBUFFERED=1 python3 benchmarks/gpu_check.py
