"""The figures of a run, read from its own files: one source for the tracker and the report.

Names are ``iter<k>/<stage dir>/<figure>``: a finished stage's numeric summary fields (step
0), the trainers' per-step log (``train_log.json``: loss, KL to the reference, learning rate,
gradient norm), the policy's validation curve (``curve.jsonl``), and two histograms read from
the stages' item logs: the Monte-Carlo values of the states and the advantages of the kept
actions. Both streams are read once, after the stage has finished.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dapo_bench.jsonio import read_jsonl
from dapo_bench.pipeline.runner import MANIFEST, Manifest, iter_items

TRAIN_LOG_KEYS = ("loss", "kl", "learning_rate", "grad_norm")  # per trainer step
TRAINER_STAGES = ("critic", "policy")


@dataclass
class Figures:
    scalars: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    histograms: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, step: int, value: float) -> None:
        self.scalars.setdefault(name, []).append((step, float(value)))


def base_stage(stage_dir_name: str) -> str:
    """``policy-mc`` -> ``policy`` (a variant's stage folder)."""
    return stage_dir_name.split("-", 1)[0]


def train_log_scalars(entry: dict[str, Any]) -> dict[str, float]:
    """The curve points of one trainer log entry (the Trainer also logs run totals, which
    carry none of these keys)."""
    return {k: float(entry[k]) for k in TRAIN_LOG_KEYS
            if isinstance(entry.get(k), int | float) and not isinstance(entry[k], bool)}


def summary_figures(prefix: str, manifest: Manifest, directory: Path) -> Figures:
    """What a stage logs when it finishes (its trainer curve went out live)."""
    figures = Figures()
    for key, value in manifest.summary.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            figures.add(f"{prefix}/{key}", 0, value)
    stage = base_stage(directory.name)
    if stage == "mc":
        figures.histograms[f"{prefix}/value_histogram"] = [
            float(r["mc"]) for r in iter_items(directory)]
    elif stage == "advantages":
        figures.histograms[f"{prefix}/advantage_histogram"] = [
            float(a["advantage"]) for r in iter_items(directory) for a in r["actions"]]
    elif stage == "policy" and (directory / "curve.jsonl").is_file():
        for point in read_jsonl(directory / "curve.jsonl"):
            for key, value in point.items():
                if key != "step" and isinstance(value, int | float):
                    figures.add(f"{prefix}/{key}", int(point["step"]), value)
    return figures


def trainer_figures(prefix: str, directory: Path) -> Figures:
    """A finished trainer stage's per-step curves, from ``train_log.json``."""
    figures = Figures()
    path = directory / "train_log.json"
    if path.is_file():
        for entry in json.loads(path.read_text(encoding="utf-8")):
            for key, value in train_log_scalars(entry).items():
                figures.add(f"{prefix}/{key}", int(entry["step"]), value)
    return figures


def run_figures(root: Path) -> Figures:
    """Every finished stage's figures, in iteration and stage order."""
    figures = Figures()
    manifests = sorted(root.glob(f"iter*/*/{MANIFEST}"),
                       key=lambda p: (int(p.parent.parent.name.removeprefix("iter") or 0),
                                      p.parent.name))
    for path in manifests:
        directory = path.parent
        manifest = Manifest.read(path)
        assert manifest is not None
        prefix = f"{directory.parent.name}/{directory.name}"
        parts = [summary_figures(prefix, manifest, directory)]
        if base_stage(directory.name) in TRAINER_STAGES:
            parts.append(trainer_figures(prefix, directory))
        for part in parts:
            for name, points in part.scalars.items():
                figures.scalars.setdefault(name, []).extend(points)
            figures.histograms.update(part.histograms)
    return figures
