"""Generation throughput of each backend on the same model and prompts, and where the wall
time of an eval run goes.

    python benchmarks/gen_bench.py [--model DIR] [--prompts 64] [--max-new-tokens 128]

Without ``--model`` it builds the tiny test checkpoint (``dapo_bench.testing``). Prints, per
backend: engine start-up, greedy tokens/s and sampled (n=8, T=1) tokens/s; then runs
``dapo-bench eval``'s engine on gsm8k and math (the test fixtures, or ``--eval-data`` with
``--eval-limit``) and prints the share of its wall time spent outside generation and grading
(target: under 5%), split into model start/stop and the harness itself.

On a CPU shared with other jobs, ``--threads 1`` keeps OpenMP threads from spinning against
them (measured here: HF greedy 43 tok/s with 2 threads at load average 8, 738 with 1).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "data"


def prompts_from_fixtures(count: int) -> list[str]:
    from dapo_bench.data.registry import load_benchmark
    from dapo_bench.data.templates import get_template

    template = get_template("qwen-cot")
    questions = [p.question for b in ("gsm8k", "math")
                 for p in load_benchmark(b, data_dir=FIXTURES)]
    return [template.format(questions[i % len(questions)]) for i in range(count)]


def bench_backend(backend: str, model: str, prompts: list[str], max_new: int, dtype: str
                  ) -> dict[str, float]:
    from dapo_bench.generation import SamplingParams, make_generator

    t0 = time.perf_counter()
    gen = make_generator(model, backend=backend, dtype=dtype, seed=0,
                         **({"kv_cache_gb": 1.0} if backend == "vllm" else {"batch_size": 32}))
    figures = {"startup_s": time.perf_counter() - t0}
    try:
        gen.generate(prompts[:2], SamplingParams(max_new_tokens=4))  # warm-up
        # the same number of sequences both ways: sampled takes 1/8 of the prompts, n=8 each
        for label, batch, params in (
                ("greedy", prompts, SamplingParams(max_new_tokens=max_new)),
                ("sampled_n8", prompts[:max(1, len(prompts) // 8)],
                 SamplingParams(n=8, temperature=1.0, max_new_tokens=max_new))):
            t0 = time.perf_counter()
            out = gen.generate(batch, params)
            seconds = time.perf_counter() - t0
            tokens = sum(c.num_tokens for group in out for c in group)
            figures[f"{label}_tok_s"] = tokens / seconds
            figures[f"{label}_tokens"] = tokens
    finally:
        gen.close()
    return figures


def bench_eval(backend: str, model: str, max_new: int, data: Path, limit: int | None
               ) -> tuple[dict[str, float], int]:
    from dapo_bench.evaluate import EvalSettings, run_eval

    with tempfile.TemporaryDirectory() as out:
        settings = EvalSettings(model=model, out=Path(out), benchmarks=["gsm8k", "math"],
                                backend=backend, max_new_tokens=max_new, data_dir=data,
                                limit=limit, progress=False, dtype="float32")
        report = run_eval(settings, say=lambda line: None)
    return report.timings, sum(o.result.n or 0 for o in report.outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="checkpoint (default: the tiny model)")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--backends", default="hf,vllm")
    parser.add_argument("--eval-data", type=Path, default=FIXTURES,
                        help="data dir of the eval run (default: the test fixtures)")
    parser.add_argument("--eval-limit", type=int, default=None,
                        help="problems per benchmark in the eval run")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads of each backend (HF: torch threads; vLLM: cores its "
                             "worker binds to); default: all cores")
    parser.add_argument("--skip-eval", action="store_true", help="throughput only")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
        os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", f"0-{args.threads - 1}")

    from dapo_bench.generation import vllm_importable
    from dapo_bench.testing import cached_tiny_qwen2

    model = args.model or str(cached_tiny_qwen2())
    prompts = prompts_from_fixtures(args.prompts)
    backends = [b for b in args.backends.split(",") if b]
    if "vllm" in backends and not vllm_importable()[0]:
        print("vllm: not importable here, skipped")
        backends.remove("vllm")
    print(f"model {model}; {len(prompts)} prompts; {args.max_new_tokens} new tokens; "
          f"dtype {args.dtype}; {os.cpu_count()} CPUs; 1-min load average before the run "
          f"{os.getloadavg()[0]:.1f}")
    results = {}
    for backend in backends:
        results[backend] = f = bench_backend(backend, model, prompts, args.max_new_tokens,
                                             args.dtype)
        print(f"{backend:5s} startup {f['startup_s']:6.1f} s | greedy "
              f"{f['greedy_tok_s']:8,.0f} tok/s | sampled n=8 {f['sampled_n8_tok_s']:8,.0f} "
              f"tok/s", flush=True)
    if "hf" in results and "vllm" in results:
        v, h = results["vllm"], results["hf"]
        print(f"vllm/hf: greedy {v['greedy_tok_s'] / h['greedy_tok_s']:.1f}x, "
              f"sampled {v['sampled_n8_tok_s'] / h['sampled_n8_tok_s']:.1f}x")

    for backend in [] if args.skip_eval else backends:
        t, n = bench_eval(backend, model, args.max_new_tokens, args.eval_data, args.eval_limit)
        model_s = t["load_model"] + t["close_model"]
        print(f"eval ({backend}, gsm8k+math, {n} prompts): wall {t['total']:.1f} s = "
              f"generation {t['generate']:.1f} + grading {t['grade']:.1f} + model start/stop "
              f"{model_s:.1f} + harness {t['other']:.2f}; outside generation and grading: "
              f"{100 * (model_s + t['other']) / t['total']:.1f}% (harness alone "
              f"{100 * t['other'] / t['total']:.1f}%)", flush=True)


if __name__ == "__main__":  # vLLM spawns worker processes: the guard is required
    sys.exit(main())
