"""Tiny, offline HF checkpoints for tests and benchmarks.

:func:`build_tiny_qwen2` trains a small byte-level BPE tokenizer with ``tokenizers`` on a
built-in corpus of math-flavoured text, builds a ``Qwen2ForCausalLM`` of about 1M parameters
with seeded random weights, and saves both with ``save_pretrained``: a real checkpoint
directory (``config.json``, ``model.safetensors``, ``tokenizer.json``, a ChatML chat template)
that every loader of "a HF checkpoint" — transformers, vLLM, the eval command — reads for real,
without a model hub. The same arguments give the same files, byte for byte.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["build_tiny_qwen2", "cached_tiny_qwen2", "tiny_corpus"]

#: Bumped whenever the builder's output changes, so cached checkpoints are rebuilt.
BUILDER_VERSION = 2

ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
SPECIAL_TOKENS = [ENDOFTEXT, IM_START, IM_END]

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

_WORD_TEXT = (
    "Question Answer Solution Let's think step by step. The answer is Therefore we have "
    "so total each per apples pencils students books dollars hours minutes miles cookies "
    "sum product difference quotient remainder integer prime divisor multiple fraction "
    "equation solve for x y n find compute simplify evaluate value area triangle circle "
    "radius square probability number of ways how many what is if then and of the a"
)
_LATEX = (r"\boxed{", r"\frac{", r"\sqrt{", r"\cdot", r"\pi", r"^2", r"\le", r"\ge", "$", "}")


def tiny_corpus(n_lines: int = 1500, seed: int = 0) -> list[str]:
    """Deterministic math-ish lines: words, numbers, arithmetic and a little LaTeX."""
    import random

    rng = random.Random(seed)
    words_pool = _WORD_TEXT.split()
    lines: list[str] = []
    for _ in range(n_lines):
        a, b = rng.randint(0, 999), rng.randint(1, 99)
        op, res = rng.choice([("+", a + b), ("-", a - b), ("*", a * b), ("/", a // b)])
        words = " ".join(rng.choice(words_pool) for _ in range(rng.randint(3, 12)))
        latex = "".join(rng.choice(_LATEX) for _ in range(rng.randint(0, 3)))
        lines.append(f"{words} {a} {op} {b} = {res}. {latex} The answer is \\boxed{{{res}}}.")
    return lines


def build_tiny_qwen2(path: str | Path, *, vocab_size: int = 1024, hidden_size: int = 128,
                     num_layers: int = 4, num_heads: int = 4, num_kv_heads: int = 2,
                     intermediate_size: int = 384, max_position_embeddings: int = 4096,
                     initializer_range: float = 0.1, seed: int = 0,
                     merge_newlines: bool = False) -> Path:
    """Build and save a tiny ``Qwen2ForCausalLM`` with a locally trained tokenizer; return ``path``.

    ``merge_newlines`` pre-tokenises a newline together with the word after it and trains on
    multi-line documents, so that merges span ``"\n"`` (``"\nThe"`` is one token): the
    tokenizer on which re-tokenising a cut text would shift a state.

    ``initializer_range`` is larger than Qwen's 0.02 so that the random model's next-token
    distributions are peaked: greedy outputs then vary with the prompt instead of collapsing
    onto one token, and near-ties (where two backends could legitimately disagree) are rare.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (
        GenerationConfig,
        GraniteConfig,
        GraniteForCausalLM,
        PreTrainedTokenizerFast,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)

    bpe = Tokenizer(models.BPE(unk_token=None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    if merge_newlines:  # "\nThe" is one piece: BPE may merge the newline into the next word
        from tokenizers import Regex

        bpe.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex("\n+[^\n ]*| ?[^\n ]+| +"), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    corpus = tiny_corpus(seed=seed)
    if merge_newlines:  # documents of several lines: pairs across "\n" get merged
        corpus = ["\nSo ".join(corpus[i:i + 4]) + "\nThe end" for i in range(0, len(corpus), 4)]
    bpe.train_from_iterator(corpus, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token=IM_END,
                                        pad_token=ENDOFTEXT, clean_up_tokenization_spaces=False)
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.model_max_length = max_position_embeddings
    tokenizer.save_pretrained(out)

    im_end, endoftext = (tokenizer.convert_tokens_to_ids(t) for t in (IM_END, ENDOFTEXT))
    # transformers loads a qwen2 checkpoint's tokenizer as Qwen2Tokenizer, which rebuilds its
    # own pre-tokenizer; a granite checkpoint (a Llama-style decoder) keeps the saved one.
    config_class, model_class = (GraniteConfig, GraniteForCausalLM) if merge_newlines else (
        Qwen2Config, Qwen2ForCausalLM)
    config = config_class(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=intermediate_size,
        num_hidden_layers=num_layers, num_attention_heads=num_heads,
        num_key_value_heads=num_kv_heads, max_position_embeddings=max_position_embeddings,
        initializer_range=initializer_range, tie_word_embeddings=True,
        bos_token_id=endoftext, eos_token_id=im_end, pad_token_id=endoftext)
    config.architectures = [model_class.__name__]
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = model_class(config).to(torch.float32).eval()
    finally:
        torch.random.set_rng_state(generator_state)
    model.generation_config = GenerationConfig(bos_token_id=endoftext,
                                               eos_token_id=[im_end, endoftext],
                                               pad_token_id=endoftext)
    model.save_pretrained(out)
    return out


_CACHE: dict[str, Path] = {}
_CACHE_ROOT: Path | None = None


def _cleanup_cache() -> None:
    if _CACHE_ROOT is not None:
        shutil.rmtree(_CACHE_ROOT, ignore_errors=True)


def cached_tiny_qwen2(**kwargs: object) -> Path:
    """:func:`build_tiny_qwen2` once per process and argument set, in a temporary directory
    removed at exit. Tests call it from a session fixture; the directory is read-only by
    convention (copy it before modifying)."""
    global _CACHE_ROOT
    key = hashlib.sha256(json.dumps([BUILDER_VERSION, sorted(kwargs.items())],
                                    default=str).encode()).hexdigest()[:12]
    if key not in _CACHE:
        if _CACHE_ROOT is None:
            _CACHE_ROOT = Path(tempfile.mkdtemp(prefix="dapo-bench-tiny-"))
            atexit.register(_cleanup_cache)
        _CACHE[key] = build_tiny_qwen2(_CACHE_ROOT / f"tiny-qwen2-{key}", **kwargs)  # type: ignore[arg-type]
    return _CACHE[key]


def perturbed_copy(source: Path, target: Path, seed: int) -> Path:
    """A copy of checkpoint ``source`` with other weights (noise added to every parameter,
    a tied LM head included) and the same architecture and tokenizer: a stand-in for a
    trained checkpoint."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(source)
    torch.manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    model.save_pretrained(target)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(source / name, target / name)
    return target


@dataclass(frozen=True)
class Agreement:
    """Samples of one stored result: how many, how many a fresh run has, how many of those
    have the same output."""

    same: int
    stored: int
    fresh: int


def output_agreement(stored: Path, fresh: Path,
                     only: set[tuple[str, str]] | None = None
                     ) -> dict[tuple[str, str], Agreement]:
    """Per (model, benchmark) result of the results root ``stored`` (or of those in
    ``only``), how the outputs in the results root ``fresh`` compare, sample id by sample id
    (a result missing from ``fresh`` has no fresh samples)."""
    from dapo_bench.report.results import ResultsStore

    before, after = ResultsStore(stored), ResultsStore(fresh)
    out = {}
    for key, result in before.results().items():
        if only is not None and key not in only:
            continue
        old = {s.id: s.output for s in before.read_samples(result) or []}
        new = {s.id: s.output for s in after.read_samples(after.read(*key)) or []} \
            if after.exists(*key) else {}
        out[key] = Agreement(sum(new.get(i) == text for i, text in old.items()), len(old),
                             len(new))
    return out
