"""`dapo-bench eval` input checking: one clear line and exit code 2 for each kind of bad input;
settings changes refused by name; regrade and overwrite."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dapo_bench.cli import main
from dapo_bench.testing import cached_tiny_qwen2

FIXTURES = Path(__file__).parent / "fixtures" / "data"


@pytest.fixture(scope="module")
def model() -> Path:
    return cached_tiny_qwen2()


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> object:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _eval(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["eval", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _one_error_line(output: str) -> str:
    """The one error message, with any soft wrapping of the console undone."""
    lines = [x for x in output.splitlines() if x.strip()]
    starts = [i for i, x in enumerate(lines) if x.startswith("error:")]
    assert len(starts) == 1, output
    return " ".join(lines[starts[0]:])


def test_missing_checkpoint(tmp_path: Path) -> None:
    code, out = _eval(str(tmp_path / "no-such-model"), "--benchmarks", "gsm8k",
                      "--data-dir", str(FIXTURES), "--out", str(tmp_path / "out"))
    assert code == 2
    line = _one_error_line(out)
    assert "no-such-model" in line and "does not exist" in line


def test_unknown_benchmark(model: Path, tmp_path: Path) -> None:
    code, out = _eval(str(model), "--benchmarks", "gsm8k,gsm9k", "--data-dir", str(FIXTURES),
                      "--out", str(tmp_path))
    assert code == 2
    line = _one_error_line(out)
    assert "gsm9k" in line and "unknown benchmark" in line
    assert not any(tmp_path.iterdir())  # failed before anything was written


def test_model_without_tokenizer(model: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(model / name, bare / name)
    code, out = _eval(str(bare), "--benchmarks", "gsm8k", "--data-dir", str(FIXTURES),
                      "--out", str(tmp_path / "out"))
    assert code == 2
    assert "has no tokenizer" in _one_error_line(out)


def test_directory_that_is_not_a_checkpoint(tmp_path: Path) -> None:
    code, out = _eval(str(tmp_path), "--benchmarks", "gsm8k", "--data-dir", str(FIXTURES),
                      "--out", str(tmp_path / "out"))
    assert code == 2
    assert "no config.json" in _one_error_line(out)


def test_data_dir_without_the_benchmark(model: Path, tmp_path: Path) -> None:
    code, out = _eval(str(model), "--benchmarks", "gsm8k", "--data-dir", str(tmp_path),
                      "--out", str(tmp_path / "out"))
    assert code == 2
    assert "no data for benchmark 'gsm8k'" in _one_error_line(out)


def test_suite_and_benchmarks_together(model: Path, tmp_path: Path) -> None:
    code, out = _eval(str(model), "--suite", "math", "--benchmarks", "gsm8k")
    assert code == 2 and "not both" in _one_error_line(out)


def test_regrade_without_a_run(model: Path, tmp_path: Path) -> None:
    code, out = _eval(str(model), "--benchmarks", "gsm8k", "--data-dir", str(FIXTURES),
                      "--out", str(tmp_path), "--regrade")
    assert code == 2 and "nothing to regrade" in _one_error_line(out)


def test_changed_settings_are_refused_then_overwritten(model: Path, tmp_path: Path) -> None:
    base = [str(model), "--benchmarks", "gsm8k", "--data-dir", str(FIXTURES), "--out",
            str(tmp_path), "--limit", "3", "--backend", "hf", "--no-progress"]
    code, out = _eval(*base, "--max-new-tokens", "4")
    assert code == 0, out
    result = json.loads((tmp_path / model.name / "gsm8k.json").read_text())
    assert result["n"] == 3 and result["provenance"]["sampling"]["max_new_tokens"] == 4
    assert result["provenance"]["dtype"] == "float32"  # auto -> the checkpoint's dtype

    code, out = _eval(*base, "--max-new-tokens", "5")
    assert code == 2
    assert "sampling.max_new_tokens: 4 -> 5" in _one_error_line(out)

    code, out = _eval(*base, "--max-new-tokens", "5", "--overwrite")
    assert code == 0, out
    log = (tmp_path / model.name / ".generations" / "gsm8k.jsonl").read_text().splitlines()
    assert len(log) == 3 and all(json.loads(x)["num_tokens"] <= 5 for x in log)

    # a larger --limit extends the same log: only the new problems are generated
    code, out = _eval(*[a if a != "3" else "5" for a in base], "--max-new-tokens", "5")
    assert code == 0, out
    assert "resuming, 3 sample(s)" in out
    log = (tmp_path / model.name / ".generations" / "gsm8k.jsonl").read_text().splitlines()
    assert len(log) == 5


def test_sampled_eval_keeps_every_sample(model: Path, tmp_path: Path) -> None:
    args = [str(model), "--benchmarks", "math", "--data-dir", str(FIXTURES), "--out",
            str(tmp_path), "--limit", "2", "--backend", "hf", "--no-progress", "--n", "3",
            "--temperature", "1.0", "--max-new-tokens", "6", "--seed", "5"]
    code, out = _eval(*args)
    assert code == 0, out
    samples = [json.loads(x) for x in
               (tmp_path / model.name / "math.samples.jsonl").read_text().splitlines()]
    assert len(samples) == 6
    assert [s["id"].rsplit("#", 1)[1] for s in samples] == ["0", "1", "2"] * 2
    assert len({s["output"] for s in samples}) > 2  # sampled, not copies
    result = json.loads((tmp_path / model.name / "math.json").read_text())
    assert result["n"] == 6 and result["provenance"]["sampling"]["n"] == 3
    # the same command again reuses all six
    code, out = _eval(*args)
    assert code == 0 and "all 6 sample(s) already generated" in out


def test_bad_distributed_settings_are_one_line_errors(model: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    common = ["eval", str(model), "--benchmarks", "gsm8k", "--out", str(tmp_path)]
    result = runner.invoke(main, [*common, "--set", "policy.beta=1"])
    assert result.exit_code == 2 and "only distributed.KEY=VALUE" in result.output
    result = runner.invoke(main, [*common, "--set", "distributed.workers=0"])
    assert result.exit_code == 2 and "--set distributed.workers" in result.output
    result = runner.invoke(main, [*common, "--set", "distributed.engine=spark"])
    assert result.exit_code == 2 and "--set distributed.engine" in result.output


def test_workers_must_hold_their_engines_gpus(model: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [
        "eval", str(model), "--benchmarks", "gsm8k", "--out", str(tmp_path), "--workers", "2",
        "--tensor-parallel-size", "2", "--set", "distributed.gpus_per_worker=1"])
    assert result.exit_code == 2 and "--tensor-parallel-size is 2" in result.output
