"""The toy base model: a character-level tokenizer and a small Llama trained by SFT.

The tokenizer is byte-level BPE with no merges (one token per ASCII character), saved as a
normal ``tokenizer.json`` so transformers and vLLM load it like any other. Training is
deterministic given the seed (single process, seeded data order and initialisation).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import torch

from dapo_bench.toy.task import TEMPLATE, sft_examples

EOS = "<|endoftext|>"


def prompt_of(question: str) -> str:
    """The toy template: the question on its own line, the solution follows."""
    return TEMPLATE.format(question)


def build_tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    vocab[EOS] = len(vocab)
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens([EOS])
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token=EOS, pad_token=EOS,
                                   bos_token=None, unk_token=None)


def build_model(vocab_size: int, eos_id: int, seed: int, *, hidden: int = 128, layers: int = 4,
                heads: int = 4, intermediate: int = 384, max_positions: int = 256) -> Any:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=intermediate,
                         num_hidden_layers=layers, num_attention_heads=heads,
                         num_key_value_heads=heads, max_position_embeddings=max_positions,
                         bos_token_id=eos_id, eos_token_id=eos_id, pad_token_id=eos_id,
                         tie_word_embeddings=True, rope_theta=10000.0)
    return LlamaForCausalLM(config)


def sft_batches(tokenizer: Any, examples: list[tuple[str, str]], batch_size: int,
                seed: int) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Right-padded (ids, attention mask, labels) batches; loss only on solution tokens + EOS."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(examples), generator=g).tolist()
    batches = []
    eos = tokenizer.eos_token_id
    for start in range(0, len(order), batch_size):
        rows = []
        for i in order[start:start + batch_size]:
            question, solution = examples[i]
            prompt = tokenizer(prompt_of(question), add_special_tokens=False)["input_ids"]
            answer = tokenizer(solution, add_special_tokens=False)["input_ids"] + [eos]
            rows.append((prompt + answer, [-100] * len(prompt) + answer))
        width = max(len(ids) for ids, _ in rows)
        ids = torch.full((len(rows), width), eos, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        for r, (seq, lab) in enumerate(rows):
            ids[r, : len(seq)] = torch.tensor(seq)
            mask[r, : len(seq)] = 1
            labels[r, : len(lab)] = torch.tensor(lab)
        batches.append((ids, mask, labels))
    return batches


def train_base(out: str | Path, *, seed: int = 0, n_examples: int = 30000, epochs: int = 2,
               batch_size: int = 64, lr: float = 3e-3, shortcut_share: float = 0.6,
               slip_share: float = 0.15, log_every: int = 50) -> Path:
    """SFT a fresh tiny Llama on toy solutions and save it as an HF checkpoint directory."""
    torch.manual_seed(seed)
    tokenizer = build_tokenizer()
    model = build_model(len(tokenizer), tokenizer.eos_token_id, seed)
    examples = sft_examples(n_examples, shortcut_share=shortcut_share, slip_share=slip_share,
                            seed=seed)
    steps_per_epoch = math.ceil(len(examples) / batch_size)
    total = steps_per_epoch * epochs
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.98))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 100) * 0.5 * (1 + math.cos(math.pi * s / total)))
    model.train()
    step, started, log = 0, time.time(), []
    for epoch in range(epochs):
        for ids, mask, labels in sft_batches(tokenizer, examples, batch_size, seed + epoch):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            if step % log_every == 0 or step == total:
                log.append({"step": step, "loss": round(loss.item(), 4),
                            "seconds": round(time.time() - started, 1)})
                print(f"sft step {step}/{total} loss {loss.item():.4f}", flush=True)
    out = Path(out)
    model.eval()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "sft_log.json").write_text(json.dumps({
        "seed": seed, "n_examples": n_examples, "epochs": epochs, "batch_size": batch_size,
        "lr": lr, "shortcut_share": shortcut_share, "slip_share": slip_share,
        "parameters": sum(p.numel() for p in model.parameters()), "log": log}, indent=1))
    return out
