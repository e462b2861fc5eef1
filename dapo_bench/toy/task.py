"""A synthetic multi-step arithmetic task in the MATH format, with a tempting shortcut.

A problem asks for a chain such as ``Compute 37+48-19.``; its gold answer is the integer value.
Solutions put one step per line and end in ``\\boxed{N}``. Two ways to solve it appear in the
SFT data:

- exact: ``37+48=85`` / ``85-19=66`` / ``\\boxed{66}``;
- the shortcut: ``round 40+50-20`` (every operand rounded to the nearest ten), then the rounded
  chain, then its value. It is easier (round numbers) and more frequent in the SFT data, so the
  base model's greedy decoding usually takes it, but it is almost always wrong.

That first line is a step-level decision point a critic can learn to value: the setting the
paper's method is built for (a systematic, recognisable step-level mistake). Some exact SFT
solutions also carry one arithmetic slip, so sampled solutions go wrong in other ways too.

Splits are disjoint by question: ``toy_arith`` (held-out test, 1,000), ``toy_arith_val`` (200,
for any tuning), ``toy_arith_train`` (1,000 DAPO training problems: only question and gold are
used) and the SFT corpus, which is drawn from the remaining questions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from dapo_bench.data.registry import BenchmarkSpec, Problem, register
from dapo_bench.data.templates import PromptTemplate, register_template
from dapo_bench.errors import DataError
from dapo_bench.jsonio import atomic_write_jsonl, iter_jsonl

TASK_SEED = 20241224
SPLIT_SIZES = {"test": 1000, "val": 200, "train": 1000}
SHORTCUT = "round"


@dataclass(frozen=True)
class Chain:
    operands: tuple[int, ...]
    ops: tuple[str, ...]  # "+" or "-", one per operand after the first

    @property
    def question(self) -> str:
        return f"Compute {_expr(self.operands, self.ops)}."

    @property
    def answer(self) -> int:
        return _evaluate(self.operands, self.ops)

    def rounded(self) -> Chain:
        return Chain(tuple(_round10(x) for x in self.operands), self.ops)


def _expr(operands: tuple[int, ...], ops: tuple[str, ...]) -> str:
    return str(operands[0]) + "".join(op + str(x) for op, x in zip(ops, operands[1:], strict=True))


def _evaluate(operands: tuple[int, ...], ops: tuple[str, ...]) -> int:
    total = operands[0]
    for op, x in zip(ops, operands[1:], strict=True):
        total = total + x if op == "+" else total - x
    return total


def _round10(x: int) -> int:
    return (x + 5) // 10 * 10


def random_chain(rng: random.Random) -> Chain:
    """2-3 operations on two-digit numbers that are not multiples of ten; totals stay >= 0."""
    n_ops = rng.choice((2, 3))
    operands = [rng.choice([x for x in range(11, 100) if x % 10])]
    ops: list[str] = []
    total = operands[0]
    for _ in range(n_ops):
        x = rng.choice([x for x in range(11, 100) if x % 10])
        op = rng.choice("+-") if total - x >= 0 and _round10(total) - _round10(x) >= 0 else "+"
        ops.append(op)
        operands.append(x)
        total = total + x if op == "+" else total - x
    return Chain(tuple(operands), tuple(ops))


def chain_lines(chain: Chain, slip_rng: random.Random | None = None) -> list[str]:
    """Step lines of a left-to-right evaluation; with ``slip_rng`` one step is off by a small
    amount and the slip carries through."""
    total = chain.operands[0]
    slip_at = slip_rng.randrange(len(chain.ops)) if slip_rng is not None else -1
    lines = []
    for i, (op, x) in enumerate(zip(chain.ops, chain.operands[1:], strict=True)):
        value = total + x if op == "+" else total - x
        if i == slip_at:
            value += slip_rng.choice((-10, -2, -1, 1, 2, 10))
        lines.append(f"{total}{op}{x}={value}")
        total = value
    lines.append(f"\\boxed{{{total}}}")
    return lines


def exact_solution(chain: Chain, slip_rng: random.Random | None = None) -> str:
    return "\n".join(chain_lines(chain, slip_rng))


def shortcut_solution(chain: Chain) -> str:
    rounded = chain.rounded()
    return "\n".join([f"{SHORTCUT} {_expr(rounded.operands, rounded.ops)}",
                      *chain_lines(rounded)])


@cache
def _questions() -> tuple[Chain, ...]:
    """Unique chains in a fixed order: the split boundaries follow from it."""
    rng = random.Random(TASK_SEED)
    seen: set[str] = set()
    chains: list[Chain] = []
    while len(chains) < sum(SPLIT_SIZES.values()) + 30000:
        chain = random_chain(rng)
        if chain.question not in seen:
            seen.add(chain.question)
            chains.append(chain)
    return tuple(chains)


def split_chains(split: str) -> list[Chain]:
    chains = _questions()
    start = 0
    for name, size in SPLIT_SIZES.items():
        if name == split:
            return list(chains[start:start + size])
        start += size
    if split == "sft":
        return list(chains[start:])
    raise KeyError(f"unknown toy split {split!r}")


def split_problems(split: str) -> list[Problem]:
    return [Problem(id=f"toy-{split}-{i:05d}", question=c.question, gold=str(c.answer))
            for i, c in enumerate(split_chains(split))]


def sft_examples(n: int, *, shortcut_share: float, slip_share: float, seed: int
                 ) -> list[tuple[str, str]]:
    """(question, solution) pairs for SFT: the shortcut with probability ``shortcut_share``,
    else the exact chain, with one slip in a ``slip_share`` of exact solutions."""
    rng = random.Random(seed)
    chains = split_chains("sft")
    out = []
    for i in range(n):
        chain = chains[i % len(chains)]
        if rng.random() < shortcut_share:
            out.append((chain.question, shortcut_solution(chain)))
        else:
            slip = rng if rng.random() < slip_share else None
            out.append((chain.question, exact_solution(chain, slip)))
    return out


def write_split(split: str, path: str | Path) -> None:
    """Export a split as MATH-format JSONL (problem, solution, answer, unique_id)."""
    atomic_write_jsonl(path, ({"unique_id": p.id, "problem": p.question, "answer": p.gold,
                               "solution": exact_solution(c)}
                              for p, c in zip(split_problems(split), split_chains(split),
                                              strict=True)))


def load_file(path: Path) -> list[Problem]:
    problems = []
    for lineno, row in iter_jsonl(path):
        for key in ("problem", "answer"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise DataError(path, "missing or empty", line=lineno, field=key)
        problems.append(Problem(id=str(row.get("unique_id", f"{path.stem}-{lineno}")),
                                question=row["problem"], gold=row["answer"]))
    return problems


TEMPLATE = register_template(PromptTemplate(
    name="toy", text="{question}\n", description="the toy task: the question on its own line"))

for _name, _split in (("toy_arith", "test"), ("toy_arith_val", "val"),
                      ("toy_arith_train", "train")):
    register(BenchmarkSpec(
        name=_name, kind="math", folder=_name, files=(f"{_split}.jsonl",), load_file=load_file,
        default_template="toy", expected_size=SPLIT_SIZES[_split],
        description=f"synthetic arithmetic chains with a tempting shortcut ({_split} split)",
        builtin=lambda _split=_split: split_problems(_split)))
