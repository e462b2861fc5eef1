"""Generation workers: one generator (and one grading session) per worker, local or on Ray.

A stage hands a pool *jobs*: prompts (text or token ids), sampling parameters, one request seed
per prompt and, when the samples are to be graded, the problem and the text that precedes each
completion in the graded response. A worker generates, grades what it generated and returns
both. Because every prompt carries its own seed and a stage cuts its jobs the same way whatever
the pool, the samples do not depend on how many workers there are or which one ran a job.

- :class:`LocalPool` runs jobs one after another in this process (the default).
- :class:`RayPool` starts ``workers`` Ray actors, each owning one engine (the pattern OpenRLHF
  and verl use; never one vLLM process with ``data_parallel_size > 1``) with
  ``gpus_per_worker`` GPUs for its tensor-parallel group, and yields results as they finish.
  Ray restarts a dead actor and retries its task (bounded by ``max_retries``); a job whose
  worker still dies goes to another actor, and a job that two workers died on (or the last
  worker) is an error that names the job's first item.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dapo_bench.errors import UserInputError
from dapo_bench.generation.base import BaseGenerator, Completion, Prompt, SamplingParams

ACTOR_PREFIX = "dapo-bench-worker"
#: A job on which this many workers died (each after Ray's own restarts and retries) is not
#: handed to another: it is the job, not the worker.
POISON_KILLS = 2


@dataclass
class Job:
    key: str  # the first item's id: what an error names
    prompts: list[Prompt]
    params: SamplingParams
    seeds: list[int]
    # Grading (optional): one problem per prompt; ``prefixes[i]`` precedes each completion of
    # prompt i in the graded response (a Monte-Carlo state's steps).
    problems: list[Any] | None = None
    prefixes: list[str] | None = None
    # The checkpoint to generate with, when it is not the pool's first: a worker switches to
    # it before the job (new weights into its engine where it can); a worker Ray restarted
    # with its first spec switches too.
    model: str | None = None


@dataclass
class JobResult:
    key: str
    completions: list[list[Completion]]
    grades: list[list[Any]] | None = None  # SampleGrade per completion
    worker: int = 0


@dataclass(frozen=True)
class WorkerSpec:
    """What each worker loads: a model on a backend, and the benchmark it grades."""

    model: str
    backend: str = "auto"
    dtype: str = "float32"
    seed: int = 0
    benchmark: str | None = None
    generator_kwargs: dict[str, Any] = field(default_factory=dict)


class GenerationWorker:
    """One generator and one grading session; the body of every local or Ray worker."""

    def __init__(self, spec: WorkerSpec, index: int = 0, threads: int | None = None, *,
                 keep_engine: bool = False) -> None:
        if threads:
            import torch

            torch.set_num_threads(threads)

        self.index, self.spec, self.model = index, spec, spec.model
        # A kept engine outlives the worker for the next stage or evaluation (one process);
        # a Ray actor's engine dies with its actor.
        self.keep_engine = keep_engine
        self.generator = self._engine(spec.model)
        self.grader: Any = None
        if spec.benchmark is not None:
            from dapo_bench.grading import grading_session

            self.grader = grading_session(spec.benchmark)

    def describe(self) -> dict[str, Any]:
        return self.generator.describe()

    def switch(self, model: str) -> None:
        """Generate with ``model`` from now on: its weights into this worker's engine when
        the backend can take them, else a new engine."""
        from dapo_bench.generation import engines

        engines.release(self.generator)  # kept for the acquire below, or closed
        self.generator = self._engine(model)
        self.model = model

    def _engine(self, model: str) -> BaseGenerator:
        from dapo_bench.generation import engines

        spec = self.spec
        return engines.acquire(model, backend=spec.backend, dtype=spec.dtype, seed=spec.seed,
                               **spec.generator_kwargs)

    def run(self, job: Job) -> JobResult:
        if job.model is not None and job.model != self.model:
            self.switch(job.model)
        groups = self.generator.generate(job.prompts, job.params, seeds=job.seeds)
        grades = None
        if job.problems is not None:
            prefixes = job.prefixes or [""] * len(groups)
            flat_problems = [p for p, group in zip(job.problems, groups, strict=True)
                             for _ in group]
            responses = [prefix + c.text for prefix, group in zip(prefixes, groups, strict=True)
                         for c in group]
            flat = self.grader(flat_problems, responses)
            grades, start = [], 0
            for group in groups:
                grades.append(flat[start:start + len(group)])
                start += len(group)
        return JobResult(job.key, groups, grades, self.index)

    def close(self) -> None:
        from dapo_bench.generation import engines

        if self.keep_engine:
            engines.release(self.generator)
        else:
            self.generator.close()
        if self.grader is not None:
            self.grader.close()


class LocalPool:
    """Jobs one after another in this process, on one worker made on first use."""

    engine = "local"

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.workers = 1
        self._worker: GenerationWorker | None = None

    def run(self, jobs: Iterable[Job]) -> Iterator[JobResult]:
        for job in jobs:
            if self._worker is None:
                self._worker = GenerationWorker(self.spec, keep_engine=True)
            yield self._worker.run(job)

    def describe(self) -> dict[str, Any]:
        return {"engine": "local", "workers": 1}

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None


#: The watchdog of the local Ray cluster this process started; it lives as long as the
#: process (the cluster does too: later pools reuse it).
_ray_reaper: Any = None


def _start_ray(ray: Any, address: str | None) -> None:
    """``ray.init`` under a :class:`Reaper`: the processes of a local cluster it starts (gcs,
    raylet, and the agents and workers the raylet starts later) are killed when this process
    exits, even by SIGKILL. Without it, Ray's dashboard and runtime-env agents outlived a
    killed driver by about a minute. Joining an existing cluster starts no process here, so
    the watchdog then has nothing to kill."""
    global _ray_reaper
    from dapo_bench.generation.reaper import Reaper

    reaper = Reaper()
    try:
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False,
                 include_dashboard=False,
                 runtime_env={"env_vars": {"TOKENIZERS_PARALLELISM": "false"}})
    except BaseException:
        reaper.release()
        raise
    reaper.freeze()
    if _ray_reaper is not None:  # a cluster shut down and started again: one watchdog each
        _ray_reaper.release()
    _ray_reaper = reaper


class RayPool:
    """``workers`` Ray actors, each owning one worker; results stream back as they finish."""

    engine = "ray"

    def __init__(self, spec: WorkerSpec, *, workers: int, address: str | None = None,
                 gpus_per_worker: float = 0, cpus_per_worker: float = 1,
                 max_retries: int = 2) -> None:
        try:
            import ray
        except ImportError as exc:
            raise UserInputError("distributed.engine=ray needs Ray: pip install "
                                 "'dapo-bench[ray]'") from exc
        self.ray, self.spec, self.workers = ray, spec, workers
        self.max_retries = max_retries
        if not ray.is_initialized():
            _start_ray(ray, address)
        threads = max(1, int(cpus_per_worker)) if cpus_per_worker else 1
        actor = ray.remote(GenerationWorker)
        self._actors = [actor.options(
            name=name, num_gpus=gpus_per_worker, num_cpus=cpus_per_worker,
            max_restarts=max_retries, max_task_retries=max_retries).remote(spec, i, threads)
            for i, name in enumerate(self.actor_names())]
        self._dead: set[int] = set()

    def actor_names(self) -> list[str]:
        return [f"{ACTOR_PREFIX}-{os.getpid()}-{i}" for i in range(self.workers)]

    def run(self, jobs: Iterable[Job]) -> Iterator[JobResult]:
        """Results in the order they finish. Jobs are drawn lazily, two in flight per
        worker, so a stage with millions of states never holds them all."""
        ray = self.ray
        source = iter(jobs)
        retry: list[Job] = []
        attempts: dict[str, int] = {}
        running: dict[Any, tuple[int, Job]] = {}

        def next_job() -> Job | None:
            return retry.pop(0) if retry else next(source, None)

        def fill() -> None:
            alive = [i for i in range(self.workers) if i not in self._dead]
            load = {i: 0 for i in alive}
            for i, _ in running.values():
                load[i] = load.get(i, 0) + 1
            for i in alive:
                while load[i] < 2:
                    job = next_job()
                    if job is None:
                        return
                    running[self._actors[i].run.remote(job)] = (i, job)
                    load[i] += 1

        fill()
        while running:
            done, _ = ray.wait(list(running), num_returns=1)
            index, job = running.pop(done[0])
            try:
                result = ray.get(done[0])
            except (ray.exceptions.RayActorError, ray.exceptions.ActorDiedError) as exc:
                self._dead.add(index)
                attempts[job.key] = attempts.get(job.key, 0) + 1
                alive = self.workers - len(self._dead)
                if attempts[job.key] >= POISON_KILLS or not alive:
                    raise RuntimeError(
                        f"generation worker {index} died on the job starting at item "
                        f"{job.key!r} ({attempts[job.key]} attempt(s), {alive} worker(s) "
                        f"left): {type(exc).__name__}") from exc
                retry.append(job)
                # the dead worker's other jobs fail the same way and come back here
                fill()
                continue
            yield result
            fill()

    def describe(self) -> dict[str, Any]:
        return {"engine": "ray", "workers": self.workers}

    def close(self) -> None:
        for i, actor in enumerate(self._actors):
            if i in self._dead:
                continue
            with contextlib.suppress(Exception):  # a dead actor has nothing to close
                self.ray.get(actor.close.remote(), timeout=120)
            self.ray.kill(actor)
        self._actors = []


class PoolGenerator(BaseGenerator):
    """A generator whose requests go to a pool's workers in jobs of ``chunk`` prompts; each
    job's prompts come back as soon as its worker finishes (data-parallel evaluation). The
    request seeds travel with the prompts, so the samples are those of one local engine."""

    def __init__(self, pool: LocalPool | RayPool, *, chunk: int = 32) -> None:
        from dapo_bench.generation import resolve_backend

        spec = pool.spec
        super().__init__(spec.model, dtype=spec.dtype, seed=spec.seed)
        self.backend = resolve_backend(spec.backend)[0]
        self.pool, self.chunk = pool, chunk

    def _stream(self, prompts: list[Prompt], params: SamplingParams, seeds: list[int]
                ) -> Iterator[tuple[int, list[Completion]]]:
        # enough jobs to keep every worker busy to the end, not so small that they churn
        size = max(1, min(self.chunk, -(-len(prompts) // (4 * self.pool.workers))))
        jobs = (Job(str(start), prompts[start:start + size], params, seeds[start:start + size],
                    model=self.model_path) for start in range(0, len(prompts), size))
        for result in self.pool.run(jobs):
            start = int(result.key)
            for offset, completions in enumerate(result.completions):
                yield start + offset, completions

    def switch(self, model: str) -> None:
        """Generate with ``model`` from the next request on; each worker loads it before its
        next job (one engine per worker across the models of an evaluation)."""
        self.model_path = model

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "distributed": self.pool.describe()}

    def close(self) -> None:
        self.pool.close()


def open_pool(spec: WorkerSpec, distributed: Any) -> LocalPool | RayPool:
    """The pool a recipe's ``distributed`` section asks for."""
    if distributed is None or distributed.engine == "local":
        return LocalPool(spec)
    return RayPool(spec, workers=distributed.workers, address=distributed.address,
                   gpus_per_worker=distributed.gpus_per_worker,
                   cpus_per_worker=distributed.cpus_per_worker,
                   max_retries=distributed.max_retries)
