"""Delta tables: golden renderings of the paper's tables, deltas recomputed from stored values."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from dapo_bench.cli import main
from dapo_bench.report.paper import paper_table, write_paper_results
from dapo_bench.report.results import BenchmarkResult, ResultsStore
from dapo_bench.report.tables import FORMATS, build_table, render

REPO = Path(__file__).resolve().parents[1]
PAPER_RESULTS = REPO / "results" / "paper"
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("DAPO_BENCH_UPDATE_GOLDEN") == "1"
EXT = {"rich": "txt", "md": "md", "latex": "tex", "csv": "csv"}


def test_stored_paper_results_match_the_shipped_transcription(tmp_path: Path) -> None:
    write_paper_results(tmp_path)
    fresh = {p.relative_to(tmp_path): p.read_text() for p in tmp_path.rglob("*.json")}
    stored = {p.relative_to(PAPER_RESULTS): p.read_text() for p in PAPER_RESULTS.rglob("*.json")}
    assert fresh == stored


@pytest.mark.parametrize("name", ["table1", "table2", "table3"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("with_paper", [False, True])
def test_golden_rendering(name: str, fmt: str, with_paper: bool) -> None:
    text = render(build_table(name, ResultsStore(PAPER_RESULTS), with_paper=with_paper), fmt)
    golden = GOLDEN / f"{name}{'-paper' if with_paper else ''}.{EXT[fmt]}"
    if UPDATE:
        golden.write_text(text)
    assert golden.is_file(), f"{golden} missing: run with DAPO_BENCH_UPDATE_GOLDEN=1"
    assert text == golden.read_text()


@pytest.mark.parametrize("name", ["table1", "table2", "table3"])
def test_deltas_are_recomputed_from_stored_values(name: str) -> None:
    result = CliRunner().invoke(main, ["table", name, "--results", str(PAPER_RESULTS),
                                       "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    table = paper_table(name)
    assert len({r["model"] for r in rows}) == len(table.rows)
    store = ResultsStore(PAPER_RESULTS).results()
    checked = 0
    for row in rows:
        if row["variant"] == "base":
            base = row
            continue
        for bench in table.benchmarks:
            if row[bench] == "-" or base[bench] == "-":
                assert row[f"{bench}_delta"] == ""
                continue
            model = row["model"] + ("+dapo" if row["variant"] in {"+ DAPO", "iter 1"}
                                    else "+dapo-iter2")
            value = store[(model, bench)].value
            assert float(row[bench]) == pytest.approx(value, abs=0.005)
            expected = value - store[(row["model"], bench)].value
            assert float(row[f"{bench}_delta"]) == pytest.approx(expected, abs=0.005)
            checked += 1
    assert checked >= len(table.rows) * len(table.benchmarks) - 2


def test_table1_lists_all_seven_models_and_missing_cells_as_dash() -> None:
    result = CliRunner().invoke(main, ["table", "table1", "--results", str(PAPER_RESULTS)])
    assert result.exit_code == 0
    for row in paper_table("table1").rows:
        assert row.model in result.output
    # Llama-3.1-8B-Instruct + DAPO has two uncertain cells: shown as "-", never 0.
    line = next(ln for ln in result.output.splitlines() if "+ DAPO" in ln and "53.62" in ln)
    assert line.count(" - ") == 2 and " 0.00 " not in line


def test_our_models_join_the_table_after_the_papers(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    for model, acc in (("toy", 40.0), ("toy+dapo", 47.5)):
        store.write(BenchmarkResult(model=model, benchmark="math", metrics={"accuracy": acc}))
    text = render(build_table("table1", store, benchmarks=("math",)), "md")
    assert "| ours | toy | 40.00 |" in text
    assert "| + DAPO | 47.50 (+7.50) |" in text


def test_missing_results_dir_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["table", "table1", "--results", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "does not exist" in result.output
