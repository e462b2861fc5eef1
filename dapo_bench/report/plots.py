"""Plots: validation accuracy over policy training steps (the analogue of the paper's Fig. 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dapo_bench.jsonio import read_jsonl


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend (no display on servers and in CI),
    imported when a plot is drawn, not when the package is."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> Path:
    """Lay out, write and close ``fig`` (an open figure holds its memory until closed)."""
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    pyplot().close(fig)
    return path


def plot_training_curves(curves: dict[str, Path], out: Path, metric: str = "val_greedy",
                         title: str = "Validation accuracy during DAPO policy training") -> Path:
    """One line per labelled ``curve.jsonl`` (records with ``step`` and ``metric``)."""
    fig, ax = pyplot().subplots(figsize=(6.4, 4.0), dpi=120)
    for label, path in curves.items():
        if not path.is_file():
            continue
        points = [r for r in read_jsonl(path) if metric in r]
        ax.plot([p["step"] for p in points], [p[metric] for p in points], marker="o",
                markersize=3, label=label)
    ax.set_xlabel("policy training step")
    ax.set_ylabel(f"{metric.replace('_', ' ')} accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, out)
