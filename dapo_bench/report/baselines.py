"""The baselines report: every method's accuracy over seeds, and its paired tests.

Per benchmark (and evaluation mode), each arm (a method, or DAPO at a sweep point) gets:

- its accuracy: the mean over its seeds, with a 95% interval over problems: a t interval of
  the per-problem scores pooled over seeds (a problem's score is the mean correctness of all
  its samples in every seed), so it reflects which problems were drawn and, pooled, the seeds;
- each seed's accuracy, to show the seed spread;
- its delta against the base and against DAPO (the ``dapo`` arm, pooled the same way), paired
  by problem: McNemar's exact test when every pooled score is 0 or 1 (one greedy seed), else an
  exact sign test on the per-problem differences with a t interval (``report.stats``).

Everything is recomputed from the stored per-sample records. Plots (PNG beside the markdown):
accuracy against each swept field, and a bar chart of the methods with their intervals.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from scipy.stats import t as student_t

from dapo_bench.jsonio import atomic_write_json, atomic_write_text
from dapo_bench.report.results import ResultsStore
from dapo_bench.report.stats import PairedDelta, paired_binary, paired_means


def pooled_scores(store: ResultsStore, names: list[str], benchmark: str
                  ) -> dict[str, float] | None:
    """Per-problem mean correctness over every sample of every named model (its seeds);
    None when none is stored."""
    outcomes: dict[str, list[bool]] = defaultdict(list)
    found = False
    for name in names:
        if not store.exists(name, benchmark):
            continue
        found = True
        for record in store.read_samples(store.read(name, benchmark)) or []:
            outcomes[record.id.split("#", 1)[0]].append(record.correct)
    if not found:
        return None
    return {pid: sum(v) / len(v) for pid, v in outcomes.items()}


def interval(scores: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and t interval over problems, in percent."""
    n = len(scores)
    mean = sum(scores) / n
    if n < 2:
        return 100 * mean, 100 * mean, 100 * mean
    sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / (n - 1))
    half = float(student_t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return 100 * mean, 100 * (mean - half), 100 * (mean + half)


def paired(against: dict[str, float], new: dict[str, float]) -> PairedDelta:
    ids = sorted(against)
    if sorted(new) != ids:
        raise ValueError("the two arms were evaluated on different problems")
    a, b = [against[i] for i in ids], [new[i] for i in ids]
    if all(x in (0.0, 1.0) for x in a + b):
        return paired_binary([x == 1.0 for x in a], [x == 1.0 for x in b])
    return paired_means(a, b)


def arms(jobs: list[Any], base: str) -> dict[str, dict[str, Any]]:
    """Arm label -> {method, sweep key, value, store names over seeds}, methods first."""
    out: dict[str, dict[str, Any]] = {}
    for job in sorted(jobs, key=lambda j: j.sweep is not None):
        label = job.method.name if job.sweep is None else \
            f"dapo {job.sweep.key}={job.sweep.text}"
        arm = out.setdefault(label, {"method": job.method.name, "names": [],
                                     "key": job.sweep.key if job.sweep else None,
                                     "value": job.sweep.value if job.sweep else None})
        arm["names"].append(job.store_name(base))
    return out


def _fmt(d: PairedDelta) -> str:
    return f"{d.delta:+.1f} [{d.ci_low:+.1f}, {d.ci_high:+.1f}] p={d.p_value:.2g}"


def baselines_summary(store: ResultsStore, base: str, jobs: list[Any],
                      benches: dict[str, str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for label, bench in benches.items():
        base_scores = pooled_scores(store, [base], bench)
        rows: dict[str, Any] = {}
        all_arms = arms(jobs, base)
        dapo = pooled_scores(store, all_arms["dapo"]["names"], bench) \
            if "dapo" in all_arms else None
        for arm_label, arm in all_arms.items():
            scores = pooled_scores(store, arm["names"], bench)
            if scores is None:
                continue
            mean, low, high = interval(list(scores.values()))
            row: dict[str, Any] = {
                "method": arm["method"], "key": arm["key"], "value": arm["value"],
                "models": arm["names"], "accuracy": mean, "low": low, "high": high,
                "seeds": {n: store.read(n, bench).value for n in arm["names"]
                          if store.exists(n, bench)}}
            if base_scores is not None:
                row["vs_base"] = vars(paired(base_scores, scores))
            if dapo is not None and arm_label != "dapo":
                row["vs_dapo"] = vars(paired(dapo, scores))
            rows[arm_label] = row
        summary[label] = {"benchmark": bench, "base": interval(list(base_scores.values()))
                          if base_scores else None, "arms": rows}
    return summary


def render(summary: dict[str, Any], title: str) -> str:
    lines = [f"# Baselines: {title}", "",
             "Accuracy: mean over seeds [95% t interval over problems, seeds pooled]; deltas "
             "paired by problem, seeds pooled (McNemar exact for one greedy seed, else exact "
             "sign test).", ""]
    for label, bench in summary.items():
        lines += [f"## {label}", ""]
        if bench["base"]:
            lines += [f"base: {bench['base'][0]:.1f} [{bench['base'][1]:.1f}, "
                      f"{bench['base'][2]:.1f}]", ""]
        lines += ["| method | seeds | accuracy [95% CI] | per seed | vs base | vs DAPO |",
                  "|---|---:|---|---|---|---|"]
        for arm, row in bench["arms"].items():
            seeds = ", ".join(f"{v:.1f}" for v in row["seeds"].values())
            vs_base = _fmt(PairedDelta(**row["vs_base"])) if "vs_base" in row else ""
            vs_dapo = _fmt(PairedDelta(**row["vs_dapo"])) if "vs_dapo" in row else ""
            lines.append(f"| {arm} | {len(row['seeds'])} | {row['accuracy']:.1f} "
                         f"[{row['low']:.1f}, {row['high']:.1f}] | {seeds} | {vs_base} | "
                         f"{vs_dapo} |")
        lines.append("")
    return "\n".join(lines)


def plot_baselines(summary: dict[str, Any], out_dir: Path, tag: str = "") -> list[Path]:
    """A bar chart of the methods and one accuracy curve per swept field."""
    from dapo_bench.report.plots import pyplot, save_figure

    plt = pyplot()

    written = []
    benches = list(summary)
    methods = [a for a in next(iter(summary.values()))["arms"]
               if summary[benches[0]]["arms"][a]["key"] is None] if benches else []
    if methods:
        fig, ax = plt.subplots(figsize=(7.0, 4.0), dpi=120)
        width = 0.8 / len(benches)
        for j, label in enumerate(benches):
            rows = [summary[label]["arms"].get(m) for m in methods]
            xs = [i + j * width for i in range(len(methods))]
            means = [r["accuracy"] if r else 0 for r in rows]
            errs = [[r["accuracy"] - r["low"] if r else 0 for r in rows],
                    [r["high"] - r["accuracy"] if r else 0 for r in rows]]
            ax.bar(xs, means, width, yerr=errs, capsize=3, label=label)
        ax.set_xticks([i + width * (len(benches) - 1) / 2 for i in range(len(methods))],
                      methods, rotation=20)
        ax.set_ylabel("accuracy (%), mean over seeds, 95% CI")
        ax.set_title("Methods trained on the same iteration-1 artifacts")
        ax.legend(fontsize=7)
        written.append(save_figure(fig, out_dir / f"baselines-methods{tag}.png"))
    keys = {r["key"] for b in summary.values() for r in b["arms"].values() if r["key"]}
    for key in sorted(keys):
        fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
        for label in benches:
            rows = sorted((r for r in summary[label]["arms"].values() if r["key"] == key),
                          key=lambda r: r["value"])
            ax.errorbar([r["value"] for r in rows], [r["accuracy"] for r in rows],
                        yerr=[[r["accuracy"] - r["low"] for r in rows],
                              [r["high"] - r["accuracy"] for r in rows]],
                        marker="o", capsize=3, label=label)
        ax.set_xlabel(key)
        ax.set_ylabel("accuracy (%), mean over seeds, 95% CI")
        ax.set_title(f"DAPO against {key}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        written.append(save_figure(fig, out_dir / f"baselines-{key.rsplit('.', 1)[-1]}{tag}.png"))
    return written


def write_baselines_report(store: ResultsStore, results_dir: Path, base: str, jobs: list[Any],
                           benches: dict[str, str], title: str, tag: str = ""
                           ) -> dict[str, Any]:
    summary = baselines_summary(store, base, jobs, benches)
    markdown = render(summary, title)
    plots = plot_baselines(summary, results_dir, tag)
    markdown += "\n" + "\n".join(f"![{p.stem}]({p.name})" for p in plots) + "\n"
    atomic_write_text(results_dir / f"baselines{tag}.md", markdown)
    atomic_write_json(results_dir / f"baselines{tag}.json", summary)
    return {"markdown": markdown, "summary": summary}
