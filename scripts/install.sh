#!/usr/bin/env bash
# Installs dapo-bench and everything its tests need on a fresh Debian machine without a GPU.
# torch comes first, pinned to the CPU wheel, so that nothing later pulls a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PIP="python3 -m pip"
if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null
  else
    echo "warning: bubblewrap (bwrap) is missing; install it for the strongest code sandbox" >&2
  fi
fi
$PIP install -q 'torch==2.13.0'
# vLLM for the CPU: it needs the +cpu torch build, which pip finds on the local index.
# interop: lm-eval and Math-Verify (they leave torch and transformers as they are); evalplus
# and LiveCodeBench's grader (nvidia-livecodebench, --no-deps) get their own environments when
# first used, under the cache directory. ray: the local Ray cluster the distributed-generation
# tests start. docs: mkdocs, which tests/test_docs.py runs.
$PIP install -q 'torch==2.13.0+cpu' -e '.[dev,cpu,interop,ray,docs]'
# pip pulls CUDA builds of these with vLLM; they break transformers imports and are not needed.
$PIP uninstall -y -q torchvision torchaudio torchcodec triton 2>/dev/null || true
python3 -c "import dapo_bench, torch; assert torch.__version__.endswith('+cpu'), torch.__version__; print('dapo-bench installed; torch', torch.__version__)"
