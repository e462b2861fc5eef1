"""The transformers backend: batched ``generate`` with left padding, for machines without vLLM.

Sampling uses a per-row ``torch.Generator`` seeded from the request seed (sample ``j`` of a
prompt from ``seed + j``), applied as a logits processor that leaves exactly one token
admissible; ``generate`` then picks it greedily. That keeps a prompt's samples independent of
its batch, which HF's own sampler (one global RNG stream per batch) does not.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
import transformers
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    LogitsProcessor,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
)
from transformers.utils import logging as hf_logging

from dapo_bench.generation.base import (
    BaseGenerator,
    Completion,
    Prompt,
    SamplingParams,
    truncate_at_stop,
)

_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
           "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}


def torch_dtype(name: str) -> torch.dtype | str:
    if name == "auto":
        return "auto"
    try:
        return _DTYPES[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; use auto, float32, bfloat16 or "
                         "float16") from None


class SeededSampler(LogitsProcessor):
    """Temperature + nucleus sampling with one seeded generator per batch row."""

    def __init__(self, seeds: list[int], temperature: float, top_p: float,
                 device: torch.device) -> None:
        self.temperature, self.top_p = temperature, top_p
        self.generators = [torch.Generator(device=device).manual_seed(s) for s in seeds]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor
                 ) -> torch.FloatTensor:
        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        if self.top_p < 1.0:
            sorted_probs, order = probs.sort(dim=-1, descending=True)
            # drop a token when the mass strictly before it already reaches top_p
            drop = (sorted_probs.cumsum(dim=-1) - sorted_probs) >= self.top_p
            sorted_probs = sorted_probs.masked_fill(drop, 0.0)
            probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
        picks = torch.cat([torch.multinomial(probs[row], 1, generator=gen)
                           for row, gen in enumerate(self.generators)])
        out = torch.full_like(scores, float("-inf"))
        return out.scatter(-1, picks.unsqueeze(-1), 0.0)


class EndTracker(StoppingCriteria):
    """Ends a row at EOS or at the token that completes a stop string, and remembers where,
    so the padding ``generate`` appends to finished rows is never mistaken for output."""

    def __init__(self, tokenizer: Any, prompt_len: int, eos_ids: list[int],
                 stop: tuple[str, ...], rows: int) -> None:
        self.tokenizer, self.prompt_len = tokenizer, prompt_len
        self.eos_ids, self.stop = set(eos_ids), stop
        # every token decodes to at least one character, so this many tokens cover a stop string
        self.window = max((len(s) for s in stop), default=0) + 2
        self.ends: list[int | None] = [None] * rows
        self.by_eos = [False] * rows

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor,
                 **kwargs: Any) -> torch.BoolTensor:
        new_len = input_ids.shape[1] - self.prompt_len
        last = input_ids[:, -1].tolist()
        for row, token in enumerate(last):
            if self.ends[row] is not None:
                continue
            if token in self.eos_ids:
                self.ends[row], self.by_eos[row] = new_len, True
            elif self.stop:
                tail = input_ids[row, -min(self.window, new_len):].tolist()
                # special tokens are not text (vLLM matches stop strings the same way)
                text = self.tokenizer.decode(tail, skip_special_tokens=True)
                if any(s in text for s in self.stop):
                    self.ends[row] = new_len
        done = [end is not None for end in self.ends]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class HFGenerator(BaseGenerator):
    """transformers ``generate`` over length-sorted batches of ``batch_size`` sequences."""

    backend = "hf"

    def __init__(self, model_path: str, *, dtype: str = "float32", seed: int = 0,
                 batch_size: int = 32, device: str | None = None,
                 max_model_len: int | None = None) -> None:
        super().__init__(model_path, dtype=dtype, seed=seed)
        self.batch_size = batch_size
        self.max_model_len = max_model_len
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        hf_logging.disable_progress_bar()  # no "Loading weights" bar inside our own bars
        tokenizer = AutoTokenizer.from_pretrained(model_path, padding_side="left")
        dtype_arg = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
        model = AutoModelForCausalLM.from_pretrained(
            model_path, **{dtype_arg: torch_dtype(dtype)}).to(self.device).eval()
        self._bind(model, tokenizer)

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any, *, batch_size: int = 32) -> HFGenerator:
        """Generate with a model already in memory (e.g. one being trained); the caller keeps
        it in eval mode while generating. ``tokenizer`` must pad on the left."""
        gen = cls.__new__(cls)
        BaseGenerator.__init__(gen, "<in-memory>",
                               dtype=str(model.dtype).removeprefix("torch."))
        gen.batch_size, gen.max_model_len = batch_size, None
        gen.device = next(model.parameters()).device
        gen._bind(model, tokenizer)
        return gen

    def _bind(self, model: Any, tokenizer: Any) -> None:
        """Attach model and tokenizer; derive the ids that end and pad generations."""
        self.model, self.tokenizer = model, tokenizer
        gen_cfg = self.model.generation_config
        eos = gen_cfg.eos_token_id if gen_cfg is not None else None
        eos_ids = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
        if self.tokenizer.eos_token_id is not None:
            eos_ids.add(self.tokenizer.eos_token_id)
        self.eos_ids = sorted(eos_ids)
        if self.tokenizer.pad_token is None:  # e.g. Llama: pad with EOS (it is masked anyway)
            pad_token = (self.tokenizer.eos_token or
                         self.tokenizer.convert_ids_to_tokens(self.eos_ids[0]))
            self.tokenizer.pad_token = pad_token
        self.pad_id = self.tokenizer.pad_token_id

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "version": transformers.__version__,
                "device": str(self.device), "batch_size": self.batch_size}

    def _stream(self, prompts: list[Prompt], params: SamplingParams, seeds: list[int]
                ) -> Iterator[tuple[int, list[Completion]]]:
        encoded = [list(p) if not isinstance(p, str) else None for p in prompts]
        texts = [i for i, e in enumerate(encoded) if e is None]
        if texts:
            ids = self.tokenizer([prompts[i] for i in texts])["input_ids"]
            for i, row in zip(texts, ids, strict=True):
                encoded[i] = list(row)
        rows_ids: list[list[int]] = encoded  # type: ignore[assignment]
        lengths = [len(row) for row in rows_ids]
        if self.max_model_len is not None and max(lengths) >= self.max_model_len:
            raise ValueError(f"a prompt of {max(lengths)} tokens does not fit "
                             f"max_model_len={self.max_model_len}")
        # Longest first: similar lengths share a batch (less padding), and an out-of-memory
        # error shows up on the first batch rather than the last.
        order = sorted(range(len(prompts)), key=lambda i: -lengths[i])
        per_batch = max(1, self.batch_size // params.n)
        for start in range(0, len(order), per_batch):
            batch = order[start:start + per_batch]
            outputs = self._generate_batch([rows_ids[i] for i in batch],
                                           [seeds[i] for i in batch], params)
            for k, index in enumerate(batch):
                yield index, outputs[k * params.n:(k + 1) * params.n]

    @torch.inference_mode()
    def _generate_batch(self, prompts: list[list[int]], seeds: list[int],
                        params: SamplingParams) -> list[Completion]:
        rows = [p for p in prompts for _ in range(params.n)]
        row_seeds = [s + j for s in seeds for j in range(params.n)]
        enc = self.tokenizer.pad({"input_ids": rows}, padding=True,
                                 return_tensors="pt").to(self.device)
        prompt_len = enc["input_ids"].shape[1]
        tracker = EndTracker(self.tokenizer, prompt_len, self.eos_ids, params.stop, len(rows))
        config = GenerationConfig(max_new_tokens=params.max_new_tokens, do_sample=False,
                                  num_beams=1, eos_token_id=self.eos_ids or None,
                                  pad_token_id=self.pad_id)
        processors = LogitsProcessorList()
        if not params.greedy:
            processors.append(
                SeededSampler(row_seeds, params.temperature, params.top_p, self.device))
        out = self.model.generate(**enc, generation_config=config, logits_processor=processors,
                                  stopping_criteria=StoppingCriteriaList([tracker]))
        completions = []
        for row, ids in enumerate(out[:, prompt_len:].tolist()):
            end = tracker.ends[row]
            ids = ids[:end] if end is not None else ids
            # The EOS token is never text, special or not, and a trailing incomplete UTF-8
            # sequence is dropped: vLLM's detokenizer does both, so the two backends give
            # the same text for the same tokens.
            text_ids = ids[:-1] if tracker.by_eos[row] else ids
            text = self.tokenizer.decode(text_ids, skip_special_tokens=True).rstrip("\ufffd")
            text, _ = truncate_at_stop(text, params.stop)
            completions.append(Completion(text=text, token_ids=tuple(ids),
                                          finish_reason="stop" if end is not None else "length"))
        return completions

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
