"""Plots: validation accuracy over policy training steps (the analogue of the paper's Fig. 2)."""

from __future__ import annotations

from pathlib import Path

from dapo_bench.jsonio import read_jsonl


def plot_training_curves(curves: dict[str, Path], out: Path, metric: str = "val_greedy",
                         title: str = "Validation accuracy during DAPO policy training") -> Path:
    """One line per labelled ``curve.jsonl`` (records with ``step`` and ``metric``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
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
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
