"""The toy reproduction's report: Table-1 and Table-3 style deltas with paired tests, and the
diagnostics that explain them (filters, critic ranking accuracy, stage times)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from dapo_bench.config import Recipe
from dapo_bench.pipeline.runner import RunDir
from dapo_bench.report.results import ResultsStore, SampleRecord, variant_name
from dapo_bench.report.stats import PairedDelta, paired_binary, paired_means


def per_problem(records: list[SampleRecord]) -> dict[str, list[bool]]:
    grouped: dict[str, list[bool]] = defaultdict(list)
    for r in records:
        grouped[r.id.split("#", 1)[0]].append(r.correct)
    return grouped


def delta(store: ResultsStore, base: str, new: str, benchmark: str) -> PairedDelta:
    a = per_problem(store.read_samples(store.read(base, benchmark)) or [])
    b = per_problem(store.read_samples(store.read(new, benchmark)) or [])
    ids = sorted(a)
    if sorted(b) != ids:
        raise ValueError(f"{base} and {new} were evaluated on different problems")
    if all(len(a[i]) == 1 for i in ids):
        return paired_binary([a[i][0] for i in ids], [b[i][0] for i in ids])
    return paired_means([sum(a[i]) / len(a[i]) for i in ids], [sum(b[i]) / len(b[i]) for i in ids])


def _fmt(d: PairedDelta) -> str:
    return f"{d.delta:+.1f} [{d.ci_low:+.1f}, {d.ci_high:+.1f}] p={d.p_value:.2g}"


def toy_report(store: ResultsStore, run: RunDir, recipe: Recipe, base: str, benchmark: str,
               k: int, seconds: dict[str, float]) -> dict[str, Any]:
    benches = {"greedy": benchmark, f"sampled (T=1, k={k})": f"{benchmark}-t1k{k}"}
    rows = [("base", base, None)]
    rows += [(f"DAPO iteration {it}" + (" (paper critic)" if it == 1 else ""),
              variant_name(base, it), base) for it in range(1, recipe.iterations + 1)]
    rows += [("iteration 1, Monte-Carlo advantages", variant_name(base, 1, "mc"), base),
             ("iteration 1, shuffled advantages (control)", variant_name(base, 1, "shuffled"),
              base)]
    if recipe.iterations >= 2:
        rows.append(("iteration 2 vs iteration 1", variant_name(base, 2), variant_name(base, 1)))
    summary: dict[str, Any] = {"results": {}, "deltas": {}, "diagnostics": {}, "seconds": seconds}
    head = "| model | " + " | ".join(f"{b} acc | {b} delta [95% CI] p" for b in benches) + " |"
    lines = ["# Toy reproduction (held-out test split)", "", head,
             "|---|" + "---:|---|" * len(benches)]
    for label, model, against in rows:
        cells = []
        for bench_label, bench in benches.items():
            if not store.exists(model, bench):
                cells += ["-", "-"]
                continue
            acc = store.read(model, bench).value
            summary["results"].setdefault(model, {})[bench_label] = acc
            if against is None:
                cells += [f"{acc:.1f}", ""]
                continue
            d = delta(store, against, model, bench)
            summary["deltas"].setdefault(f"{model} vs {against}", {})[bench_label] = vars(d)
            cells += [f"{acc:.1f}" if against == base else "", _fmt(d)]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for it in range(1, recipe.iterations + 1):
        for stage_dir in sorted(run.root.glob(f"iter{it}/*/manifest.json")):
            stage = stage_dir.parent.name
            data = json.loads(stage_dir.read_text())
            summary["diagnostics"][f"iter{it}/{stage}"] = data["summary"]
    lines += ["", "## Diagnostics", ""]
    for key, value in summary["diagnostics"].items():
        lines.append(f"- `{key}`: " + ", ".join(f"{k}={_short(v)}" for k, v in value.items()))
    lines += ["", "## Wall time (s)", ""]
    lines += [f"- {k}: {v}" for k, v in seconds.items()]
    return {"markdown": "\n".join(lines) + "\n", "summary": summary}


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
