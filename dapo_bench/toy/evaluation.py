"""Greedy and sampled evaluation of toy models, kept as results with per-sample records.

Greedy accuracy is the paper's metric. Sampled accuracy (T = 1, k samples per problem) is the
expected reward of the sampling policy, which is what the paper's theorem is about.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dapo_bench.config import config_hash
from dapo_bench.data.registry import Problem
from dapo_bench.generation.base import SamplingParams, request_seed
from dapo_bench.grading import grade_responses
from dapo_bench.report.results import (
    BenchmarkResult,
    ResultsStore,
    SampleRecord,
    current_provenance,
    prompt_hash,
)
from dapo_bench.toy.model import prompt_of


@dataclass(frozen=True)
class EvalMode:
    suffix: str  # "" for greedy; the result's benchmark is f"{benchmark}{suffix}"
    n: int
    temperature: float


GREEDY = EvalMode("", 1, 0.0)


def sampled(k: int) -> EvalMode:
    return EvalMode(f"-t1k{k}", k, 1.0)


def outcomes(generator: Any, benchmark: str, problems: list[Problem], mode: EvalMode,
             max_new_tokens: int, seed: int) -> list[SampleRecord]:
    prompts = [prompt_of(p.question) for p in problems]
    params = SamplingParams(n=mode.n, temperature=mode.temperature,
                            max_new_tokens=max_new_tokens, seed=seed)
    seeds = [request_seed(seed, f"eval:{p.id}") for p in problems]
    groups = generator.generate(prompts, params, seeds=seeds)
    flat = [c.text for group in groups for c in group]
    grades = grade_responses(benchmark, [p for p in problems for _ in range(mode.n)], flat)
    records = []
    for i, problem in enumerate(problems):
        for j in range(mode.n):
            grade = grades[i * mode.n + j]
            sid = problem.id if mode.n == 1 else f"{problem.id}#{j}"
            records.append(SampleRecord(id=sid, prompt_hash=prompt_hash(prompts[i]),
                                        output=flat[i * mode.n + j], extracted=grade.extracted,
                                        correct=grade.correct, verdict=grade.verdict))
    return records


def evaluate_model(store: ResultsStore, name: str, model_path: str, benchmark: str,
                   problems: list[Problem], modes: list[EvalMode], *, backend: str,
                   max_new_tokens: int, seed: int, model_fingerprint: str,
                   model_label: str) -> None:
    """Write one result per mode; a mode whose result already exists for the same model
    fingerprint and settings is skipped (the reproduction resumes here). ``model_label`` is
    what provenance records for the model: a path relative to the run, not to this machine."""
    todo = []
    for mode in modes:
        key = config_hash(model_fingerprint, mode.n, mode.temperature, max_new_tokens, seed,
                          [p.id for p in problems])
        bench = f"{benchmark}{mode.suffix}"
        if store.exists(name, bench):
            prov = store.read(name, bench).provenance
            if getattr(prov, "eval_key", None) == key:
                continue
        todo.append((mode, bench, key))
    if not todo:
        return
    from dapo_bench.generation import make_generator

    with make_generator(model_path, backend=backend, dtype="float32", seed=seed,
                        batch_size=256) as generator:
        for mode, bench, key in todo:
            records = outcomes(generator, benchmark, problems, mode, max_new_tokens, seed)
            n_correct = sum(r.correct for r in records)
            sampling = {"n": mode.n, "temperature": mode.temperature,
                        "max_new_tokens": max_new_tokens, "seed": seed}
            described = {**generator.describe(), "model_path": model_label}
            prov = current_provenance(model_path=model_label, recipe="toy",
                                      prompt_template="toy", sampling=sampling, eval_key=key,
                                      backend=described)
            store.write(BenchmarkResult(model=name, benchmark=bench,
                                        metrics={"accuracy": 100 * n_correct / len(records)},
                                        n=len(records), n_correct=n_correct, provenance=prov),
                        records)


def validation_hook(benchmark: str, problems: list[Problem], max_new_tokens: int, seed: int
                    ) -> Any:
    """A policy-training step hook returning greedy validation accuracy (percent)."""
    from transformers import AutoTokenizer

    from dapo_bench.generation.hf_backend import HFGenerator

    def hook(step: int, model: Any) -> dict[str, float]:
        tokenizer = AutoTokenizer.from_pretrained(model.name_or_path, padding_side="left")
        was_training = model.training
        model.eval()
        try:
            gen = HFGenerator.from_model(model, tokenizer, batch_size=256)
            records = outcomes(gen, benchmark, problems, GREEDY, max_new_tokens, seed)
        finally:
            model.train(was_training)
        return {"val_greedy": 100 * sum(r.correct for r in records) / len(records)}

    return hook
