"""Experiment trackers: TensorBoard by default, W&B and MLflow when installed.

Every stage's figures and every trainer's curves go through one small interface, under the
same names in every adapter (``iter1/rollouts/sample_accuracy``, ``iter1/critic/loss``, ...),
so a run reads the same in each tool. A tracker's package is imported only when a recipe asks
for it; a missing one is a one-line error before any stage starts. Under ``accelerate launch``
only the main process writes (the other ranks get a tracker that drops everything).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from dapo_bench.config import Recipe
from dapo_bench.errors import UserInputError

TENSORBOARD_DIR = "tensorboard"  # <run>/tensorboard: `tensorboard --logdir` it
_PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb", "mlflow": "mlflow"}


class Tracker(Protocol):
    def scalar(self, name: str, value: float, step: int) -> None: ...

    def histogram(self, name: str, values: Sequence[float], step: int) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class NullTracker:
    """Drops everything: non-main ranks, and recipes with ``report_to: []``."""

    def scalar(self, name: str, value: float, step: int) -> None:
        pass

    def histogram(self, name: str, values: Sequence[float], step: int) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class TensorBoardTracker:
    """Event files under ``log_dir``, written with torch's ``SummaryWriter``."""

    def __init__(self, log_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(log_dir))

    def scalar(self, name: str, value: float, step: int) -> None:
        self.writer.add_scalar(name, value, step)

    def histogram(self, name: str, values: Sequence[float], step: int) -> None:
        import numpy as np

        if len(values):
            self.writer.add_histogram(name, np.asarray(values, dtype=np.float64), step)

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class WandbTracker:
    """A W&B run. Each figure is plotted against its own step (``<name>/step``): the stages
    and trainers restart their step counts, and W&B's global step must only grow."""

    def __init__(self, project: str, name: str, directory: Path) -> None:
        import wandb

        directory.mkdir(parents=True, exist_ok=True)
        self.wandb = wandb
        self.run = wandb.init(project=project, name=name, dir=str(directory))
        self._defined: set[str] = set()

    def _log(self, name: str, value: Any, step: int) -> None:
        if name not in self._defined:
            self.run.define_metric(f"{name}/step", hidden=True)
            self.run.define_metric(name, step_metric=f"{name}/step")
            self._defined.add(name)
        self.run.log({name: value, f"{name}/step": step})

    def scalar(self, name: str, value: float, step: int) -> None:
        self._log(name, value, step)

    def histogram(self, name: str, values: Sequence[float], step: int) -> None:
        if len(values):
            self._log(name, self.wandb.Histogram(list(values)), step)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.run.finish()


class MlflowTracker:
    """An MLflow run. MLflow has no histograms: their count, mean, min and max are logged."""

    def __init__(self, experiment: str, name: str) -> None:
        import mlflow

        self.mlflow = mlflow
        mlflow.set_experiment(experiment)
        self.run = mlflow.start_run(run_name=name)

    def scalar(self, name: str, value: float, step: int) -> None:
        self.mlflow.log_metric(name, value, step=step)

    def histogram(self, name: str, values: Sequence[float], step: int) -> None:
        if len(values):
            for key, value in (("count", len(values)), ("mean", sum(values) / len(values)),
                               ("min", min(values)), ("max", max(values))):
                self.mlflow.log_metric(f"{name}/{key}", float(value), step=step)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.mlflow.end_run()


class FanOut:
    """Several trackers behind one."""

    def __init__(self, trackers: list[Tracker]) -> None:
        self.trackers = trackers

    def scalar(self, name: str, value: float, step: int) -> None:
        for t in self.trackers:
            t.scalar(name, value, step)

    def histogram(self, name: str, values: Sequence[float], step: int) -> None:
        for t in self.trackers:
            t.histogram(name, values, step)

    def flush(self) -> None:
        for t in self.trackers:
            t.flush()

    def close(self) -> None:
        for t in self.trackers:
            t.close()


def require_trackers(recipe: Recipe) -> None:
    """One clear line when the recipe names a tracker whose package is not installed."""
    for name in recipe.logging.report_to:
        package = _PACKAGES[name]
        if importlib.util.find_spec(package) is None:
            raise UserInputError(f"logging.report_to names {name!r}, which is not installed: "
                                 f"pip install {package} (or remove it from the recipe)")


def open_tracker(recipe: Recipe, run_dir: str | Path) -> Tracker:
    """The recipe's trackers for ``run_dir`` (checked first); a dropping one off the main
    process or with ``report_to: []``."""
    from dapo_bench.pipeline import launch

    require_trackers(recipe)
    if not launch.is_main() or not recipe.logging.report_to:
        return NullTracker()
    root = Path(run_dir)
    project = recipe.logging.project or recipe.name
    opened: list[Tracker] = []
    for name in dict.fromkeys(recipe.logging.report_to):
        if name == "tensorboard":
            opened.append(TensorBoardTracker(root / TENSORBOARD_DIR))
        elif name == "wandb":
            opened.append(WandbTracker(project, root.name, root / "wandb"))
        else:
            opened.append(MlflowTracker(project, root.name))
    return opened[0] if len(opened) == 1 else FanOut(opened)
