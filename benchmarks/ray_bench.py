"""Generation throughput of the rollout stage: one process, 1 Ray worker, 2 Ray workers.

    python benchmarks/ray_bench.py [--problems 96] [--backend hf|vllm]

Runs the toy's rollouts stage (every sample graded by the worker that drew it) three times
from scratch on the same problems and seeds, and prints samples/s and generated tokens/s side
by side; the samples are identical in the three runs (checked). On a 2-core machine two
workers share the cores, so the figure shows the sharding's overhead more than its gain; on a
GPU node each worker owns its GPUs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def run(root: Path, problems: int, backend: str, distributed: dict) -> tuple[float, list]:
    from dapo_bench.config import Recipe
    from dapo_bench.generation import engines
    from dapo_bench.pipeline.chain import run_stage
    from dapo_bench.pipeline.context import StageContext
    from dapo_bench.pipeline.runner import RunDir, read_items

    recipe = Recipe.model_validate({
        "name": "ray-bench", "base_model": "builtin:toy-base",
        "train_benchmark": "toy_arith_train", "template": "toy", "backend": backend,
        "dtype": "float32", "rollout": {"n_samples": 8, "n_select": 4, "max_new_tokens": 96,
                                        "limit_problems": problems, "chunk_size": 16},
        "distributed": distributed})
    run_dir = RunDir(root)
    run_dir.bind_recipe(recipe)
    ctx = StageContext(run_dir, recipe, 1, progress=False)
    start = time.perf_counter()
    try:
        run_stage(ctx, "rollouts")
    finally:
        ctx.close()
        engines.close_kept()  # each run starts and closes its own engines
    return time.perf_counter() - start, read_items(run_dir.stage_dir(1, "rollouts"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=96)
    parser.add_argument("--backend", default="hf")
    args = parser.parse_args()
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    tmp = Path(tempfile.mkdtemp(prefix="ray-bench-"))
    rows, reference = [], None
    for label, distributed in (("one process", {"engine": "local"}),
                               ("ray, 1 worker", {"engine": "ray", "workers": 1}),
                               ("ray, 2 workers", {"engine": "ray", "workers": 2})):
        seconds, items = run(tmp / label.replace(" ", "_").replace(",", ""), args.problems,
                             args.backend, distributed)
        texts = [s["text"] for r in items for s in r["samples"]]
        reference = reference or texts
        same = texts == reference
        rows.append((label, seconds, len(texts), same))
    print(f"{'run':<16}{'wall s':>9}{'samples/s':>12}  same samples")
    for label, seconds, n, same in rows:
        print(f"{label:<16}{seconds:>9.1f}{n / seconds:>12.1f}  {same}")
    ray.shutdown()


if __name__ == "__main__":
    main()
