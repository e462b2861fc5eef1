"""The HF backend on a real tiny Qwen2 checkpoint: determinism, seeds, stop strings, top_p."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dapo_bench.generation import SamplingParams, make_generator, request_seed
from dapo_bench.generation.base import truncate_at_stop
from dapo_bench.testing import build_tiny_qwen2, cached_tiny_qwen2

PROMPTS = [f"Question: {i} apples and {3 * i + 1} pencils. " * (1 + i % 3) + "Answer:"
           for i in range(10)]


@pytest.fixture(scope="module")
def hf() -> object:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 1M-parameter model gains nothing from more; shared CPUs lose
    gen = make_generator(str(cached_tiny_qwen2()), backend="hf", batch_size=4)
    yield gen
    gen.close()
    torch.set_num_threads(threads)


def test_tiny_model_is_deterministic(tmp_path: Path) -> None:
    a = build_tiny_qwen2(tmp_path / "a", vocab_size=512, hidden_size=32, num_layers=1)
    b = build_tiny_qwen2(tmp_path / "b", vocab_size=512, hidden_size=32, num_layers=1)
    for name in ("tokenizer.json", "config.json", "model.safetensors"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_importing_generation_loads_no_backend() -> None:
    code = ("import sys, dapo_bench.generation, dapo_bench.evaluate; "
            "print(sorted(m for m in ('torch', 'vllm', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_greedy_is_deterministic_and_independent_of_batching(hf) -> None:
    params = SamplingParams(max_new_tokens=12)
    batched = hf.generate(PROMPTS, params)
    hf.batch_size = 1
    try:
        single = hf.generate(PROMPTS, params)
    finally:
        hf.batch_size = 4
    assert batched == single
    assert all(len(group) == 1 and group[0].num_tokens == 12 for group in batched)
    assert {c[0].finish_reason for c in batched} == {"length"}
    assert len({c[0].text for c in batched}) > 5  # the prompts lead somewhere different


def test_greedy_n_copies_one_decode(hf) -> None:
    out = hf.generate(PROMPTS[:2], SamplingParams(n=3, max_new_tokens=6))
    assert all(len(group) == 3 and len(set(group)) == 1 for group in out)


def test_stop_string_cuts_text_and_ends_the_row(hf) -> None:
    full = hf.generate(PROMPTS, SamplingParams(max_new_tokens=24))
    # a stop string taken from the middle of the first prompt's own greedy output
    text = full[0][0].text
    stop = text[len(text) // 2:len(text) // 2 + 2]
    assert stop.strip()
    cut = hf.generate(PROMPTS, SamplingParams(max_new_tokens=24, stop=(stop,)))
    for whole, part in zip(full, cut, strict=True):
        expected, found = truncate_at_stop(whole[0].text, (stop,))
        assert part[0].text == expected
        assert part[0].finish_reason == ("stop" if found else "length")
        assert part[0].token_ids == whole[0].token_ids[:part[0].num_tokens]
    assert cut[0][0].finish_reason == "stop" and cut[0][0].num_tokens < 24


def test_sampling_follows_request_seeds_not_batches(hf) -> None:
    params = SamplingParams(n=3, temperature=1.0, max_new_tokens=10, seed=7)
    seeds = [request_seed(7, i) for i in range(len(PROMPTS))]
    a = hf.generate(PROMPTS, params, seeds=seeds)
    b = hf.generate(PROMPTS[3:5], params, seeds=seeds[3:5])  # other batch company
    assert a[3:5] == b
    assert a == hf.generate(PROMPTS, params)  # default seeds: request_seed(seed, index)
    assert all(len({c.token_ids for c in group}) > 1 for group in a)  # n distinct draws
    other = hf.generate(PROMPTS, SamplingParams(n=3, temperature=1.0, max_new_tokens=10,
                                                seed=8))
    assert other != a


def test_tiny_top_p_is_greedy(hf) -> None:
    greedy = hf.generate(PROMPTS[:4], SamplingParams(max_new_tokens=8))
    nucleus = hf.generate(PROMPTS[:4], SamplingParams(temperature=1.0, top_p=1e-6,
                                                      max_new_tokens=8))
    assert [g[0].token_ids for g in greedy] == [n[0].token_ids for n in nucleus]


def test_stream_yields_every_prompt_once(hf) -> None:
    seen = [i for i, _ in hf.stream(PROMPTS, SamplingParams(max_new_tokens=4))]
    assert sorted(seen) == list(range(len(PROMPTS)))
    assert list(hf.stream([], SamplingParams())) == []


def test_eos_ends_a_completion_and_is_not_text(tmp_path: Path) -> None:
    """A checkpoint whose generation config names an ordinary token as EOS (a token the
    greedy output is known to produce) stops there, keeps the token id, drops its text."""
    import json
    import shutil

    src = cached_tiny_qwen2()
    gen = make_generator(str(src), backend="hf")
    first = gen.generate(PROMPTS[:1], SamplingParams(max_new_tokens=12))[0][0]
    eos_token = first.token_ids[5]
    k = first.token_ids.index(eos_token)
    model = tmp_path / "eos"
    shutil.copytree(src, model)
    config = json.loads((model / "generation_config.json").read_text())
    config["eos_token_id"] = [eos_token]
    (model / "generation_config.json").write_text(json.dumps(config))
    gen = make_generator(str(model), backend="hf")
    out = gen.generate(PROMPTS[:1], SamplingParams(max_new_tokens=12))[0][0]
    assert out.finish_reason == "stop"
    assert out.token_ids == first.token_ids[:k + 1]
    expected = gen.tokenizer.decode(first.token_ids[:k], skip_special_tokens=True)
    assert out.text == expected.rstrip("\ufffd")  # no half characters at the end
