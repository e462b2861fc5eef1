"""Baselines, sweeps and seeds (issue 18): the methods' pieces on their own, the bad-input
errors, and a smoke of `reproduce toy-baselines` trained from the finished toy smoke run's
artifacts, whose report is recomputed here from the stored samples."""

from __future__ import annotations

import gzip
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import SmokeRun
from scipy.stats import binomtest

from dapo_bench.errors import UserInputError
from dapo_bench.experiments.baselines import (
    Job,
    first_stage,
    job_store_name,
    parse_sweeps,
)
from dapo_bench.pipeline.methods import get_method, method_names
from dapo_bench.pipeline.methods.outcome_advantage import group_advantages
from dapo_bench.pipeline.methods.outcome_dpo import dpo_loss, pairs_of
from dapo_bench.report.results import ResultsStore

REPO = Path(__file__).resolve().parents[1]
BASE = "toy-base"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO),
                                                        os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "dapo_bench", *args], capture_output=True,
                          text=True, cwd=cwd, env=env)


def test_every_method_registers_with_its_needs() -> None:
    assert set(method_names()) == {"dapo", "mc", "shuffled", "rft", "outcome-dpo",
                                   "outcome-advantage"}
    assert get_method("rft").needs == ("rollouts",)
    assert get_method("outcome-advantage").needs == ("rollouts", "states")
    assert "critic" not in get_method("mc").needs


def test_naming_rule() -> None:
    assert job_store_name("M", "dapo") == "M+dapo"
    assert job_store_name("M", "rft") == "M+rft"
    assert job_store_name("M", "dapo", "beta0.05") == "M+dapo-beta0.05"
    assert job_store_name("M", "dapo", seed=1) == "M+dapo-seed1"
    assert job_store_name("M", "dapo-mc", "n_completions8", 2) == "M+dapo-mc-n_completions8-seed2"


def test_group_normalised_outcome_advantage() -> None:
    advs = group_advantages([1.0, 0.0, 0.0, 1.0])
    assert advs == [1.0, -1.0, -1.0, 1.0]  # mean 0.5, population std 0.5
    one_right = group_advantages([1.0, 0.0, 0.0, 0.0])
    assert one_right[0] == pytest.approx(0.75 / math.sqrt(0.1875))
    assert group_advantages([1.0, 1.0, 1.0]) == [0.0, 0.0, 0.0]  # std = 0: no signal


def test_dpo_pairs_and_loss() -> None:
    assert pairs_of([True, False, True, False]) == [[0, 1], [0, 3], [2, 1], [2, 3]]
    assert pairs_of([True, True]) == []
    chosen, rejected = torch.tensor([-1.0]), torch.tensor([-3.0])
    ref_c, ref_r = torch.tensor([-2.0]), torch.tensor([-2.0])
    loss = dpo_loss(chosen, rejected, ref_c, ref_r, beta=0.5)
    assert loss.item() == pytest.approx(math.log1p(math.exp(-0.5 * 2.0)))


def test_a_sweep_reruns_from_the_stage_that_reads_its_field() -> None:
    assert first_stage("policy.beta") == "policy"
    assert first_stage("policy.max_length") == "ref_logps"
    assert first_stage("mc.n_completions") == "mc"
    assert first_stage("seed") == "rollouts"


@pytest.mark.parametrize(("args", "needle"), [
    (["--variants", "dapo,grpo"], "--variants: unknown method 'grpo'"),
    (["--sweep", "policy.betaa=0.1"], "--sweep policy.betaa: policy has no field 'betaa'"),
    (["--sweep", "policy.beta=0.1,abc"], "--sweep policy.beta=abc:"),
    (["--sweep", "mc.n_completions=2.5"], "--sweep mc.n_completions=2.5:"),
    (["--seeds", "0"], "--seeds: 0 training seeds"),
])
def test_bad_input_is_one_line_naming_the_field(args: list[str], needle: str,
                                                tmp_path: Path) -> None:
    done = _cli("reproduce", "toy", "--smoke", "--plan", "--run", str(tmp_path / "r"), *args,
                cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], done.stderr


def test_plan_counts_methods_sweep_points_and_seeds(tmp_path: Path) -> None:
    args = ["reproduce", "table1", "--model", "qwen2.5-math", "--plan", "--run",
            str(tmp_path / "r")]
    plain = _cli(*args, cwd=tmp_path)
    more = _cli(*args, "--variants", "dapo,rft,outcome-dpo", "--seeds", "2", "--sweep",
                "policy.beta=0.01,0.05", "--sweep", "mc.n_completions=8", cwd=tmp_path)
    assert plain.returncode == 0 and more.returncode == 0, more.stderr
    plan = json.loads((tmp_path / "r" / "qwen2.5-math" / "plan.json").read_text())
    stages = [s["stage"] for s in plan["stages"] if s["iteration"] == 1]
    # rft, outcome-dpo (two stages), seed 1 of the three, the two beta points' policy per
    # seed (0.01 is the recipe's own: only its seed 1 trains) and the n_completions point's
    # own mc, critic, advantages, ref_logps and policies.
    for name in ("policy-rft", "policy-rft-seed1", "ref_logps-outcome-dpo",
                 "policy-outcome-dpo-seed1", "policy-dapo-seed1",
                 "policy [policy.beta=0.05]", "policy-dapo-seed1 [policy.beta=0.05]",
                 "mc [mc.n_completions=8]", "critic [mc.n_completions=8]"):
        assert name in stages, (name, stages)
    assert "rollouts [mc.n_completions=8]" not in stages  # nothing upstream reruns
    assert "ref_logps-rft" not in stages
    # base, the iterations, then 3 methods x 2 seeds less dapo's first, 3 points x 2 seeds
    assert plan["models_evaluated"] == 1 + plan["iterations"] + 5 + 6


def test_a_method_names_the_stage_that_makes_a_missing_artifact(toy_smoke: SmokeRun,
                                                                tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "iter1").mkdir(parents=True)
    shutil.copytree(toy_smoke.run_dir / "iter1" / "rollouts", run / "iter1" / "rollouts")
    recipe = parse_and_load()
    job = Job(get_method("outcome-advantage"), 0, None, run, recipe)
    with pytest.raises(UserInputError, match=r"needs the 'states' artifact of iteration 1.*"
                                             r"the 'states' stage makes"):
        job.method.check_needs(job.context(progress=False))
    get_method("rft").check_needs(Job(get_method("rft"), 0, None, run, recipe).context(False))


def parse_and_load() -> Any:
    from dapo_bench.config import load_recipe

    return load_recipe(REPO / "recipes" / "toy-smoke.yaml")


def test_sweep_values_are_checked_against_the_schema() -> None:
    recipe = parse_and_load()
    points = parse_sweeps(["policy.beta=0.05,0.1"], recipe)["policy.beta"]
    assert [p.tag for p in points] == ["beta0.05", "beta0.1"]
    with pytest.raises(UserInputError, match="eval"):
        parse_sweeps(["eval.max_new_tokens=8"], recipe)


def _pooled(store: ResultsStore, names: list[str], bench: str) -> dict[str, float]:
    outcomes: dict[str, list[bool]] = {}
    for name in names:
        path = store.root / name / str(store.read(name, bench).samples)
        text = (gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz"
                else path.read_text())
        for line in text.splitlines():
            record = json.loads(line)
            outcomes.setdefault(record["id"].split("#")[0], []).append(record["correct"])
    return {k: sum(v) / len(v) for k, v in outcomes.items()}


def _sign_test(new: dict[str, float], against: dict[str, float]) -> tuple[float, float]:
    diffs = [new[i] - against[i] for i in against]
    pos, neg = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
    return (100 * sum(diffs) / len(diffs),
            1.0 if pos + neg == 0 else binomtest(pos, pos + neg, 0.5).pvalue)


STORED = REPO / "results" / "toy-baselines"


def test_the_stored_toy_comparison_is_what_its_samples_say() -> None:
    """`results/toy-baselines/` (the full comparison, samples packed): every method and sweep
    point of both evaluations has 3 seeds, and its accuracy, delta and p-value against DAPO
    are recomputed here from the stored samples."""
    store = ResultsStore(STORED)
    summary = json.loads((STORED / "baselines.json").read_text())
    assert set(summary) == {"toy_arith greedy", "toy_arith sampled (T=1, k=4)"}
    for section in summary.values():
        bench, arms = section["benchmark"], section["arms"]
        assert set(method_names()) <= set(arms)
        assert {"dapo policy.beta=0.02", "dapo policy.beta=0.2", "dapo mc.n_completions=4",
                "dapo mc.n_completions=16"} <= set(arms)
        dapo = _pooled(store, arms["dapo"]["models"], bench)
        for label, row in arms.items():
            assert len(row["models"]) == 3, label
            pooled = _pooled(store, row["models"], bench)
            assert len(pooled) == 1000
            assert row["accuracy"] == pytest.approx(100 * sum(pooled.values()) / 1000)
            if label != "dapo":
                delta, p = _sign_test(pooled, dapo)
                assert row["vs_dapo"]["delta"] == pytest.approx(delta), label
                assert row["vs_dapo"]["p_value"] == pytest.approx(p), label


@pytest.mark.slow
def test_toy_baselines_smoke_from_the_smoke_runs_artifacts(toy_smoke: SmokeRun,
                                                           tmp_path: Path) -> None:
    """Every method, two seeds and a beta sweep point, trained from iteration 1 of the
    finished smoke run (iteration 2 is left out: its critic starts from an absolute path)."""
    run_root, results = tmp_path / "run", tmp_path / "results"
    shutil.copytree(toy_smoke.root, run_root, symlinks=True)
    shutil.copytree(toy_smoke.results, results)
    main = run_root / "toy-base" / "iter1"
    before = {p.parent.name: json.loads(p.read_text())["fingerprint"]
              for p in main.glob("*/manifest.json")}
    done = _cli("reproduce", "toy-baselines", "--smoke", "--set", "iterations=1",
                "--variants", "dapo,rft,outcome-dpo,outcome-advantage,mc,shuffled",
                "--run", str(run_root), "--results", str(results), "--no-progress",
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]

    # The smoke run's own stages were reused, not redone.
    after = {p.parent.name: json.loads(p.read_text())["fingerprint"]
             for p in main.glob("*/manifest.json")}
    assert all(after[k] == v for k, v in before.items())
    assert {"policy-rft", "policy-outcome-dpo", "ref_logps-outcome-dpo",
            "advantages-outcome-advantage", "policy-dapo-seed1", "policy-rft-seed1",
            "advantages-shuffled-seed1"} <= set(after)
    assert "ref_logps-rft-seed1" not in after and "ref_logps-mc-seed1" not in after
    # The sweep point: upstream stages are links to the main run's, the policy its own.
    point = run_root / "toy-base" / "sweep" / "beta0.05" / "iter1"
    for stage in ("rollouts", "states", "mc", "critic", "advantages", "ref_logps"):
        assert (point / stage).is_symlink() and not Path(os.readlink(point / stage)).is_absolute()
    assert (point / "policy").is_dir() and not (point / "policy").is_symlink()
    assert (point / "policy" / "model").is_dir()

    store = ResultsStore(results)
    names = {f"{BASE}+{tag}{seed}" for tag in ("dapo", "rft", "outcome-dpo",
                                                "outcome-advantage", "dapo-mc",
                                                "dapo-shuffled", "dapo-beta0.05")
             for seed in ("", "-seed1")}
    assert names <= set(store.models())

    # The report's numbers, recomputed from the stored samples.
    summary = json.loads((results / "baselines.json").read_text())
    greedy = summary["toy_arith greedy"]
    bench = greedy["benchmark"]
    base = _pooled(store, [BASE], bench)
    dapo = _pooled(store, [f"{BASE}+dapo", f"{BASE}+dapo-seed1"], bench)
    for arm, tag in (("rft", "rft"), ("outcome-dpo", "outcome-dpo"),
                     ("outcome-advantage", "outcome-advantage"), ("mc", "dapo-mc")):
        row = greedy["arms"][arm]
        seeds = [f"{BASE}+{tag}", f"{BASE}+{tag}-seed1"]
        accs = [store.read(n, bench).value for n in seeds]
        assert row["accuracy"] == pytest.approx(sum(accs) / 2)
        pooled = _pooled(store, seeds, bench)
        assert row["accuracy"] == pytest.approx(100 * sum(pooled.values()) / len(pooled))
        for against, key in ((base, "vs_base"), (dapo, "vs_dapo")):
            delta, p = _sign_test(pooled, against)
            assert row[key]["delta"] == pytest.approx(delta)
            assert row[key]["p_value"] == pytest.approx(p)
    markdown = (results / "baselines.md").read_text()
    assert "| rft | 2 |" in markdown and "dapo policy.beta=0.05" in markdown
    for png in ("baselines-methods.png", "baselines-beta.png"):
        assert (results / png).read_bytes()[:4] == b"\x89PNG"

    # `check` works on a baselines results root: against the smoke run's own results.
    check = _cli("check", "--baseline", str(toy_smoke.results), "--current", str(results),
                 cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
