"""`dapo-bench data fetch`: verified, atomic, resumable downloads from a loopback HTTP server and
a local hub cache; corrupt, cut and missing downloads; `--from`; the data record in provenance.

Mechanism tests use small sources built here from the fixtures; the tests of the real pinned
catalogue serve copies of ../shared/data and skip when it is absent.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dapo_bench.data.fetch import digest, fetch
from dapo_bench.data.manifest import data_record, read_manifest
from dapo_bench.data.sources import MIRROR_ENV, SourceFile, files_for, resolve_names
from dapo_bench.errors import UserInputError

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "data"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Server:
    """A loopback HTTP server over ``root``: counts GETs per path; paths in ``cut`` get half
    their body and a closed connection (Content-Length promises the whole)."""

    root: Path
    url: str = ""
    hits: Counter = field(default_factory=Counter)
    cut: set[str] = field(default_factory=set)


@pytest.fixture()
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    state = Server(tmp_path / "served")
    state.root.mkdir()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            rel = self.path.lstrip("/")
            state.hits[rel] += 1
            file = state.root / rel
            if not file.is_file():
                self.send_error(404)
                return
            body = file.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if rel in state.cut else body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    monkeypatch.setenv(MIRROR_ENV, state.url)
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _serve(server: Server, repo: str, path: str, data: bytes) -> str:
    target = server.root / repo / COMMIT / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return f"{repo}/{COMMIT}/{path}"


def _gz_source(server: Server, name: str = "gsm8k") -> tuple[SourceFile, bytes, str]:
    """A gzipped fixture file served at a commit; the source pins both hashes and rows."""
    plain = (FIXTURES / "gsm8k" / "test.jsonl").read_bytes()
    packed = gzip.compress(plain, mtime=0)
    rel = _serve(server, "org/data", f"{name}.jsonl.gz", packed)
    rows = sum(1 for line in plain.splitlines() if line.strip())
    source = SourceFile(name, f"{name}/test.jsonl", "url", "org/data", f"{name}.jsonl.gz",
                        COMMIT, download_sha256=digest(packed), sha256=digest(plain),
                        rows=rows, transform="gunzip")
    return source, plain, rel


def _leftovers(folder: Path) -> list[str]:
    """Temporary files left behind (the lock file is meant to stay)."""
    return sorted(p.name for p in folder.rglob(".*") if p.name != ".fetch.lock")


# ------------------------------------------------------------------------------ mechanism


def test_fetch_verifies_gunzips_and_records(server: Server, tmp_path: Path) -> None:
    source, plain, rel = _gz_source(server)
    out = tmp_path / "data"
    [outcome] = fetch([source], out)
    assert outcome.status == "fetched", outcome.message
    assert (out / "gsm8k" / "test.jsonl").read_bytes() == plain
    record = read_manifest(out)["gsm8k/test.jsonl"]
    assert record["sha256"] == digest(plain)
    assert record["revision"] == COMMIT
    assert record["rows"] == source.rows
    assert record["source"] == f"{server.url}/{rel}"
    assert _leftovers(out) == []


def test_rerun_downloads_nothing(server: Server, tmp_path: Path) -> None:
    source, _, rel = _gz_source(server)
    out = tmp_path / "data"
    fetch([source], out)
    before = dict(read_manifest(out))
    [again] = fetch([source], out)
    assert again.status == "present"
    assert server.hits[rel] == 1
    assert read_manifest(out) == before


def test_corrupt_download_is_one_line_and_keeps_the_rest(server: Server, tmp_path: Path
                                                        ) -> None:
    good, plain, _ = _gz_source(server, "good")
    bad, _, rel = _gz_source(server, "bad")
    (server.root / rel).write_bytes(gzip.compress(plain + b'{"question": "x"}\n', mtime=0))
    out = tmp_path / "data"
    first, second = fetch([bad, good], out)
    assert first.status == "failed"
    actual = digest((server.root / rel).read_bytes())
    assert first.message == (f"bad.jsonl.gz: sha256 mismatch: expected {bad.download_sha256}, "
                             f"got {actual} (source {server.url}/{rel})")
    assert not (out / "bad").exists() or not any((out / "bad").iterdir())
    assert second.status == "fetched"
    assert "bad/test.jsonl" not in read_manifest(out)


def test_cut_download_leaves_nothing_and_a_rerun_completes(server: Server, tmp_path: Path
                                                          ) -> None:
    source, plain, rel = _gz_source(server)
    server.cut.add(rel)
    out = tmp_path / "data"
    [outcome] = fetch([source], out)
    assert outcome.status == "failed"
    assert "cut off" in outcome.message and "run the command again" in outcome.message
    assert not (out / "gsm8k" / "test.jsonl").exists()
    assert _leftovers(out) == []
    server.cut.clear()
    [retry] = fetch([source], out)
    assert retry.status == "fetched"
    assert (out / "gsm8k" / "test.jsonl").read_bytes() == plain


def test_truncated_unpinned_file_fails_on_its_rows(server: Server, tmp_path: Path) -> None:
    """A whole HTTP response of a file cut mid-line upstream: no sha to catch it, the rows do."""
    plain = (FIXTURES / "gsm8k" / "test.jsonl").read_bytes()
    _serve(server, "org/data", "test.jsonl", plain[:-40])
    source = SourceFile("gsm8k", "gsm8k/test.jsonl", "url", "org/data", "test.jsonl", COMMIT)
    [outcome] = fetch([source], tmp_path / "data")
    assert outcome.status == "failed"
    assert outcome.message.startswith("gsm8k/test.jsonl: truncated or corrupt, line ")
    assert not (tmp_path / "data" / "gsm8k" / "test.jsonl").exists()


def test_wrong_row_count_is_refused(server: Server, tmp_path: Path) -> None:
    plain = (FIXTURES / "gsm8k" / "test.jsonl").read_bytes()
    _serve(server, "org/data", "test.jsonl", plain)
    source = SourceFile("gsm8k", "gsm8k/test.jsonl", "url", "org/data", "test.jsonl", COMMIT,
                        rows=1319)
    [outcome] = fetch([source], tmp_path / "data")
    assert outcome.status == "failed"
    assert "14 rows, expected 1319" in outcome.message


def test_a_different_file_in_place_is_left_alone(server: Server, tmp_path: Path) -> None:
    source, _, rel = _gz_source(server)
    dest = tmp_path / "data" / "gsm8k" / "test.jsonl"
    dest.parent.mkdir(parents=True)
    dest.write_text('{"question": "mine", "answer": "#### 1"}\n')
    [outcome] = fetch([source], tmp_path / "data")
    assert outcome.status == "failed"
    assert "sha256 mismatch" in outcome.message and "move the file away" in outcome.message
    assert dest.read_text() == '{"question": "mine", "answer": "#### 1"}\n'
    assert server.hits[rel] == 0
    unpinned = SourceFile("gsm8k", "gsm8k/test.jsonl", "url", "org/data", "x.jsonl", COMMIT)
    dest.write_text('{"question": "cut')
    [torn] = fetch([unpinned], tmp_path / "data")
    assert torn.status == "failed" and "move it away" in torn.message
    assert dest.read_text() == '{"question": "cut'


def test_no_network_names_the_source_and_from(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(MIRROR_ENV, f"http://127.0.0.1:{port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    source = SourceFile("gsm8k", "gsm8k/test.jsonl", "url", "org/data", "test.jsonl", COMMIT)
    [outcome] = fetch([source], tmp_path / "data")
    assert outcome.status == "failed"
    assert f"cannot reach http://127.0.0.1:{port}/org/data/{COMMIT}/test.jsonl" in \
        outcome.message
    assert "--from DIR" in outcome.message


def test_import_from_raw_and_layout_files(server: Server, tmp_path: Path) -> None:
    source, plain, rel = _gz_source(server)
    raw_dir = tmp_path / "downloads"
    raw_dir.mkdir()
    shutil.copy(server.root / rel, raw_dir / source.raw_name)
    [raw] = fetch([source], tmp_path / "a", from_dir=raw_dir)
    assert raw.status == "imported"
    assert (tmp_path / "a" / source.dest).read_bytes() == plain
    [layout] = fetch([source], tmp_path / "b", from_dir=tmp_path / "a")
    assert layout.status == "imported"
    record = read_manifest(tmp_path / "b")[source.dest]
    assert record["method"] == "import" and record["revision"] == COMMIT
    assert sum(server.hits.values()) == 0
    (tmp_path / "a" / source.dest).write_bytes(plain.replace(b"muffins", b"muffin"))
    [bad] = fetch([source], tmp_path / "c", from_dir=tmp_path / "a")
    assert bad.status == "failed" and "sha256 mismatch" in bad.message
    assert not (tmp_path / "c" / source.dest).exists()
    [missing] = fetch([source], tmp_path / "d", from_dir=tmp_path / "nowhere")
    assert missing.status == "failed" and "not in --from" in missing.message


def test_a_second_writer_is_refused(server: Server, tmp_path: Path) -> None:
    from dapo_bench.data.fetch import writer_lock

    source, _, rel = _gz_source(server)
    out = tmp_path / "data"
    with writer_lock(out), pytest.raises(UserInputError, match=f"pid {os.getpid()}"):
        fetch([source], out)
    assert server.hits[rel] == 0
    assert fetch([source], out)[0].status == "fetched"


# ------------------------------------------------------------------------------ hub


def _hub_cache(root: Path, repo: str, files: dict[str, bytes], commit: str = COMMIT) -> Path:
    """A real huggingface_hub cache layout: refs/main -> snapshots/<commit>/<files>."""
    base = root / f"datasets--{repo.replace('/', '--')}"
    (base / "refs").mkdir(parents=True, exist_ok=True)
    (base / "refs" / "main").write_text(commit)
    for name, data in files.items():
        target = base / "snapshots" / commit / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def _parquet(rows: list[dict]) -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    return buffer.getvalue()


def _arrow_stream(rows: list[dict]) -> bytes:
    import pyarrow as pa

    table = pa.Table.from_pylist(rows)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


@pytest.fixture()
def offline_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import huggingface_hub.constants as hf

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(hf, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf, "HF_HUB_OFFLINE", True)
    return cache


def test_hub_dataset_and_file_from_a_local_cache(offline_hub: Path, tmp_path: Path) -> None:
    rows = [json.loads(x) for x in (FIXTURES / "taco" / "train.jsonl").read_text().splitlines()]
    with_solutions = [{**r, "solutions": "['print(1)']"} for r in rows]
    half = len(with_solutions) // 2 or 1
    _hub_cache(offline_hub, "org/taco", {
        "train/data-00000-of-00002.arrow": _arrow_stream(with_solutions[:half]),
        "train/data-00001-of-00002.arrow": _arrow_stream(with_solutions[half:]),
        "test/data-00000-of-00001.arrow": _arrow_stream(with_solutions[:1])})
    math_rows = [{"problem": "1+1?", "solution": "\\boxed{2}", "level": "1", "type": "a"}]
    _hub_cache(offline_hub, "org/math", {"data/test-00000-of-00001.parquet": _parquet(math_rows),
                                         "test.jsonl": b'{"problem": "p", "answer": "1"}\n'},
               commit="f" * 40)
    sources = [
        SourceFile("taco", "taco/train.jsonl", "hub_dataset", "org/taco", "train/*.arrow",
                   rows=len(rows), transform="table", columns=("question", "input_output")),
        SourceFile("math", "math/test.jsonl", "hub_dataset", "org/math", "data/test-*.parquet",
                   rows=1, transform="table"),
        SourceFile("math500", "math500/test.jsonl", "hub_file", "org/math", "test.jsonl",
                   rows=1),
    ]
    out = tmp_path / "data"
    outcomes = fetch(sources, out)
    assert [o.status for o in outcomes] == ["fetched"] * 3, [o.message for o in outcomes]
    written = [json.loads(x) for x in (out / "taco/train.jsonl").read_text().splitlines()]
    assert [set(r) for r in written] == [{"question", "input_output"}] * len(rows)
    assert [r["question"] for r in written] == [r["question"] for r in rows]
    manifest = read_manifest(out)
    assert manifest["taco/train.jsonl"]["revision"] == COMMIT
    assert manifest["math/test.jsonl"]["revision"] == "f" * 40
    assert manifest["math500/test.jsonl"]["revision"] == "f" * 40
    assert manifest["math/test.jsonl"]["pinned_revision"] is None
    from dapo_bench.data.code_benchmarks import load_taco

    assert len(load_taco(out / "taco/train.jsonl")) == len(rows)
    assert [o.status for o in fetch(sources, out)] == ["present"] * 3


def test_hub_without_network_or_cache_suggests_from(offline_hub: Path, tmp_path: Path) -> None:
    source = SourceFile("math", "math/test.jsonl", "hub_dataset", "org/absent",
                        "data/test-*.parquet", transform="table")
    [outcome] = fetch([source], tmp_path / "data")
    assert outcome.status == "failed"
    assert outcome.message.startswith("math/test.jsonl: cannot get hf://datasets/org/absent@main")
    assert "--from DIR" in outcome.message
    assert "\n" not in outcome.message


# ------------------------------------------------------------------------------ catalogue


def test_targets_and_names() -> None:
    assert resolve_names("table1") == ["math", "math_train", "gsm8k", "minerva_math",
                                       "olympiadbench", "college_math"]
    assert resolve_names("table3") == resolve_names("table1")
    assert "taco" in resolve_names("table2") and "math" not in resolve_names("table2")
    assert resolve_names("gsm8k,table2")[0] == "gsm8k"
    with pytest.raises(UserInputError, match="unknown benchmark 'gsm9k'"):
        resolve_names("gsm8k,gsm9k")


def test_livecodebench_files_follow_the_release(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAPO_BENCH_LCB_RELEASE", raising=False)
    names = [s.raw_name for s in files_for(["livecodebench"])]
    assert names == ["test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl"]
    monkeypatch.setenv("DAPO_BENCH_LCB_RELEASE", "v5_v6")
    assert [s.raw_name for s in files_for(["livecodebench"])] == ["test5.jsonl", "test6.jsonl"]


def test_catalogue_pins_the_shared_data(shared_data: Path) -> None:
    """Every pinned layout sha256 and row count equals the shared copy's (MANIFEST.md)."""
    from dapo_bench.data.manifest import sha256_of

    checked = 0
    for source in files_for(resolve_names("all")):
        copy = shared_data / source.dest
        if not copy.is_file():
            continue
        if source.sha256 is not None:
            assert sha256_of(copy) == source.sha256, source.dest
        if source.rows is not None:
            assert sum(1 for x in copy.read_text().splitlines() if x.strip()) == source.rows
        checked += 1
    assert checked >= 10


# ------------------------------------------------------------------------------ CLI


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(REPO), "NO_PROXY": "127.0.0.1,localhost",
            **(env or {})}
    return subprocess.run([sys.executable, "-m", "dapo_bench", "data", "fetch", *args],
                          capture_output=True, text=True, env=full, timeout=600, check=False)


def _error_lines(stderr: str) -> list[str]:
    return [x for x in stderr.splitlines() if x.startswith("error:")]


def test_cli_unknown_benchmark(tmp_path: Path) -> None:
    run = _cli("--benchmarks", "gsm9k", "--out", str(tmp_path))
    assert run.returncode == 2
    [line] = _error_lines(run.stderr)
    assert "unknown benchmark 'gsm9k'" in line and "table1" in line


def test_cli_fills_the_user_data_directory_that_loaders_read(shared_data: Path,
                                                            tmp_path: Path) -> None:
    """Without --out or $DAPO_BENCH_DATA the fetch fills the user data directory, and a
    benchmark without a hub dataset then loads from it with nothing passed."""
    env = {k: v for k, v in os.environ.items() if k != "DAPO_BENCH_DATA"}
    env.update(XDG_DATA_HOME=str(tmp_path / "xdg"), PYTHONPATH=str(REPO))
    run = subprocess.run([sys.executable, "-m", "dapo_bench", "data", "fetch", "--benchmarks",
                          "minerva_math", "--from", str(shared_data)],
                         capture_output=True, text=True, timeout=600, check=False, env=env)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "xdg" / "dapo-bench" / "data" / "minerva_math" / "test.jsonl").is_file()
    load = subprocess.run([sys.executable, "-c", "from dapo_bench.data.registry import "
                           "load_benchmark; print(len(load_benchmark('minerva_math')))"],
                          capture_output=True, text=True, timeout=600, check=False, env=env)
    assert load.returncode == 0, load.stderr
    assert load.stdout.split() == ["272"]


def test_cli_table1_from_mirror_and_hub_cache(shared_data: Path, server: Server,
                                              tmp_path: Path) -> None:
    """The real catalogue for table1: the Qwen toolkit files from a loopback mirror, MATH and
    GSM8K from a local hub cache (built from the shared copies); then a rerun fetches nothing,
    and a corrupt mirror file is one line with exit 2."""
    from dapo_bench.data.sources import CATALOGUE

    served = {}
    for source in CATALOGUE:
        if source.kind == "url" and source.benchmark in resolve_names("table1"):
            served[source.dest] = _serve_at(server, source, shared_data / source.dest)
    cache = tmp_path / "hub"
    for dest, repo, pattern in (("math/test.jsonl", "DigitalLearningGmbH/MATH-lighteval",
                                 "data/test-00000-of-00001.parquet"),
                                ("math/train.jsonl", "DigitalLearningGmbH/MATH-lighteval",
                                 "data/train-00000-of-00001.parquet"),
                                ("gsm8k/test.jsonl", "openai/gsm8k",
                                 "main/test-00000-of-00001.parquet")):
        rows = [json.loads(x) for x in (shared_data / dest).read_text().splitlines()]
        _hub_cache(cache, repo, {pattern: _parquet(rows)})
    env = {MIRROR_ENV: server.url, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    out = tmp_path / "data"
    run = _cli("--benchmarks", "table1", "--out", str(out), env=env)
    assert run.returncode == 0, run.stderr
    manifest = read_manifest(out)
    assert sorted(manifest) == sorted(s.dest for s in files_for(resolve_names("table1")))
    assert manifest["gsm8k/test.jsonl"]["revision"] == COMMIT
    assert manifest["gsm8k/test.jsonl"]["rows"] == 1319
    assert all(server.hits[rel] == 1 for rel in served.values())
    from dapo_bench.data.registry import load_benchmark

    assert len(load_benchmark("math", data_dir=out)) == 5000
    assert len(load_benchmark("minerva_math", data_dir=out)) == 272

    again = _cli("--benchmarks", "table1", "--out", str(out), env=env)
    assert again.returncode == 0, again.stderr
    assert "6 file(s) ready" in again.stdout and "(0 new, 6 already there)" in again.stdout
    assert all(server.hits[rel] == 1 for rel in served.values())

    rel = served["olympiadbench/test.jsonl"]
    (server.root / rel).write_bytes((server.root / rel).read_bytes()[:-100])
    fresh = tmp_path / "fresh"
    bad = _cli("--benchmarks", "olympiadbench", "--out", str(fresh), env=env)
    assert bad.returncode == 2
    [line] = _error_lines(bad.stderr)
    assert line.startswith("error: test.jsonl: sha256 mismatch: expected bb8c1e38")
    assert f"(source {server.url}/{rel})" in line
    assert not (fresh / "olympiadbench" / "test.jsonl").exists()


def _serve_at(server: Server, source: SourceFile, copy: Path) -> str:
    """Serve ``copy`` where the mirror URL of a catalogue source points."""
    target = server.root / source.repo / str(source.revision) / source.path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(copy.read_bytes())
    return f"{source.repo}/{source.revision}/{source.path}"


def test_cli_from_shared_data(shared_data: Path, tmp_path: Path) -> None:
    """--from a copied data folder: the pinned files import with their checks; what the folder
    lacks is one line naming it, and the imported files stay."""
    out = tmp_path / "data"
    run = _cli("--benchmarks", "humaneval,humaneval_plus,mbpp_plus,taco", "--out", str(out),
               "--from", str(shared_data))
    assert run.returncode == 2
    [line] = _error_lines(run.stderr)
    assert line.startswith("error: taco/train.jsonl: not in --from")
    manifest = read_manifest(out)
    assert sorted(manifest) == ["humaneval/HumanEval.jsonl",
                                "humaneval_plus/HumanEvalPlus-v0.1.10.jsonl",
                                "mbpp_plus/MbppPlus-v0.2.0.jsonl"]
    assert manifest["humaneval/HumanEval.jsonl"]["revision"] == \
        "6d43fb980f9fee3c892a914eda09951f772ad10d"


# ------------------------------------------------------------------------------ provenance


def test_data_record_names_the_fetch(server: Server, tmp_path: Path) -> None:
    source, plain, _ = _gz_source(server)
    out = tmp_path / "data"
    fetch([source], out)
    record = data_record(out / source.dest, out)
    assert record["path"] == "gsm8k/test.jsonl"
    assert record["sha256"] == digest(plain)
    assert record["revision"] == COMMIT and record["method"] == "download"
    (out / source.dest).write_bytes(plain + b"\n")
    assert "differs from" in data_record(out / source.dest, out)["note"]
    loose = tmp_path / "loose.jsonl"
    loose.write_bytes(plain)
    assert data_record(loose) == {"path": "loose.jsonl", "sha256": digest(plain)}


def test_eval_result_provenance_carries_the_data_record(server: Server, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dapo_bench.cli import main
    from dapo_bench.report.results import ResultsStore
    from dapo_bench.testing import cached_tiny_qwen2

    source, plain, _ = _gz_source(server)
    data = tmp_path / "data"
    fetch([source], data)
    result = CliRunner().invoke(main, [
        "eval", str(cached_tiny_qwen2()), "--benchmarks", "gsm8k", "--data-dir", str(data),
        "--out", str(tmp_path / "out"), "--name", "tiny", "--backend", "hf", "--limit", "2",
        "--max-new-tokens", "4"])
    assert result.exit_code == 0, result.output
    stored = ResultsStore(tmp_path / "out").read("tiny", "gsm8k")
    record = stored.provenance.model_dump()["data_file"]
    assert record["path"] == "gsm8k/test.jsonl" and record["sha256"] == digest(plain)
    assert record["revision"] == COMMIT
