"""Experiment tracking, for real: the toy smoke chain runs through the CLI, its TensorBoard
event files are read back with TensorBoard's own reader and checked against the stages'
manifests, item logs and trainer logs; `dapo-bench report` renders the curves; trackers that
are not installed are one clear error."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import SmokeRun

from dapo_bench.jsonio import read_json, read_jsonl

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "recipes" / "toy-smoke.yaml"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "dapo_bench", *args], capture_output=True,
                          text=True, cwd=cwd, env=env)


def _events(run: Path) -> object:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0,
                                                                    "histograms": 0})
    acc.Reload()
    return acc


def _manifests(run: Path) -> dict[str, dict]:
    return {f"{p.parent.parent.name}/{p.parent.name}": read_json(p)
            for p in sorted(run.glob("iter*/*/manifest.json"))}


@pytest.fixture(scope="module")
def smoke_run(toy_smoke: SmokeRun) -> Path:
    """The toy smoke reproduction's run directory (the session's one): both iterations, every
    stage, the two variants, on the HF backend."""
    return toy_smoke.run_dir


def test_event_files_hold_what_the_stages_wrote(smoke_run: Path) -> None:
    acc = _events(smoke_run)
    tags = acc.Tags()
    manifests = _manifests(smoke_run)
    assert {"iter1/rollouts", "iter1/mc", "iter1/critic", "iter1/advantages", "iter1/policy",
            "iter2/policy"} <= set(manifests)
    checked = 0
    for prefix, manifest in manifests.items():  # every numeric summary field, once
        for key, value in manifest["summary"].items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            events = acc.Scalars(f"{prefix}/{key}")
            assert [e.step for e in events] == [0], (prefix, key)
            assert events[0].value == pytest.approx(value, rel=1e-6, abs=1e-6), (prefix, key)
            checked += 1
    assert checked >= 40
    rollouts = manifests["iter1/rollouts"]["summary"]
    assert acc.Scalars("iter1/rollouts/sample_accuracy")[0].value == pytest.approx(
        rollouts["sample_accuracy"], rel=1e-6)
    ranking = manifests["iter1/advantages"]["summary"]["critic_ranking_accuracy"]
    if ranking is not None:
        assert acc.Scalars("iter1/advantages/critic_ranking_accuracy")[0].value == \
            pytest.approx(ranking, rel=1e-6)

    # The trainers' live curves: every logged step of train_log.json, loss and KL.
    for stage in ("iter1/critic", "iter1/policy", "iter2/critic"):
        log = json.loads((smoke_run / stage / "train_log.json").read_text())
        for key in ("loss", "kl") if "policy" in stage else ("loss",):
            expected = [(h["step"], h[key]) for h in log if key in h]
            got = [(e.step, e.value) for e in acc.Scalars(f"{stage}/{key}")]
            assert len(expected) == manifests[stage]["summary"]["steps"]
            assert [s for s, _ in got] == [s for s, _ in expected], (stage, key)
            assert [v for _, v in got] == pytest.approx([v for _, v in expected], rel=1e-5,
                                                        abs=1e-6), (stage, key)
    kl = [e.value for e in acc.Scalars("iter1/policy/kl")]
    assert kl[0] == pytest.approx(0.0, abs=1e-5)  # the first step: pi_theta is pi_ref

    # Histograms: every state's MC value, every kept action's advantage.
    for iteration in (1, 2):
        mc = [r["mc"] for r in read_jsonl(smoke_run / f"iter{iteration}" / "mc" / "items.jsonl")]
        hist = acc.Histograms(f"iter{iteration}/mc/value_histogram")[0].histogram_value
        assert hist.num == len(mc) == manifests[f"iter{iteration}/mc"]["summary"]["states"]
        assert hist.sum == pytest.approx(sum(mc), rel=1e-9)
        assert (hist.min, hist.max) == (min(mc), max(mc))
    kept = manifests["iter1/advantages"]["summary"]["pairs_kept"]
    assert kept > 0
    advs = [a["advantage"] for r in read_jsonl(smoke_run / "iter1" / "advantages" /
                                               "items.jsonl") for a in r["actions"]]
    hist = acc.Histograms("iter1/advantages/advantage_histogram")[0].histogram_value
    assert hist.num == kept == len(advs)
    assert hist.sum == pytest.approx(sum(advs), abs=1e-9)
    assert {"iter1/mc/value_histogram", "iter1/advantages/advantage_histogram"} <= \
        set(tags["histograms"])


def test_rerun_logs_nothing_twice_and_logging_is_outside_the_fingerprints(
        smoke_run: Path, tmp_path: Path) -> None:
    before = _manifests(smoke_run)
    events = sum(len(_events(smoke_run).Scalars(t))
                 for t in _events(smoke_run).Tags()["scalars"])
    again = _cli("train", "all", "--recipe", str(RECIPE), "--run", str(smoke_run),
                 "--no-progress", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    quiet = _cli("train", "all", "--recipe", str(RECIPE), "--run", str(smoke_run),
                 "--no-progress", "--set", "logging.report_to=[]", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert _manifests(smoke_run) == before  # every stage skipped: nothing recomputed
    acc = _events(smoke_run)
    assert sum(len(acc.Scalars(t)) for t in acc.Tags()["scalars"]) == events


def test_report_renders_the_curves_as_pngs(smoke_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "curves"
    done = _cli("report", str(smoke_run), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = [Path(line) for line in done.stdout.splitlines() if line.strip()]
    names = {p.name for p in printed}
    assert {"critic_loss.png", "policy_loss.png", "policy_kl.png", "mc_value_histogram.png",
            "advantages_advantage_histogram.png"} <= names
    for path in printed:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", path
        assert len(data) > 10_000, (path, len(data))  # axes, lines and a legend drawn
    assert not list(smoke_run.rglob("*.png"))  # read-only on the run

    # No results directory recorded (a run of `train`, not `reproduce`) and no --out: one
    # clear line.
    bare = tmp_path / "bare-run"
    shutil.copytree(smoke_run, bare, ignore=shutil.ignore_patterns("results.json", "*.safetensors"))
    nowhere = _cli("report", str(bare), cwd=tmp_path)
    assert nowhere.returncode == 2
    assert nowhere.stderr.strip().count("\n") == 0 and "--out" in nowhere.stderr
    not_a_run = _cli("report", str(tmp_path), "--out", str(out), cwd=tmp_path)
    assert not_a_run.returncode == 2 and "not a run directory" in not_a_run.stderr


@pytest.mark.parametrize("tracker", ["wandb", "mlflow"])
def test_a_tracker_that_is_not_installed_is_one_line(tracker: str, tmp_path: Path) -> None:
    if importlib.util.find_spec(tracker) is not None:
        pytest.skip(f"{tracker} is installed here")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({**yaml.safe_load(RECIPE.read_text()),
                                      "logging": {"report_to": ["tensorboard", tracker]}}))
    done = _cli("train", "all", "--recipe", str(recipe), "--run", str(tmp_path / "run"),
                cwd=tmp_path)
    assert done.returncode == 2
    line = done.stderr.strip()
    assert "\n" not in line and tracker in line and f"pip install {tracker}" in line, line
    assert not (tmp_path / "run").exists()  # refused before anything started


def test_an_unknown_tracker_is_one_line(tmp_path: Path) -> None:
    done = _cli("train", "all", "--recipe", str(RECIPE), "--run", str(tmp_path / "run"),
                "--set", "logging.report_to=[tensorbored]", cwd=tmp_path)
    assert done.returncode == 2
    line = done.stderr.strip()
    assert "\n" not in line and "logging.report_to" in line and "tensorboard" in line, line
