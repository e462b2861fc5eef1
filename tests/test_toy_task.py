"""The toy task, its tokenizer and its base-model builder."""

from __future__ import annotations

from pathlib import Path

import pytest
from safetensors.torch import load_file

from dapo_bench.data.registry import load_benchmark
from dapo_bench.errors import DataError
from dapo_bench.grading.math import grade
from dapo_bench.toy.model import build_tokenizer, train_base
from dapo_bench.toy.task import (
    SPLIT_SIZES,
    exact_solution,
    shortcut_solution,
    split_chains,
    split_problems,
    write_split,
)


def test_splits_are_disjoint_and_sized() -> None:
    questions = {split: {c.question for c in split_chains(split)}
                 for split in (*SPLIT_SIZES, "sft")}
    for split, size in SPLIT_SIZES.items():
        assert len(questions[split]) == size
    names = list(questions)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not questions[a] & questions[b], (a, b)


def test_exact_solutions_grade_correct_and_the_shortcut_usually_wrong() -> None:
    chains = split_chains("test")[:300]
    problems = split_problems("test")[:300]
    assert all(grade(exact_solution(c), p.gold, "toy_arith") for c, p in
               zip(chains, problems, strict=True))
    shortcut_right = sum(grade(shortcut_solution(c), p.gold, "toy_arith") for c, p in
                         zip(chains, problems, strict=True))
    assert shortcut_right < 0.15 * len(chains)
    first = shortcut_solution(chains[0]).splitlines()[0]
    assert first.startswith("round ")


def test_registered_like_any_benchmark_and_loads_from_jsonl(tmp_path: Path) -> None:
    assert len(load_benchmark("toy_arith")) == 1000
    path = tmp_path / "toy_arith" / "test.jsonl"
    write_split("test", path)
    from_file = load_benchmark("toy_arith", data_dir=tmp_path)
    assert from_file == split_problems("test")
    path.write_text('{"problem": "Compute 1+2.", "answer": ""}\n')
    with pytest.raises(DataError, match=r"line 1.*answer"):
        load_benchmark("toy_arith", data_dir=tmp_path)


def test_char_tokenizer_round_trips() -> None:
    tok = build_tokenizer()
    text = "Compute 37+48-19.\nround 40+50-20\n\\boxed{66}"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert len(ids) == len(text)
    assert tok.decode(ids) == text


def test_base_model_training_is_deterministic(tmp_path: Path) -> None:
    settings = {"seed": 5, "n_examples": 64, "epochs": 1, "batch_size": 32, "lr": 3e-3,
                "log_every": 1}
    a = load_file(str(train_base(tmp_path / "a", **settings) / "model.safetensors"))
    b = load_file(str(train_base(tmp_path / "b", **settings) / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all((a[k] == b[k]).all() for k in a)
    c = load_file(str(train_base(tmp_path / "c", **{**settings, "seed": 6})
                      / "model.safetensors"))
    assert any((a[k] != c[k]).any() for k in a)
