"""GPU checks for a session that has one: vLLM CUDA generation through dapo-bench against raw
vLLM on the same prompts, a kept engine given another checkpoint's weights in place against a
fresh engine on it, and one bf16 critic step and one bf16 policy step.

    bash benchmarks/gpu_check.sh        (prints the figures; about 3 minutes on an H100)

The model is the tiny Qwen2 that `dapo_bench.testing` builds offline (no hub), widened to
hidden 512 so the GPU has work; figures are throughputs of this harness, not of a 7B model.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def main() -> None:
    import torch

    from dapo_bench.generation import SamplingParams, make_generator
    from dapo_bench.generation.base import request_seed
    from dapo_bench.pipeline.critic import ValueModel, bce_soft
    from dapo_bench.pipeline.policy import PolicyLogps, dapo_loss
    from dapo_bench.testing import build_tiny_qwen2

    assert torch.cuda.is_available(), "no CUDA device"
    model = build_tiny_qwen2(Path(tempfile.mkdtemp()) / "tiny", hidden_size=512,
                             intermediate_size=1536, num_layers=8, num_heads=8)
    prompts = [f"Question {i}: {3 * i} apples and {i + 7} pencils. How many? Answer:"
               for i in range(512)]
    params = SamplingParams(n=4, temperature=1.0, max_new_tokens=256, seed=0)

    gen = make_generator(str(model), backend="vllm", dtype="bfloat16", seed=0,
                         gpu_memory_utilization=0.5)
    start = time.perf_counter()
    ours = gen.generate(prompts, params, seeds=[request_seed(0, i) for i in range(512)])
    ours_s = time.perf_counter() - start
    tokens = sum(c.num_tokens for group in ours for c in group)
    raw = gen.llm  # the same engine, called directly: the harness's overhead is the difference
    from vllm import SamplingParams as VParams

    vparams = [VParams(n=4, temperature=1.0, max_tokens=256, seed=request_seed(0, i))
               for i in range(512)]
    start = time.perf_counter()
    outs = raw.generate(prompts, vparams, use_tqdm=False)
    raw_s = time.perf_counter() - start
    raw_tokens = sum(len(c.token_ids) for o in outs for c in o.outputs)
    gen.close()
    print(f"vLLM CUDA generation: dapo-bench {tokens / ours_s:,.0f} tok/s, raw vLLM "
          f"{raw_tokens / raw_s:,.0f} tok/s (512 prompts x 4 samples, 256 new tokens)")
    check_weight_reload(model, prompts[:64])

    device = torch.device("cuda")
    ids = torch.randint(10, 1000, (16, 512), device=device)
    mask = torch.ones_like(ids)
    critic = ValueModel.from_backbone(str(model), torch.bfloat16).to(device)
    optim = torch.optim.AdamW(critic.parameters(), lr=5e-6)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(10):
        loss = bce_soft(critic(ids, mask), torch.rand(16, device=device))
        loss.backward()
        optim.step()
        optim.zero_grad()
    torch.cuda.synchronize()
    print(f"bf16 critic step: {(time.perf_counter() - start) / 10 * 1000:.1f} ms "
          f"(16 x 512 tokens), loss {loss.item():.3f}")

    from transformers import AutoModelForCausalLM

    lm = AutoModelForCausalLM.from_pretrained(str(model), dtype=torch.bfloat16).to(device)
    policy = PolicyLogps(lm)
    optim = torch.optim.AdamW(policy.parameters(), lr=5e-7)
    states = [{"state": list(range(10, 400)), "actions": [list(range(5, 5 + 40 + k))
                                                          for k in range(8)]}
              for _ in range(16)]
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(10):
        logps = policy(states=states)
        loss = dapo_loss(logps, logps.detach() - 0.1, torch.zeros_like(logps), 0.01)
        loss.backward()
        optim.step()
        optim.zero_grad()
    torch.cuda.synchronize()
    print(f"bf16 policy step: {(time.perf_counter() - start) / 10 * 1000:.1f} ms "
          f"(16 states of 390 tokens, 8 actions each)")


def check_weight_reload(model: Path, prompts: list[str], dtype: str = "bfloat16") -> None:
    """A kept CUDA engine given another checkpoint's weights in place generates what a fresh
    engine on that checkpoint does (greedy), and how long the load takes."""
    from dapo_bench.generation import SamplingParams, engines, make_generator
    from dapo_bench.testing import perturbed_copy

    other = perturbed_copy(model, model.parent / "other", seed=1)
    greedy = SamplingParams(max_new_tokens=64)
    settings = {"backend": "vllm", "dtype": dtype, "gpu_memory_utilization": 0.5}
    fresh = make_generator(str(other), **settings)
    want = [g[0].token_ids for g in fresh.generate(prompts, greedy)]
    fresh.close()
    kept = engines.acquire(str(model), **settings)
    kept.generate(prompts, greedy)
    engines.release(kept)
    start = time.perf_counter()
    kept = engines.acquire(str(other), **settings)
    load_s = time.perf_counter() - start
    got = [g[0].token_ids for g in kept.generate(prompts, greedy)]
    kept.close()
    same = sum(a == b for a, b in zip(want, got, strict=True))
    print(f"in-place weight load on CUDA: {load_s:.2f} s ({engines.stats}); greedy outputs "
          f"equal to a fresh engine's: {same} of {len(prompts)}")


if __name__ == "__main__":
    main()
