"""States are cut from the generated tokens, and Monte-Carlo continuations start from those
token ids: with a byte-level BPE whose merges span "\\n", re-tokenising a state's text would
shift it, and here nothing does."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from dapo_bench.config import Recipe
from dapo_bench.generation import SamplingParams, make_generator
from dapo_bench.pipeline.chain import run_stage
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.mc import state_prompt
from dapo_bench.pipeline.runner import RunDir, read_items
from dapo_bench.pipeline.steps import cut_token_steps, split_steps
from dapo_bench.testing import cached_tiny_qwen2

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "data"


@pytest.fixture(scope="module")
def merging() -> Path:
    return cached_tiny_qwen2(merge_newlines=True)


def _decode(tokenizer: object):
    return lambda ids: tokenizer.decode(list(ids), skip_special_tokens=True,  # type: ignore[attr-defined]
                                        clean_up_tokenization_spaces=False)


def test_a_token_that_spans_the_separator_stays_whole(merging: Path) -> None:
    tok = AutoTokenizer.from_pretrained(merging)
    text = "so 3 + 4 = 7. The answer is \\boxed{6}.\nSo the 5 * 2 = 10.\nThe end"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    decode = _decode(tok)
    spanning = [i for i in ids if "\n" in decode([i]).rstrip("\n")]
    assert spanning, "the tokenizer should merge across newlines"
    token_steps, texts = cut_token_steps(ids, decode)
    assert [t for piece in token_steps for t in piece] == ids
    assert "".join(texts) == text
    assert all(decode(piece) == t for piece, t in zip(token_steps, texts, strict=True))
    # Every cut is a token boundary, and the text steps end at or after a newline.
    assert len(texts) >= 2 and all("\n" in t for t in texts[:-1])
    assert len(texts) <= len(split_steps(text))


def test_token_prompts_are_continued_as_given(merging: Path) -> None:
    tok = AutoTokenizer.from_pretrained(merging)
    text = "Question: how many apples 12 + 7 =\nThe answer"
    ids = tok(text)["input_ids"]
    params = SamplingParams(max_new_tokens=12)
    with make_generator(str(merging), backend="hf") as gen:
        from_text, from_ids, cut = gen.generate([text, ids, ids[:-1]], params)
    assert from_text[0].token_ids == from_ids[0].token_ids
    assert from_ids[0].token_ids != cut[0].token_ids  # the ids given are the ids used


def test_monte_carlo_states_are_prefixes_of_the_generated_tokens(tmp_path: Path,
                                                                 merging: Path) -> None:
    recipe = Recipe.model_validate({
        "name": "token-states", "base_model": str(merging), "train_data": str(FIXTURES),
        "template": "qwen-cot", "backend": "hf", "dtype": "float32",
        "rollout": {"n_samples": 4, "n_select": 4, "max_new_tokens": 64,
                    "limit_problems": 8},
        "mc": {"n_completions": 2, "max_new_tokens": 16}})
    run = RunDir(tmp_path / "run")
    run.bind_recipe(recipe)
    ctx = StageContext(run, recipe, 1, progress=False)
    try:
        for stage in ("rollouts", "states", "mc"):
            run_stage(ctx, stage)
    finally:
        ctx.close()
    tok = AutoTokenizer.from_pretrained(merging)
    generated = {}
    for record in read_items(run.stage_dir(1, "rollouts")):
        assert record["prompt_ids"] == tok(record["prompt"])["input_ids"]
        for i in record["selected"]:
            generated.setdefault(record["id"], []).append(
                record["prompt_ids"] + record["samples"][i]["token_ids"])
    states = read_items(run.stage_dir(1, "mc"))
    assert any(s["k"] > 0 for s in states)
    shifted = 0
    for state in states:
        prompt = state_prompt(state)
        assert prompt == state["prompt_ids"] + state["ids"]
        assert any(seq[:len(prompt)] == prompt for seq in generated[state["problem_id"]])
        text = state["prompt"] + "".join(state["steps"])
        shifted += tok(text)["input_ids"] != prompt
    # Re-tokenising the text would have moved some states: the token path is what kept them.
    assert shifted > 0
