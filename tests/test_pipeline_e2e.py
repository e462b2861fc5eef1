"""The DAPO chain end to end on the toy base model: killed mid-Monte-Carlo by a real signal,
resumed, and compared with an uninterrupted run; and the errors that name what to run first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from tiny_recipe import TINY_RECIPE

from dapo_bench.cli import main
from dapo_bench.jsonio import read_jsonl
from dapo_bench.toy.base import toy_base_path

pytestmark = pytest.mark.slow

RECIPE = TINY_RECIPE
STAGE_DIRS = ("rollouts", "states", "mc", "critic", "advantages", "ref_logps", "policy")


def _recipe(tmp_path: Path, **changes: object) -> Path:
    path = tmp_path / f"recipe-{len(list(tmp_path.glob('recipe-*')))}.yaml"
    path.write_text(yaml.safe_dump({**RECIPE, **changes}))
    return path


def _train_cmd(recipe: Path, run: Path) -> list[str]:
    return [sys.executable, "-m", "dapo_bench.cli", "train", "all", "--recipe", str(recipe),
            "--run", str(run), "--no-progress"]


def _items(run: Path, stage: str) -> list[dict]:
    return read_jsonl(run / "iter1" / stage / "items.jsonl")


def test_killed_mid_monte_carlo_resumes_to_the_same_artifacts(tmp_path: Path) -> None:
    toy_base_path()  # build or find the base model before timing anything
    recipe = _recipe(tmp_path)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    subprocess.run(_train_cmd(recipe, reference), check=True, env=env, capture_output=True)

    proc = subprocess.Popen(_train_cmd(recipe, resumed), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    log = resumed / "iter1" / "mc" / "items.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if log.is_file() and log.read_text().count("\n") >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n_before = log.read_text().count("\n")
    n_states = len(_items(reference, "states"))
    assert 2 <= n_before < n_states, (n_before, n_states)
    assert not (resumed / "iter1" / "mc" / "manifest.json").exists()

    subprocess.run(_train_cmd(recipe, resumed), check=True, env=env, capture_output=True)
    for stage in ("rollouts", "states", "mc", "advantages", "ref_logps"):
        ref_items, new_items = _items(reference, stage), _items(resumed, stage)
        assert len({r["id"] for r in new_items}) == len(new_items), f"{stage}: an item twice"
        assert sorted(new_items, key=lambda r: r["id"]) == \
            sorted(ref_items, key=lambda r: r["id"]), stage
    for stage in STAGE_DIRS:
        manifest = yaml.safe_load((resumed / "iter1" / stage / "manifest.json").read_text())
        ref_manifest = yaml.safe_load((reference / "iter1" / stage / "manifest.json").read_text())
        assert manifest["fingerprint"] == ref_manifest["fingerprint"]
        if stage not in ("critic", "policy"):
            assert manifest["summary"] == ref_manifest["summary"], stage
    from safetensors.torch import load_file

    ref_w = load_file(str(reference / "iter1" / "policy" / "model" / "model.safetensors"))
    new_w = load_file(str(resumed / "iter1" / "policy" / "model" / "model.safetensors"))
    assert ref_w.keys() == new_w.keys()
    for key in ref_w:
        assert (ref_w[key] - new_w[key]).abs().max().item() < 1e-5, key
    base_w = load_file(str(toy_base_path() / "model.safetensors"))
    assert any((base_w[k] - new_w[k]).abs().max().item() > 0 for k in base_w), \
        "policy training changed nothing"

    # A finished run is skipped entirely when nothing changed.
    started = time.time()
    subprocess.run(_train_cmd(recipe, resumed), check=True, env=env, capture_output=True)
    assert (resumed / "iter1" / "policy" / "manifest.json").stat().st_mtime < started


def test_clear_errors_name_what_to_run_first(tmp_path: Path) -> None:
    runner = CliRunner()
    run = tmp_path / "run"
    result = runner.invoke(main, ["train", "mc", "--recipe", str(_recipe(tmp_path)),
                                  "--run", str(run)])
    assert result.exit_code == 2
    assert "stage 'states' of iteration 1 has not finished" in result.output
    assert "dapo-bench train states" in result.output

    other = _recipe(tmp_path, name="another")
    result = runner.invoke(main, ["train", "states", "--recipe", str(other), "--run", str(run)])
    assert result.exit_code == 2 and "was made by recipe 'e2e'" in result.output

    result = runner.invoke(main, ["train", "states", "--run", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "not a run directory" in result.output

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**RECIPE, "policy": {"beta": -1}}))
    result = runner.invoke(main, ["train", "all", "--recipe", str(bad), "--run", str(run)])
    assert result.exit_code == 2 and "bad.yaml" in result.output and "policy.beta" in result.output


def test_empty_training_set_is_a_clear_error(tmp_path: Path) -> None:
    """Every state filtered out (gap threshold above any possible gap) -> no policy data."""
    recipe = _recipe(tmp_path, advantages={"source": "mc", "gap_threshold": 5.0})
    result = subprocess.run(_train_cmd(recipe, tmp_path / "run"), capture_output=True, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert result.returncode == 2
    assert "empty training set" in result.stderr and "gap_threshold" in result.stderr


def test_an_empty_training_set_can_keep_the_reference_policy(tmp_path: Path) -> None:
    """policy.if_empty=keep_reference: the run finishes, says so, and the iteration's policy is
    the reference's weights, unchanged."""
    from safetensors.torch import load_file

    recipe = _recipe(tmp_path, advantages={"source": "mc", "gap_threshold": 5.0},
                     policy={**RECIPE["policy"], "if_empty": "keep_reference"})
    run = tmp_path / "run"
    result = subprocess.run(_train_cmd(recipe, run), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    said = " ".join(result.stderr.split())  # rich wraps long lines
    assert "iteration 1 keeps the reference policy" in said, said
    manifest = yaml.safe_load((run / "iter1" / "policy" / "manifest.json").read_text())
    assert manifest["summary"]["trained"] is False and manifest["summary"]["steps"] == 0
    kept = load_file(str(run / "iter1" / "policy" / "model" / "model.safetensors"))
    reference = load_file(str(toy_base_path() / "model.safetensors"))
    assert kept.keys() <= reference.keys()
    assert all((kept[k] == reference[k]).all() for k in kept)
