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
import yaml

from dapo_bench.config import Recipe
from dapo_bench.pipeline.chain import run_stage
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.runner import RunDir, read_items

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
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({**RECIPE, "iterations": 1}))
    run = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    done = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
         "2", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
         "-m", "dapo_bench", "train", "all", "--recipe", str(recipe), "--run", str(run),
         "--no-progress"], capture_output=True, text=True, env=env, timeout=1500)
    assert done.returncode == 0, done.stderr[-4000:]
    runs = RunDir(run)
    for stage in ("critic", "policy"):
        manifest = json.loads((runs.stage_dir(1, stage) / "manifest.json").read_text())
        assert manifest["world_size"] == 2 and manifest["summary"]["world_size"] == 2
    for stage in ("rollouts", "states", "mc", "advantages", "ref_logps"):
        _items(runs, stage)
    assert (runs.stage_dir(1, "policy") / "model" / "model.safetensors").is_file()
    timings = (run / "timings.jsonl").read_text().splitlines()
    assert len(timings) == 7  # each stage recorded once, by the main process
