"""Stage 3, Monte-Carlo values: n_completions continuations per state from the completer.

MC(s) is the fraction graded correct. The first step of each continuation is a candidate action
of the state; we record whether it ended the solution and whether its completion was correct.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dapo_bench.generation.workers import Job
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.runner import Manifest, StageLog, fingerprint, iter_items
from dapo_bench.pipeline.sampling import chunked, sampling_job, stage_progress
from dapo_bench.pipeline.steps import first_step

STAGE = "mc"


def run(ctx: StageContext) -> Manifest:
    states_manifest = ctx.require("states")
    cfg, recipe = ctx.recipe.mc, ctx.recipe
    fp = fingerprint(STAGE, {"mc": cfg, "seed": recipe.seed, "template": recipe.template,
                             "format": 2},
                     [states_manifest, ctx.reference_fingerprint])
    if (found := ctx.finished(STAGE, fp)) is not None:
        return found
    log = StageLog(ctx.dir(STAGE), fp)
    done = log.open(keep=lambda record: record["mc"])  # the summary's numbers, not the log
    # The states stream through (a paper-sized log does not fit in memory); only their ids
    # are held, for the canonical order.
    order = [s["id"] for s in iter_items(ctx.dir("states"))]
    pending = (s for s in iter_items(ctx.dir("states")) if s["id"] not in done)
    n_pending = sum(1 for i in order if i not in done)
    by_id = {p.id: p for p in ctx.problems()}
    sep = recipe.states.separator

    def jobs() -> Iterator[Job]:
        for chunk in chunked(pending, cfg.chunk_size):
            by_key[chunk[0]["id"]] = chunk
            yield sampling_job(ctx, [state_prompt(s) for s in chunk], n=cfg.n_completions,
                               temperature=cfg.temperature, top_p=cfg.top_p,
                               max_new_tokens=cfg.max_new_tokens,
                               seed_keys=[f"mc:{s['id']}" for s in chunk], key=chunk[0]["id"],
                               problems=[by_id[s["problem_id"]] for s in chunk],
                               prefixes=["".join(s["steps"]) for s in chunk])

    by_key: dict[str, list[dict[str, Any]]] = {}
    pool = ctx.pool()
    with log.appender() as out, stage_progress(ctx, "Monte-Carlo", len(order),
                                               len(order) - n_pending,
                                               unit="states") as advance:
        for result in pool.run(jobs()):
            chunk = by_key.pop(result.key)
            for j, state in enumerate(chunk):
                texts = [c.text for c in result.completions[j]]
                record = _record(state, texts, result.grades[j], sep)
                out.write(record)
                done[state["id"]] = record["mc"]
            advance(len(chunk))
    values = list(done.values())
    summary = {"states": len(values), "mean_mc": sum(values) / max(len(values), 1),
               "mc_zero": sum(v == 0 for v in values), "mc_one": sum(v == 1 for v in values)}
    return log.finish(STAGE, summary, order=order,
                      distributed=pool.describe())


def state_prompt(state: dict[str, Any]) -> str | list[int]:
    """What the completer continues: the state's token ids when the states stage cut them
    from the generated tokens (never re-tokenised text), else its text."""
    if "prompt_ids" in state and "ids" in state:
        return [*state["prompt_ids"], *state["ids"]]
    return state["prompt"] + "".join(state["steps"])


def _record(state: dict[str, Any], continuations: list[str], grades: list[Any], sep: str
            ) -> dict[str, Any]:
    completions = []
    for text, grade in zip(continuations, grades, strict=True):
        action, terminal = first_step(text, sep)
        completions.append({"action": action, "terminal": terminal, "correct": grade.correct})
    mc = sum(c["correct"] for c in completions) / len(completions)
    return {**state, "mc": mc, "completions": completions}
