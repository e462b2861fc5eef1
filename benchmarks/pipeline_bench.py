"""Shared versus naive state computation in the three places DAPO scores (state, action) pairs.

For each state and its M candidate actions, "naive" runs every (state + action) sequence in
full; "shared" runs the state once with the KV cache and the M actions against it in one batch.
Prints tokens computed per pair and wall time for critic scoring, reference log-probs and the
policy loss (forward + backward) on the same data, with the largest difference of the outputs.

    python benchmarks/pipeline_bench.py [--model DIR] [--states 64] [--actions 8] [--pad 200]

``--pad`` prepends that many characters of context to every state, so states are much longer
than actions, as in the paper's math solutions.
"""

from __future__ import annotations

import argparse
import random
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from dapo_bench.pipeline.shared_forward import (
    action_logps_naive,
    action_logps_shared,
    last_hidden_naive,
    last_hidden_shared,
    tokens_computed,
)
from dapo_bench.pipeline.tokens import encode_piece, encode_state
from dapo_bench.toy.base import toy_base_path
from dapo_bench.toy.model import prompt_of
from dapo_bench.toy.task import chain_lines, split_chains


def make_data(tokenizer: object, n_states: int, n_actions: int, pad: int, seed: int
              ) -> list[tuple[list[int], list[list[int]]]]:
    rng = random.Random(seed)
    data = []
    for chain in split_chains("test")[:n_states]:
        lines = [line + "\n" for line in chain_lines(chain)]
        k = rng.randrange(len(lines) - 1)
        context = ("Context: " + "x" * pad + "\n") if pad else ""
        state = encode_state(tokenizer, context + prompt_of(chain.question), lines[:k])
        truth = lines[k]
        actions = [truth] + [truth.replace(truth.split("=")[-1].strip(),
                                           str(rng.randint(0, 300))) for _ in range(n_actions - 1)]
        data.append((state, [encode_piece(tokenizer, a) for a in actions]))
    return data


def timed(fn: object, data: list, grad: bool) -> tuple[float, list[torch.Tensor]]:
    outs = []
    start = time.perf_counter()
    for state, actions in data:
        if grad:
            out = fn(state, actions)
            out.sum().backward()
            outs.append(out.detach())
        else:
            with torch.no_grad():
                outs.append(fn(state, actions))
    return time.perf_counter() - start, outs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="causal LM directory (default: toy base)")
    parser.add_argument("--states", type=int, default=64)
    parser.add_argument("--actions", type=int, default=8)
    parser.add_argument("--pad", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = args.model or str(toy_base_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    lm = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    data = make_data(tokenizer, args.states, args.actions, args.pad, args.seed)
    shared_tokens = sum(tokens_computed(len(s), [len(a) for a in acts], True) for s, acts in data)
    naive_tokens = sum(tokens_computed(len(s), [len(a) for a in acts], False) for s, acts in data)
    pairs = sum(len(acts) for _, acts in data)
    mean_state = sum(len(s) for s, _ in data) / len(data)
    print(f"model {path}: {len(data)} states (mean {mean_state:.0f} tokens), "
          f"{args.actions} actions each, {pairs} pairs; torch threads {torch.get_num_threads()}")
    print(f"tokens computed per pair: shared {shared_tokens / pairs:.1f}, "
          f"naive {naive_tokens / pairs:.1f} ({naive_tokens / shared_tokens:.2f}x)")
    print(f"{'computation':<28}{'shared s':>10}{'naive s':>10}{'speed-up':>10}{'max |diff|':>12}")
    cases = [
        ("critic V(s+a) (no grad)", lambda s, a: last_hidden_shared(lm.model, s, a),
         lambda s, a: last_hidden_naive(lm.model, s, a), False),
        ("reference log-probs", lambda s, a: action_logps_shared(lm, s, a),
         lambda s, a: action_logps_naive(lm, s, a), False),
        ("policy loss fwd+bwd", lambda s, a: action_logps_shared(lm, s, a),
         lambda s, a: action_logps_naive(lm, s, a), True),
    ]
    for label, shared_fn, naive_fn, grad in cases:
        t_shared, out_shared = timed(shared_fn, data, grad)
        t_naive, out_naive = timed(naive_fn, data, grad)
        diff = max((a - b).abs().max().item() for a, b in zip(out_shared, out_naive, strict=True))
        print(f"{label:<28}{t_shared:>10.2f}{t_naive:>10.2f}{t_naive / t_shared:>9.1f}x"
              f"{diff:>12.1e}")


if __name__ == "__main__":
    main()
