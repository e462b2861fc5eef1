"""One engine, many checkpoints: a kept vLLM engine takes a new checkpoint's weights in place
and then generates what a fresh engine on that checkpoint generates; checkpoints of another
shape, and backends that cannot reload, start a new engine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dapo_bench.generation import SamplingParams, engines, make_generator, vllm_importable
from dapo_bench.testing import perturbed_copy
from dapo_bench.toy.base import toy_base_path

PROMPTS = ["Q: 12+7=?\nA:", "Q: 3*4=?\nA:", "Q: 50-8=?\nA:", "Q: 9+9-3=?\nA:"]
GREEDY = SamplingParams(max_new_tokens=40)


def test_same_shape_compares_config_and_tokenizer(tmp_path: Path) -> None:
    base = toy_base_path()
    other = perturbed_copy(base, tmp_path / "other", 1)
    assert engines.same_shape(str(base), str(other))
    wider = tmp_path / "wider"
    shutil.copytree(other, wider)
    config = json.loads((wider / "config.json").read_text())
    (wider / "config.json").write_text(json.dumps({**config, "hidden_size": 256}))
    assert not engines.same_shape(str(base), str(wider))
    retok = tmp_path / "retok"
    shutil.copytree(other, retok)
    tokenizer = json.loads((retok / "tokenizer.json").read_text())
    (retok / "tokenizer.json").write_text(json.dumps({**tokenizer,
                                                      "normalizer": {"type": "Lowercase"}}))
    assert not engines.same_shape(str(base), str(retok))
    relaid = tmp_path / "relaid"  # the same tokenizer written out again, laid out otherwise
    shutil.copytree(other, relaid)
    (relaid / "tokenizer.json").write_text(json.dumps(tokenizer, indent=3))
    assert engines.same_shape(str(base), str(relaid))
    assert not engines.same_shape(str(base), "Qwen/Qwen2.5-Math-7B")  # nothing to compare


def test_a_backend_that_cannot_reload_starts_again(tmp_path: Path) -> None:
    other = perturbed_copy(toy_base_path(), tmp_path / "other", 2)
    before = dict(engines.stats)
    first = engines.acquire(str(toy_base_path()), backend="hf")
    engines.release(first)  # HF cannot take new weights: closed, not kept
    second = engines.acquire(str(other), backend="hf")
    try:
        assert second is not first
        assert engines.stats["started"] - before["started"] == 2
        assert engines.stats["reloaded"] == before["reloaded"]
    finally:
        engines.release(second)


@pytest.mark.skipif(not vllm_importable()[0], reason="vLLM not importable here")
def test_a_kept_vllm_engine_generates_what_a_fresh_one_does(tmp_path: Path) -> None:
    from dapo_bench.testing import cached_tiny_qwen2

    base = toy_base_path()
    other = perturbed_copy(base, tmp_path / "other", 3)
    expected = {}
    for path in (base, other):
        hf = make_generator(str(path), backend="hf", dtype="float32")
        expected[path] = [g[0].token_ids for g in hf.generate(PROMPTS, GREEDY)]
        hf.close()
    assert expected[base] != expected[other]

    before = dict(engines.stats)
    try:
        seen = []
        for path in (base, other, base):
            generator = engines.acquire(str(path), backend="vllm", dtype="float32",
                                        kv_cache_gb=0.25)
            seen.append(generator)
            got = [g[0].token_ids for g in generator.generate(PROMPTS, GREEDY)]
            assert got == expected[path], path
            assert generator.describe()["model_path"] == str(path)
            engines.release(generator)
        assert seen[0] is seen[1] is seen[2]
        assert engines.stats["started"] - before["started"] == 1
        assert engines.stats["reloaded"] - before["reloaded"] == 2

        # another architecture cannot go into this engine: it is closed, a new one starts
        tiny = engines.acquire(str(cached_tiny_qwen2()), backend="vllm", dtype="float32",
                               kv_cache_gb=0.25)
        assert tiny is not seen[0] and seen[0].llm is None
        assert engines.stats["started"] - before["started"] == 2
        engines.release(tiny)
    finally:
        engines.close_kept()
