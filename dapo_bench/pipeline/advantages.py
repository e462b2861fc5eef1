"""Stage 5, advantages: Q of each candidate action, minus a per-state baseline.

Q_i is the grader's reward when the action ends the solution, else the critic's V(s + a_i)
(source "critic", the paper). Variants: "mc" takes Q_i as the mean reward of the completions
that start with a_i (a documented departure from the paper); "shuffled" permutes the critic
advantages within each state (a control that should not help). Only unique actions are kept,
and only states whose advantage gap max A - min A reaches the threshold.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from itertools import combinations
from typing import Any

import torch

from dapo_bench.config import AdvantageConfig
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.runner import Manifest, StageLog, fingerprint, iter_items
from dapo_bench.pipeline.sampling import stage_progress

STAGE = "advantages"


def group_actions(completions: list[dict[str, Any]]) -> OrderedDict[str, dict[str, Any]]:
    """Unique non-empty actions in first-seen order with their count, terminal flag and the
    mean reward of the completions that start with them."""
    groups: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for c in completions:
        if not c["action"]:
            continue
        g = groups.setdefault(c["action"], {"count": 0, "terminal": c["terminal"], "wins": 0})
        g["count"] += 1
        g["wins"] += int(c["correct"])
        g["terminal"] = g["terminal"] and c["terminal"]
    for g in groups.values():
        g["mc_q"] = g["wins"] / g["count"]
    return groups


def compute_advantages(q: list[float], counts: list[int], cfg: AdvantageConfig) -> list[float]:
    """A_i = Q_i - baseline, the baseline being the plain mean over the unique actions kept
    (advantages sum to zero under the training distribution) or the count-weighted mean over
    all sampled actions (an estimate of V(s) under pi_ref)."""
    if cfg.baseline == "unique_mean":
        base = sum(q) / len(q)
    else:
        base = sum(c * v for c, v in zip(counts, q, strict=True)) / sum(counts)
    return [v - base for v in q]


def state_advantages(record: dict[str, Any], critic_q: list[float] | None,
                     cfg: AdvantageConfig, rng: random.Random) -> dict[str, Any] | None:
    """The training item of one state, or None when it has fewer than two actions or its gap
    is below the threshold."""
    groups = group_actions(record["completions"])
    actions = list(groups)
    if len(actions) < 2:
        return None
    counts = [groups[a]["count"] for a in actions]
    if cfg.source == "mc":
        q = [groups[a]["mc_q"] for a in actions]
    else:
        assert critic_q is not None
        q = [groups[a]["mc_q"] if groups[a]["terminal"] else v
             for a, v in zip(actions, critic_q, strict=True)]
    adv = compute_advantages(q, counts, cfg)
    if cfg.source == "shuffled":
        rng.shuffle(adv)
    if max(adv) - min(adv) < cfg.gap_threshold:
        return None
    ids = {k: record[k] for k in ("prompt_ids", "ids") if k in record}
    return {"id": record["id"], "prompt": record["prompt"], "steps": record["steps"], **ids,
            "actions": [{"text": a, "advantage": A, "q": v, "count": c, "mc_q":
                         groups[a]["mc_q"], "terminal": groups[a]["terminal"]}
                        for a, A, v, c in zip(actions, adv, q, counts, strict=True)]}


def ranking_accuracy(pairs: list[tuple[float, float, float, float]]) -> float | None:
    """Share of sibling-action pairs with different MC Q that the critic's Q orders the same
    way. Each pair is (q_a, q_b, mc_a, mc_b)."""
    decided = [(qa - qb) * (ma - mb) > 0 for qa, qb, ma, mb in pairs if ma != mb]
    return sum(decided) / len(decided) if decided else None


def _sibling_pairs(critic_q: list[float], groups: list[dict[str, Any]]
                   ) -> list[tuple[float, float, float, float]]:
    """Pairs of non-terminal sibling actions: (critic Q a, critic Q b, MC Q a, MC Q b)."""
    inner = [(q, g["mc_q"]) for q, g in zip(critic_q, groups, strict=True) if not g["terminal"]]
    return [(qa, qb, ma, mb) for (qa, ma), (qb, mb) in combinations(inner, 2)]


def run(ctx: StageContext) -> Manifest:
    cfg = ctx.recipe.advantages
    mc = ctx.require("mc")
    inputs = [mc] + ([ctx.require("critic")] if cfg.source != "mc" else [])
    fp = fingerprint(STAGE, {"advantages": cfg, "seed": ctx.recipe.seed}, inputs)
    if (found := ctx.finished(STAGE, fp)) is not None:
        return found
    log = StageLog(ctx.dir(STAGE), fp)
    log.open()
    scorer = _critic_scorer(ctx) if cfg.source != "mc" else None
    rng = random.Random(ctx.recipe.seed)
    stats = {"states": 0, "states_multi_action": 0, "states_kept": 0,
             "pairs_sampled": 0, "pairs_unique": 0, "pairs_kept": 0}
    rank_pairs: list[tuple[float, float, float, float]] = []
    total = mc.summary.get("states", 0)
    with log.appender() as out, stage_progress(ctx, "advantages", total, 0) as advance:
        for record in iter_items(ctx.dir("mc")):  # streamed: the log may be tens of GB
            stats["states"] += 1
            groups = group_actions(record["completions"])
            stats["pairs_sampled"] += sum(g["count"] for g in groups.values())
            stats["pairs_unique"] += len(groups)
            critic_q = None
            if len(groups) >= 2:
                stats["states_multi_action"] += 1
                if scorer is not None:
                    critic_q = scorer(record, list(groups))
                    rank_pairs += _sibling_pairs(critic_q, list(groups.values()))
            item = state_advantages(record, critic_q, cfg, rng)
            if item is not None:
                out.write(item)
                stats["states_kept"] += 1
                stats["pairs_kept"] += len(item["actions"])
            advance(1)
    stats["critic_ranking_accuracy"] = ranking_accuracy(rank_pairs)
    stats["ranking_pairs"] = sum(1 for p in rank_pairs if p[2] != p[3])
    return log.finish(STAGE, stats)


def _critic_scorer(ctx: StageContext) -> Any:
    from transformers import AutoTokenizer

    from dapo_bench.pipeline.critic import ValueModel, score_actions

    path = ctx.dir("critic") / "model"
    model = ValueModel.from_pretrained(path).eval()
    if torch.cuda.is_available():
        model = model.cuda()
    tokenizer = AutoTokenizer.from_pretrained(path)
    max_length = ctx.recipe.critic.max_length

    def score(record: dict[str, Any], actions: list[str]) -> list[float]:
        return score_actions(model, tokenizer, record["prompt"], record["steps"], actions,
                             max_length)

    return score
