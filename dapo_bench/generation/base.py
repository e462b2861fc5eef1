"""The backend-neutral generation interface: sampling parameters, completions, generators.

Seeding: every prompt carries its own request seed (given, or derived from ``params.seed`` and
the prompt's index by :func:`request_seed`); sample ``j`` of a prompt draws from seed
``request_seed + j`` (vLLM's own convention for ``n > 1``). A prompt's samples therefore
depend on its request seed, not on which other prompts share its batch or chunk: a resumed run
redraws the same samples, up to floating-point differences between batch shapes.

What is deterministic, for a fixed checkpoint, dtype and machine:

- greedy decoding, on either backend (and the two backends agree token for token in float32
  on the tiny test model; in bf16 they differ on a few percent of prompts);
- sampled decoding with the same request seeds, on the same backend. The two backends do not
  draw the same samples from the same seed.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

FinishReason = Literal["stop", "length"]
#: A prompt is text (tokenised by the backend, special tokens added as the tokenizer does) or
#: the exact token ids to continue (a Monte-Carlo state: never re-tokenised).
Prompt = str | Sequence[int]


def request_seed(seed: int, key: int | str) -> int:
    """A 31-bit seed for one request from the run seed and a stable key (index or id).

    Hashing keeps the seeds of neighbouring prompts far apart, so that ``seed + j`` (sample
    ``j``) of one prompt never coincides with another prompt's seeds in practice.
    """
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


@dataclass(frozen=True)
class SamplingParams:
    """How to decode. ``temperature == 0`` means greedy (``top_p`` and seeds are then unused).

    ``stop`` strings end a completion and are cut from its text (vLLM's convention, applied
    to the HF backend too); the model's EOS tokens always end it.
    """

    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 2048
    stop: tuple[str, ...] = field(default=())
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "stop", tuple(self.stop))
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if any(not s for s in self.stop):
            raise ValueError("stop strings must be non-empty")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["stop"] = list(self.stop)
        return out


@dataclass(frozen=True)
class Completion:
    """One generated continuation. ``text`` excludes the prompt, EOS and any stop string;
    ``token_ids`` are the generated tokens up to and including the one that ended it."""

    text: str
    token_ids: tuple[int, ...]
    finish_reason: FinishReason

    @property
    def num_tokens(self) -> int:
        return len(self.token_ids)


#: Called once per finished prompt with its index and completions.
ResultCallback = Callable[[int, list[Completion]], None]


@runtime_checkable
class Generator(Protocol):
    """What the eval engine and the DAPO pipeline need from a backend."""

    backend: str
    model_path: str

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams, *,
                 seeds: Sequence[int] | None = None,
                 on_result: ResultCallback | None = None) -> list[list[Completion]]: ...

    def stream(self, prompts: Sequence[Prompt], params: SamplingParams, *,
               seeds: Sequence[int] | None = None) -> Iterator[tuple[int, list[Completion]]]: ...

    def describe(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class BaseGenerator(ABC):
    """Shared plumbing: seeds, greedy ``n > 1``, ordering, context management.

    Subclasses implement :meth:`_stream`, yielding ``(index, completions)`` as prompts finish,
    in any order.
    """

    backend: str = "base"
    #: Whether :meth:`load_weights` can put another checkpoint into this engine.
    reloadable: bool = False
    #: Whether the engine holds accelerator memory that training would need.
    holds_device_memory: bool = False

    def __init__(self, model_path: str, *, dtype: str = "float32", seed: int = 0) -> None:
        self.model_path = model_path
        self.dtype = dtype
        self.seed = seed

    def load_weights(self, model_path: str) -> bool:
        """Load the weights of ``model_path`` (same architecture and tokenizer) in place of
        the current ones; False when this backend cannot, and the caller starts a new one."""
        return False

    @abstractmethod
    def _stream(self, prompts: list[Prompt], params: SamplingParams, seeds: list[int]
                ) -> Iterator[tuple[int, list[Completion]]]: ...

    def stream(self, prompts: Sequence[Prompt], params: SamplingParams, *,
               seeds: Sequence[int] | None = None) -> Iterator[tuple[int, list[Completion]]]:
        """Yield ``(prompt index, n completions)`` as soon as each prompt is done (any order).

        Stopping the iteration early (``close()``, an exception, Ctrl-C) cancels the rest.
        """
        prompts = list(prompts)
        if seeds is None:
            seeds = [request_seed(params.seed, i) for i in range(len(prompts))]
        elif len(seeds) != len(prompts):
            raise ValueError(f"{len(seeds)} seeds for {len(prompts)} prompts")
        if not prompts:
            return
        if params.greedy and params.n > 1:  # n identical copies: decode once
            one = SamplingParams(n=1, temperature=0.0, top_p=params.top_p,
                                 max_new_tokens=params.max_new_tokens, stop=params.stop,
                                 seed=params.seed)
            for index, completions in self._stream(prompts, one, list(seeds)):
                yield index, completions * params.n
            return
        yield from self._stream(prompts, params, list(seeds))

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams, *,
                 seeds: Sequence[int] | None = None,
                 on_result: ResultCallback | None = None) -> list[list[Completion]]:
        """``n`` completions for every prompt, in prompt order."""
        results: list[list[Completion] | None] = [None] * len(prompts)
        for index, completions in self.stream(prompts, params, seeds=seeds):
            results[index] = completions
            if on_result is not None:
                on_result(index, completions)
        missing = [i for i, r in enumerate(results) if r is None]
        if missing:
            raise RuntimeError(f"{self.backend} backend returned nothing for prompts {missing[:5]}")
        return results  # type: ignore[return-value]

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend, "model_path": self.model_path, "dtype": self.dtype,
                "seed": self.seed}

    def close(self) -> None:  # noqa: B027 - a no-op unless the backend holds resources
        """Free the model (and, for vLLM, its worker processes)."""

    def __enter__(self) -> BaseGenerator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def truncate_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """``text`` cut before the earliest stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
