"""Baselines, sweeps and seeds: what iteration 1 trains beside the main DAPO line.

A *job* is one (method, sweep point, seed). Every job trains from iteration 1's artifacts:

- Methods read the shared stages of their run (rollouts, states, Monte-Carlo values, critic)
  and write their own stages as ``<stage>-<variant>``; the variant is the method's name
  (``""`` for DAPO's first seed: the main line) and ``-seed<k>`` for seed k > 0.
- Seed k trains with ``seed + k`` and reruns only the method's seeded stages (the policy; also
  the advantages of ``shuffled``, whose permutation the seed draws); the other stages of the
  method are read from its first seed.
- A sweep point ``KEY=V`` is its own run directory ``<run>/sweep/<field><V>/`` in which the
  stage directories upstream of the first stage that reads KEY are relative symlinks to the
  main run's (nothing upstream reruns); that stage and everything downstream run there, with
  their own fingerprints. Sweep points train the ``dapo`` method, every seed. A point equal to
  the recipe's own value is the main run itself.

Stored names: ``NAME+<tag>[-<field><V>][-seed<k>]`` with ``<tag>`` the method's store tag
(``dapo``, ``dapo-mc``, ``dapo-shuffled``, ``rft``, ``outcome-dpo``, ``outcome-advantage``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from dapo_bench.config import Recipe, _set_dotted
from dapo_bench.errors import UserInputError
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.methods import SHARED_STAGES, Method, get_method, method_names
from dapo_bench.pipeline.runner import STAGES, RunDir

SWEEP_DIR = "sweep"
# The stage that first reads a recipe section; a field elsewhere reaches the rollouts.
SECTION_STAGE = {"rollout": "rollouts", "states": "states", "mc": "mc", "critic": "critic",
                 "advantages": "advantages", "policy": "policy"}
FIELD_STAGE = {"policy.max_length": "ref_logps"}


@dataclass(frozen=True)
class SweepPoint:
    key: str
    value: Any
    text: str  # as written on the command line

    @property
    def tag(self) -> str:
        return re.sub(r"[^A-Za-z0-9._\-]", "_", f"{self.key.rsplit('.', 1)[-1]}{self.text}")


@dataclass(frozen=True)
class Spec:
    """What to train beside the main line: methods, sweeps (one key at a time), seeds."""

    methods: tuple[str, ...]
    sweeps: dict[str, tuple[SweepPoint, ...]] = field(default_factory=dict)
    seeds: int = 1

    def is_plain(self, declared: tuple[str, ...]) -> bool:
        """Only what the experiment declares, once: the reproduction as it always was."""
        return not self.sweeps and self.seeds == 1 and set(self.methods) <= set(declared)


def parse_methods(text: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if text is None:
        return default
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    for name in names:
        if name not in method_names():
            raise UserInputError(f"--variants: unknown method {name!r}; choose from "
                                 f"{', '.join(method_names())}")
    if not names:
        raise UserInputError("--variants: name at least one method")
    return tuple(dict.fromkeys(names))


def check_key(key: str) -> None:
    """The dotted key names a recipe field, or one line says which part does not."""
    model: type[BaseModel] = Recipe
    parts = key.split(".")
    for i, part in enumerate(parts):
        fields = model.model_fields
        if part not in fields:
            where = ".".join(parts[:i]) or "the recipe"
            raise UserInputError(f"--sweep {key}: {where} has no field {part!r}; fields: "
                                 f"{', '.join(fields)}")
        annotation = fields[part].annotation
        if i < len(parts) - 1:
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                raise UserInputError(f"--sweep {key}: {'.'.join(parts[:i + 1])} is not a "
                                     "section")
            model = annotation
    if parts[0] == "eval":
        raise UserInputError(f"--sweep {key}: evaluation settings train nothing; sweep a "
                             "training field (e.g. policy.beta)")


def first_stage(key: str) -> str:
    return FIELD_STAGE.get(key) or SECTION_STAGE.get(key.split(".", 1)[0], "rollouts")


def swept_recipe(recipe: Recipe, key: str, value: Any, text: str) -> Recipe:
    data = recipe.model_dump(mode="json")
    _set_dotted(data, key, value)
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise UserInputError(f"--sweep {key}={text}: {err['msg']}") from None


def parse_sweeps(items: tuple[str, ...] | list[str], recipe: Recipe
                 ) -> dict[str, tuple[SweepPoint, ...]]:
    """``KEY=V1,V2,...`` (YAML values), each checked against the recipe's schema."""
    sweeps: dict[str, tuple[SweepPoint, ...]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key or not values.strip():
            raise UserInputError(f"--sweep takes KEY=V1,V2,... (e.g. policy.beta=0.01,0.05), "
                                 f"got {item!r}")
        check_key(key)
        points = []
        for text in (v.strip() for v in values.split(",")):
            try:
                value = yaml.safe_load(text)
            except yaml.YAMLError:
                raise UserInputError(f"--sweep {key}={text}: not a YAML value") from None
            swept_recipe(recipe, key, value, text)  # the value's type, checked now
            points.append(SweepPoint(key, value, text))
        sweeps[key] = tuple(points)
    return sweeps


def make_spec(methods: tuple[str, ...], sweeps: dict[str, tuple[SweepPoint, ...]],
              seeds: int) -> Spec:
    if seeds < 1:
        raise UserInputError(f"--seeds: {seeds} training seeds; pass N >= 1")
    return Spec(methods, sweeps, seeds)


@dataclass(frozen=True)
class Job:
    method: Method
    seed: int
    sweep: SweepPoint | None
    root: Path  # the run directory the job trains in
    recipe: Recipe  # the (swept) recipe, before the method's and the seed's changes

    @property
    def variant(self) -> str:
        return _variant(self.method, self.seed)

    def store_name(self, base: str) -> str:
        return job_store_name(base, self.method.store_tag,
                              self.sweep.tag if self.sweep else "", self.seed)

    def context(self, progress: bool = True, tracker: Any = None) -> StageContext:
        recipe = self.method.recipe_for(self.recipe)
        if self.seed:
            recipe = recipe.model_copy(update={"seed": recipe.seed + self.seed})
        first = _variant(self.method, 0)
        aliases = {stage: (f"{stage}-{first}" if first else stage)
                   for stage, _ in self.method.stages if stage not in self.method.seeded}
        return StageContext(RunDir(self.root), recipe, 1, progress=progress,
                            variant=self.variant, aliases=aliases if self.seed else {},
                            tracker=tracker)


def _variant(method: Method, seed: int) -> str:
    name = "" if method.name == "dapo" else method.name
    if seed:
        name = f"{name or method.name}-seed{seed}"
    return name


def job_store_name(base: str, tag: str, sweep_tag: str = "", seed: int = 0) -> str:
    """The naming rule: NAME+<method tag>[-<field><value>][-seed<k>]."""
    return f"{base}+{tag}" + (f"-{sweep_tag}" if sweep_tag else "") + (
        f"-seed{seed}" if seed else "")


def plan_jobs(run_root: Path, recipe: Recipe, spec: Spec) -> list[Job]:
    jobs = [Job(get_method(m), k, None, run_root, recipe)
            for m in spec.methods for k in range(spec.seeds)]
    dapo = get_method("dapo")
    for points in spec.sweeps.values():
        for point in points:
            swept = swept_recipe(recipe, point.key, point.value, point.text)
            root = run_root if swept == recipe else run_root / SWEEP_DIR / point.tag
            jobs += [Job(dapo, k, point, root, swept) for k in range(spec.seeds)]
    return jobs


def link_upstream(run_root: Path, point_root: Path, key: str) -> list[str]:
    """Symlink the main run's iteration-1 stage directories upstream of ``first_stage(key)``
    into the sweep point's run directory; return the linked names."""
    upstream = STAGES[:STAGES.index(first_stage(key))]
    source, target = run_root / "iter1", point_root / "iter1"
    target.mkdir(parents=True, exist_ok=True)
    linked = []
    for stage_dir in sorted(source.iterdir()) if source.is_dir() else []:
        base = next((s for s in STAGES if stage_dir.name == s
                     or stage_dir.name.startswith(s + "-")), None)
        if base not in upstream:
            continue
        link = target / stage_dir.name
        if not link.exists() and not link.is_symlink():
            os.symlink(os.path.relpath(stage_dir, target), link, target_is_directory=True)
        linked.append(stage_dir.name)
    return linked


def run_jobs(jobs: list[Job], run_root: Path, *, progress: bool = True, hook: Any = None,
             timer: Callable[[str], Any] | None = None, base: str = "model",
             tracker: Any = None) -> None:
    """Train every job (a finished one is skipped by its fingerprints). Shared stages of a
    sweep point run once for all its seeds."""
    import contextlib

    from dapo_bench.pipeline import launch
    from dapo_bench.pipeline.chain import run_iteration

    prepared: set[Path] = set()
    for job in jobs:
        if job.root != run_root and job.root not in prepared:
            key = job.sweep.key if job.sweep else ""
            if launch.is_main():  # one writer of the links; the other ranks wait for them
                link_upstream(run_root, job.root, key)
            launch.wait()
            linked = [p.name for p in (job.root / "iter1").iterdir() if p.is_symlink()]
            linked = [s for s in SHARED_STAGES if s in linked]
            run = RunDir(job.root)
            run.bind_recipe(job.recipe)
            todo = tuple(s for s in SHARED_STAGES if s not in linked)
            with timer(f"sweep {job.sweep.tag if job.sweep else ''} shared stages") \
                    if timer else contextlib.nullcontext():
                run_iteration(StageContext(run, job.recipe, 1, progress=progress,
                                           tracker=tracker), todo)
            prepared.add(job.root)
        with timer(f"train {job.store_name(base)}") if timer else contextlib.nullcontext():
            run_job(job, progress=progress, hook=hook, tracker=tracker)


def run_job(job: Job, *, progress: bool = True, hook: Any = None, tracker: Any = None) -> None:
    from dapo_bench.pipeline.methods.run import run_method_stage

    ctx = job.context(progress, tracker)
    job.method.check_needs(ctx)
    for stage, fn in job.method.stages:
        if job.seed and stage not in job.method.seeded:
            continue
        run_method_stage(ctx, stage, fn, hook, trainer=stage in job.method.uses_trainer)
