"""A reproduction's report: every model's accuracy and every delta with its 95% confidence
interval and exact paired p-value, plus the stage diagnostics that explain them.

Deltas are paired over problems: McNemar's exact test for one greedy sample per problem, a
paired test on per-problem means for sampled modes (``dapo_bench.report.stats``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

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


def comparisons(base: str, iterations: int, variants: dict[str, str]
                ) -> list[tuple[str, str, str | None]]:
    """(label, model, compared against) rows: the base, each iteration and variant against
    the base, and each later iteration against the one before."""
    rows: list[tuple[str, str, str | None]] = [("base", base, None)]
    rows += [(f"DAPO iteration {it}", variant_name(base, it), base)
             for it in range(1, iterations + 1)]
    rows += [(f"iteration 1, {label}", variant_name(base, 1, name), base)
             for name, label in variants.items()]
    rows += [(f"iteration {it} vs iteration {it - 1}", variant_name(base, it),
              variant_name(base, it - 1)) for it in range(2, iterations + 1)]
    return rows


def experiment_report(store: ResultsStore, run: RunDir, title: str, base: str,
                      iterations: int, variants: dict[str, str], benches: dict[str, str],
                      seconds: dict[str, float]) -> dict[str, Any]:
    """Markdown and a JSON summary. ``variants`` maps a variant to its row label,
    ``benches`` a column label to a stored benchmark."""
    summary: dict[str, Any] = {"results": {}, "deltas": {}, "diagnostics": {}, "seconds": seconds}
    head = "| model | " + " | ".join(f"{b} acc | {b} delta [95% CI] p" for b in benches) + " |"
    lines = [f"# {title}", "", head, "|---|" + "---:|---|" * len(benches)]
    for label, model, against in comparisons(base, iterations, variants):
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
            if not store.exists(against, bench):
                cells += [f"{acc:.1f}", "-"]
                continue
            d = delta(store, against, model, bench)
            summary["deltas"].setdefault(f"{model} vs {against}", {})[bench_label] = vars(d)
            cells += [f"{acc:.1f}" if against == base else "", _fmt(d)]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for manifest in sorted(run.root.glob("iter*/*/manifest.json")):
        key = f"{manifest.parent.parent.name}/{manifest.parent.name}"
        summary["diagnostics"][key] = json.loads(manifest.read_text())["summary"]
    lines += ["", "## Diagnostics", ""]
    for key, value in summary["diagnostics"].items():
        lines.append(f"- `{key}`: " + ", ".join(f"{k}={_short(v)}" for k, v in value.items()))
    lines += ["", "## Wall time (s)", ""]
    lines += [f"- {k}: {v}" for k, v in seconds.items()]
    return {"markdown": "\n".join(lines) + "\n", "summary": summary}


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
