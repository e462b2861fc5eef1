"""`dapo-bench report RUN`: the run's curves and histograms as PNGs.

The figures are the ones the tracker received (:mod:`dapo_bench.report.figures` reads them
from the run's own files for both), one PNG per figure with a line or histogram per iteration
and variant: ``critic_loss.png``, ``policy_kl.png``, ``mc_value_histogram.png``, ...
Read-only on the run directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from dapo_bench.errors import UserInputError
from dapo_bench.jsonio import atomic_write_json, read_json
from dapo_bench.pipeline.runner import RunDir
from dapo_bench.report.figures import base_stage, run_figures

RESULTS_POINTER = "results.json"  # <run>/results.json: where reproduce put this run's report


def record_results_dir(run: RunDir, results_dir: Path, tag: str) -> None:
    """Remember (relative to the run) where this run's ``report{tag}.md`` went."""
    atomic_write_json(run.root / RESULTS_POINTER, {
        "results": os.path.relpath(results_dir, run.root), "tag": tag})


def default_out(run: RunDir) -> tuple[Path, str]:
    """The folder of the run's ``report.md`` and its tag, or a clear error."""
    path = run.root / RESULTS_POINTER
    if not path.is_file():
        raise UserInputError(f"{run.root} has no results directory (it was not made by "
                             "`dapo-bench reproduce`); pass --out DIR")
    data = read_json(path)
    return (run.root / data["results"]).resolve(), str(data.get("tag", ""))


def _label(iteration: str, stage: str) -> str:
    return iteration + (f" {stage.split('-', 1)[1]}" if "-" in stage else "")


def render_curves(root: Path, out: Path, tag: str = "") -> list[Path]:
    """Write one PNG per curve (two points or more) and per histogram; return the paths."""
    run = RunDir(root)
    run.recipe()  # a clear error when this is no run directory
    figures = run_figures(root)
    if not figures.scalars:
        raise UserInputError(f"{root}: no stage has finished yet; nothing to plot")
    lines: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for name, points in figures.scalars.items():
        if len(points) < 2:  # a summary number, not a curve
            continue
        iteration, stage, metric = name.split("/", 2)
        lines.setdefault(f"{base_stage(stage)}_{metric}", {})[_label(iteration, stage)] = \
            sorted(points)
    hists: dict[str, dict[str, list[float]]] = {}
    for name, values in figures.histograms.items():
        iteration, stage, metric = name.split("/", 2)
        if values:
            hists.setdefault(f"{base_stage(stage)}_{metric}", {})[_label(iteration, stage)] = \
                values

    from dapo_bench.report.plots import pyplot, save_figure

    plt = pyplot()

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for key, series in [*lines.items(), *hists.items()]:
        fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
        for label, data in series.items():
            if key in hists:
                ax.hist(data, bins=30, histtype="step", label=f"{label} (n={len(data)})")
            else:
                ax.plot([s for s, _ in data], [v for _, v in data], marker="o", markersize=2,
                        label=label)
        stage, _, metric = key.partition("_")
        ax.set_xlabel(metric.removesuffix("_histogram") if key in hists else "step")
        ax.set_ylabel("count" if key in hists else metric.replace("_", " "))
        ax.set_title(f"{stage}: {metric.replace('_', ' ')}")
        ax.grid(alpha=0.3)
        ax.legend()
        written.append(save_figure(fig, out / f"{key}{tag}.png"))
    return written
