"""The paper's Tables 1-3 as data, and their conversion into stored results.

The numbers ship with the package (``paper_tables.json``, transcribed from arXiv 2412.18279v1).
Cells the transcription marks uncertain are null there and stay missing here: never guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from dapo_bench.report.results import BenchmarkResult, Provenance, ResultsStore, variant_name

PAPER = "arXiv 2412.18279v1"
# Column key in the JSON -> DAPO iteration it holds.
_ITERATION_OF = {"base": 0, "dapo": 1, "iter1": 1, "iter2": 2}


@dataclass(frozen=True)
class PaperRow:
    model: str
    group: str | None
    values: dict[int, list[float | None]]  # iteration -> values in benchmark order


@dataclass(frozen=True)
class PaperTable:
    name: str
    title: str
    benchmarks: tuple[str, ...]
    rows: tuple[PaperRow, ...]

    def value(self, model: str, iteration: int, benchmark: str) -> float | None:
        for row in self.rows:
            if row.model == model and iteration in row.values:
                return row.values[iteration][self.benchmarks.index(benchmark)]
        return None


@cache
def _raw() -> dict[str, Any]:
    text = resources.files("dapo_bench.report").joinpath("paper_tables.json").read_text("utf-8")
    return json.loads(text)


@cache
def paper_table(name: str) -> PaperTable:
    raw = _raw()[name]
    rows = []
    for row in raw["rows"]:
        values = {_ITERATION_OF[key]: row[key] for key in _ITERATION_OF if key in row}
        rows.append(PaperRow(model=row["model"], group=row.get("group"), values=values))
    return PaperTable(name=name, title=raw["title"], benchmarks=tuple(raw["benchmarks"]),
                      rows=tuple(rows))


def training_setup() -> dict[str, Any]:
    return dict(_raw()["training_setup"])


def paper_results() -> list[BenchmarkResult]:
    """Every known cell of Tables 1-3 as a stored result (one per model variant and benchmark)."""
    results: dict[tuple[str, str], BenchmarkResult] = {}
    for name in ("table1", "table2", "table3"):
        table = paper_table(name)
        for row in table.rows:
            for iteration, values in row.values.items():
                model = variant_name(row.model, iteration)
                for benchmark, value in zip(table.benchmarks, values, strict=True):
                    if value is None:
                        continue
                    key = (model, benchmark)
                    prior = results.get(key)
                    if prior is not None and prior.value != value:
                        raise ValueError(f"paper tables disagree on {key}: "
                                         f"{prior.value} vs {value}")
                    sampling = {"temperature": 0.0, "decoding": "greedy"}
                    results[key] = BenchmarkResult(
                        model=model, benchmark=benchmark, metrics={"accuracy": value},
                        provenance=Provenance(source=f"{PAPER}, {table.name}", sampling=sampling))
    return [results[k] for k in sorted(results)]


def write_paper_results(root: str | Path) -> int:
    """Write the paper's numbers as a results store under ``root``; returns the file count."""
    store = ResultsStore(root)
    results = paper_results()
    for result in results:
        store.write(result)
    return len(results)
