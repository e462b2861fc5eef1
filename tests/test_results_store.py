"""Results store: round trip, validation errors that name the file, crash-safe writes."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from dapo_bench.errors import DataError
from dapo_bench.jsonio import JsonlAppender, atomic_write_text, read_jsonl
from dapo_bench.report.results import (
    BenchmarkResult,
    ResultsStore,
    SampleRecord,
    current_provenance,
    load_model_samples,
    load_result,
    pack_samples,
    prompt_hash,
    variant_name,
)


def _samples(correct: list[bool]) -> list[SampleRecord]:
    return [SampleRecord(id=f"q{i}", prompt_hash=prompt_hash(f"p{i}"), output=f"out {i}",
                         extracted=str(i), correct=ok, verdict="correct" if ok else "wrong")
            for i, ok in enumerate(correct)]


def test_round_trip_with_samples_and_provenance(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    samples = _samples([True, False, True])
    result = BenchmarkResult(model="tiny+dapo", benchmark="gsm8k",
                             metrics={"accuracy": 200 / 3}, n=3, n_correct=2,
                             provenance=current_provenance(model_path="ckpt", recipe="toy",
                                                           sampling={"temperature": 0.0}))
    path = store.write(result, samples)
    assert path == tmp_path / "tiny+dapo" / "gsm8k.json"
    loaded = store.read("tiny+dapo", "gsm8k")
    assert loaded.metrics == result.metrics
    assert loaded.samples == "gsm8k.samples.jsonl"
    assert loaded.provenance.model_path == "ckpt"
    assert loaded.provenance.timestamp is not None
    assert "torch" in loaded.provenance.package_versions
    assert store.read_samples(loaded) == samples
    assert store.models() == ["tiny+dapo"]
    assert set(store.results()) == {("tiny+dapo", "gsm8k")}


def test_variant_names() -> None:
    assert variant_name("M", 0) == "M"
    assert variant_name("M", 1) == "M+dapo"
    assert variant_name("M", 2) == "M+dapo-iter2"


@pytest.mark.parametrize(("content", "needle"), [
    ("{not json", "invalid JSON"),
    ('{"model": "m", "benchmark": "b"}', "field 'metrics'"),
    ('{"model": "m", "benchmark": "b", "metrics": {"accuracy": "high"}}', "metrics.accuracy"),
    ('{"model": "m", "benchmark": "b", "metrics": {"pass@1": 1.0}}', "primary metric"),
])
def test_malformed_result_names_file_and_field(tmp_path: Path, content: str, needle: str
                                               ) -> None:
    path = tmp_path / "m" / "b.json"
    path.parent.mkdir()
    path.write_text(content)
    with pytest.raises(DataError) as info:
        load_result(path)
    assert str(path) in str(info.value)
    assert needle in str(info.value)


def test_result_at_wrong_location_is_rejected(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    store.write(BenchmarkResult(model="a", benchmark="math", metrics={"accuracy": 1.0}))
    (tmp_path / "a" / "math.json").rename(tmp_path / "a" / "gsm8k.json")
    with pytest.raises(DataError, match="does not match its location"):
        store.results()


def test_bad_sample_line_names_line_and_field(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    store.write(BenchmarkResult(model="m", benchmark="b", metrics={"accuracy": 50.0}),
                _samples([True, False]))
    result = store.read("m", "b")
    path = tmp_path / "m" / "b.samples.jsonl"
    lines = path.read_text().splitlines()
    broken = json.loads(lines[1])
    del broken["correct"]
    path.write_text(lines[0] + "\n" + json.dumps(broken) + "\n")
    with pytest.raises(DataError) as info:
        store.read_samples(result)
    assert "line 2" in str(info.value) and "correct" in str(info.value)


def _write_forever(path: str, ready: multiprocessing.synchronize.Event) -> None:
    big = "x" * 2_000_000
    ready.set()
    while True:
        atomic_write_text(path, big)


def test_interrupted_write_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    atomic_write_text(target, "old")
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    proc = ctx.Process(target=_write_forever, args=(str(target), ready))
    proc.start()
    ready.wait(10)
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    content = target.read_text()
    assert content in {"old", "x" * 2_000_000}
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "r.json"]
    # A killed writer may leave its private temp file, never a partial target.
    assert all(name.startswith(".r.json.") and name.endswith(".tmp") for name in leftovers)


def test_appender_drops_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text('{"id": 1}\n{"id": 2}\n{"id": 3, "tor')
    assert read_jsonl(path, tolerate_torn_tail=True) == [{"id": 1}, {"id": 2}]
    with pytest.raises(DataError, match="line 3"):
        read_jsonl(path)
    with JsonlAppender(path) as log:
        log.write({"id": 3})
    assert read_jsonl(path) == [{"id": 1}, {"id": 2}, {"id": 3}]


def test_packed_samples_round_trip_and_a_rewrite_drops_the_packed_copy(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    samples = _samples([True, False, True])
    result = BenchmarkResult(model="m", benchmark="math", metrics={"accuracy": 200 / 3}, n=3,
                             n_correct=2)
    store.write(result, samples)
    packed = pack_samples(tmp_path)
    assert packed == [tmp_path / "m" / "math.samples.jsonl.gz"]
    assert store.read("m", "math").samples == "math.samples.jsonl.gz"
    assert store.read_samples(store.read("m", "math")) == samples
    assert load_model_samples(tmp_path / "m", "math") == samples
    first = packed[0].read_bytes()
    assert pack_samples(tmp_path) == []  # idempotent
    store.write(result, samples)  # a rerun writes plain samples again
    assert not packed[0].exists()
    pack_samples(tmp_path)
    assert packed[0].read_bytes() == first  # no time or name in the gzip header


def test_corrupt_packed_samples_name_the_file(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    store.write(BenchmarkResult(model="m", benchmark="math", metrics={"accuracy": 100.0}),
                _samples([True] * 50))
    (path,) = pack_samples(tmp_path)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(DataError, match="unreadable") as info:
        store.read_samples(store.read("m", "math"))
    assert str(path) in str(info.value)
