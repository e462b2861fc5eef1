"""The stages on a real local Ray cluster and under a real `accelerate launch` with two ranks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dapo_bench.config import Recipe
from dapo_bench.pipeline.chain import run_stage
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.runner import RunDir, read_items
from dapo_bench.testing import output_agreement

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'dapo-bench[ray]')")

GENERATION = ("rollouts", "states", "mc")
RECIPE = {
    "name": "dist-smoke", "base_model": "builtin:toy-base", "train_benchmark": "toy_arith_train",
    "template": "toy", "backend": "hf", "dtype": "float32", "seed": 0,
    "rollout": {"n_samples": 4, "n_select": 4, "max_new_tokens": 64, "limit_problems": 24,
                "chunk_size": 6},
    "mc": {"n_completions": 4, "max_new_tokens": 64, "chunk_size": 16},
    "critic": {"lr": 3.0e-4, "batch_size": 8, "micro_batch_size": 8, "epochs": 3,
               "max_length": 256},
    "advantages": {"gap_threshold": 0.05},
    "policy": {"beta": 0.1, "lr": 3.0e-4, "states_per_batch": 8, "micro_states": 8,
               "epochs": 3, "max_length": 256},
}


@pytest.fixture(scope="module")
def cluster() -> object:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _run(root: Path, distributed: dict[str, object], stages: tuple[str, ...] = GENERATION
         ) -> RunDir:
    recipe = Recipe.model_validate({**RECIPE, "distributed": distributed})
    run = RunDir(root)
    run.bind_recipe(recipe)
    ctx = StageContext(run, recipe, 1, progress=False)
    try:
        for stage in stages:
            run_stage(ctx, stage)
    finally:
        ctx.close()
    return run


def _items(run: RunDir, stage: str) -> dict[str, dict[str, object]]:
    items = read_items(run.stage_dir(1, stage))
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)), f"{stage} holds an id twice"
    return {i["id"]: i for i in items}


def test_two_ray_workers_draw_the_same_samples_as_one_process(tmp_path: Path,
                                                              cluster: object) -> None:
    local = _run(tmp_path / "local", {"engine": "local"})
    sharded = _run(tmp_path / "ray", {"engine": "ray", "workers": 2, "cpus_per_worker": 1})
    for stage in GENERATION:
        assert _items(local, stage) == _items(sharded, stage), stage
        # the canonical order too: later stages read the same sequence
        assert [i["id"] for i in read_items(local.stage_dir(1, stage))] == \
            [i["id"] for i in read_items(sharded.stage_dir(1, stage))]
    for stage in ("rollouts", "mc"):
        manifest = json.loads((sharded.stage_dir(1, stage) / "manifest.json").read_text())
        assert manifest["distributed"] == {"engine": "ray", "workers": 2}
        local_manifest = json.loads((local.stage_dir(1, stage) / "manifest.json").read_text())
        assert local_manifest["distributed"] == {"engine": "local", "workers": 1}
        assert manifest["fingerprint"] == local_manifest["fingerprint"]


def test_a_killed_worker_loses_no_item(tmp_path: Path, cluster: object) -> None:
    from dapo_bench.generation.workers import ACTOR_PREFIX

    _run(tmp_path / "run", {"engine": "local"}, ("rollouts", "states"))
    errors: list[BaseException] = []

    def stage() -> None:
        try:
            _run(tmp_path / "run", {"engine": "ray", "workers": 2, "cpus_per_worker": 1,
                                    "max_retries": 0}, ("mc",))
        except BaseException as exc:  # reported below
            errors.append(exc)

    worker = threading.Thread(target=stage)
    worker.start()
    log = tmp_path / "run" / "iter1" / "mc" / "items.jsonl"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and worker.is_alive() and not (
            log.is_file() and log.read_text().strip()):
        time.sleep(0.2)
    assert worker.is_alive(), "the stage ended before a worker could be killed"
    ray.kill(ray.get_actor(f"{ACTOR_PREFIX}-{os.getpid()}-0"), no_restart=True)
    worker.join(timeout=900)
    assert not errors, errors
    states = _items(RunDir(tmp_path / "run"), "states")
    mc = _items(RunDir(tmp_path / "run"), "mc")
    assert set(mc) == set(states)


def test_accelerate_launch_runs_every_stage_on_two_ranks(tmp_path: Path) -> None:
    """The issue's acceptance: the toy smoke recipe under two launched ranks (gloo, CPU), then
    its trained policies evaluated and checked against the single-process smoke results,
    which two ranks reproduce: the same states kept, the same samples (up to float noise)."""
    repo = Path(__file__).resolve().parents[1]
    run = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    done = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
         str(repo / "recipes" / "accelerate" / "cpu-2ranks.yaml"),
         "-m", "dapo_bench", "train", "all", "--recipe", str(repo / "recipes" / "toy-smoke.yaml"),
         "--run", str(run), "--no-progress"], capture_output=True, text=True, env=env,
        timeout=1500)
    assert done.returncode == 0, done.stderr[-4000:]
    runs = RunDir(run)
    for iteration in (1, 2):
        for stage in ("critic", "policy"):
            manifest = json.loads((runs.stage_dir(iteration, stage) / "manifest.json"
                                   ).read_text())
            assert manifest["world_size"] == 2 and manifest["summary"]["world_size"] == 2
            assert (runs.stage_dir(iteration, stage) / "model" / "model.safetensors").is_file()
        for stage in ("rollouts", "states", "mc", "advantages", "ref_logps"):
            items = read_items(runs.stage_dir(iteration, stage))
            assert len({i["id"] for i in items}) == len(items), f"{stage} holds an id twice"
    timings = (run / "timings.jsonl").read_text().splitlines()
    assert len(timings) == 14  # each stage recorded once, by the main process
    # the same objective on the same rows as one process: the same states pass the filter
    stored = json.loads((repo / "results" / "toy-smoke" / "summary.json").read_text())
    for iteration in (1, 2):
        kept = json.loads((runs.stage_dir(iteration, "advantages") / "manifest.json"
                           ).read_text())["summary"]["states_kept"]
        assert kept == stored["diagnostics"][f"iter{iteration}/advantages"]["states_kept"]

    results = tmp_path / "results"
    for stage_dir, name in ((runs.stage_dir(1, "policy"), "toy-base+dapo"),
                            (runs.stage_dir(2, "policy"), "toy-base+dapo-iter2")):
        evaluated = subprocess.run(
            [sys.executable, "-m", "dapo_bench", "eval", str(stage_dir / "model"),
             "--benchmarks", "toy_arith", "--limit", "50", "--backend", "hf", "--template", "toy",
             "--max-new-tokens", "64", "--dtype", "float32", "--out", str(results), "--name",
             name, "--no-progress"], capture_output=True, text=True)
        assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    check = subprocess.run([sys.executable, "-m", "dapo_bench", "check", "--baseline",
                            str(repo / "results" / "toy-smoke"), "--current", str(results)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "no regression in 2 comparison(s)" in check.stdout
    agreement = output_agreement(repo / "results" / "toy-smoke", results, only={
        ("toy-base+dapo", "toy_arith"), ("toy-base+dapo-iter2", "toy_arith")})
    assert len(agreement) == 2
    for key, found in agreement.items():
        assert found.stored == found.fresh == 50
        assert found.same >= 0.97 * found.stored, key


def test_eval_on_two_ray_workers_stores_the_samples_of_one_engine(tmp_path: Path) -> None:
    """`dapo-bench eval --workers 2`: data-parallel evaluation on a local Ray cluster (started
    by the command) stores exactly the samples one local engine does, and says where they
    were made."""
    from dapo_bench.toy.base import toy_base_path

    common = [sys.executable, "-m", "dapo_bench", "eval", str(toy_base_path()),
              "--benchmarks", "toy_arith", "--limit", "24", "--n", "2", "--temperature", "1.0",
              "--backend", "hf", "--template", "toy", "--max-new-tokens", "48", "--dtype",
              "float32", "--out", str(tmp_path), "--no-progress"]
    for name, extra in (("local", []), ("ray", ["--workers", "2", "--set",
                                                "distributed.cpus_per_worker=1"])):
        done = subprocess.run([*common, "--name", name, *extra], capture_output=True,
                              text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]

    def samples(name: str) -> dict[str, str]:
        lines = (tmp_path / name / "toy_arith.samples.jsonl").read_text().splitlines()
        return {r["id"]: r["output"] for r in map(json.loads, lines)}

    local, sharded = samples("local"), samples("ray")
    assert len(local) == 48 and local == sharded
    provenance = json.loads((tmp_path / "ray" / "toy_arith.json").read_text())["provenance"]
    assert provenance["backend"]["distributed"] == {"engine": "ray", "workers": 2}


def test_ray_workers_switch_checkpoints_between_evaluations(tmp_path: Path,
                                                            cluster: object) -> None:
    """One pool for several models (reproduce's evaluations): after a switch every worker
    generates with the new checkpoint, as a local engine on it does."""
    from dapo_bench.generation import SamplingParams, make_generator
    from dapo_bench.generation.workers import PoolGenerator, RayPool, WorkerSpec
    from dapo_bench.testing import perturbed_copy
    from dapo_bench.toy.base import toy_base_path

    base = str(toy_base_path())
    other = str(perturbed_copy(toy_base_path(), tmp_path / "other", 4))
    prompts = [f"Q: {i}+{2 * i}=?\nA:" for i in range(12)]
    params = SamplingParams(max_new_tokens=32)
    expected = {}
    for path in (base, other):
        local = make_generator(path, backend="hf", dtype="float32")
        expected[path] = [g[0].text for g in local.generate(prompts, params)]
        local.close()
    pool = PoolGenerator(RayPool(WorkerSpec(model=base, backend="hf"), workers=2), chunk=2)
    try:
        for path in (base, other, base):
            pool.switch(path)
            assert [g[0].text for g in pool.generate(prompts, params)] == expected[path]
        assert pool.describe()["model_path"] == base
    finally:
        pool.close()


def test_toy_smoke_reproduction_on_two_ray_workers_matches_the_stored_one(
        tmp_path: Path) -> None:
    """The issue's acceptance: `reproduce toy --smoke` with generation and evaluation on two
    Ray workers (a local cluster the command starts) stores the samples of results/toy-smoke."""
    repo = Path(__file__).resolve().parents[1]
    results = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "dapo_bench", "reproduce", "toy", "--smoke", "--run",
         str(tmp_path / "run"), "--results", str(results), "--no-progress",
         "--set", "distributed.engine=ray", "--set", "distributed.workers=2",
         "--set", "distributed.cpus_per_worker=1"], capture_output=True, text=True,
        timeout=1500)
    assert done.returncode == 0, done.stderr[-4000:]
    for stage in ("rollouts", "mc"):
        for iteration in (1, 2):
            manifest = json.loads((tmp_path / "run" / "toy-base" / f"iter{iteration}" / stage /
                                   "manifest.json").read_text())
            assert manifest["distributed"] == {"engine": "ray", "workers": 2}
    agreement = output_agreement(repo / "results" / "toy-smoke", results)
    for key, found in agreement.items():
        assert found.stored == found.fresh, key
    same = sum(found.same for found in agreement.values())
    total = sum(found.stored for found in agreement.values())
    assert total == 1250 and same >= 0.97 * total, (same, total)
