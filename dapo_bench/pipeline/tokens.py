"""One canonical tokenisation of states and actions, used by every stage.

A state is ``prompt + step_1 + ... + step_k`` and an action is the next step. Each piece is
tokenised on its own and the ids are concatenated, so the ids of ``state + action`` are exactly
the ids of the state followed by the ids of the action: the critic, the reference log-probs and
the policy loss all see the same tokens, and a state's computation can be shared by its actions.
"""

from __future__ import annotations

from typing import Any


def encode_piece(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def encode_state(tokenizer: Any, prompt: str, steps: list[str], max_length: int | None = None
                 ) -> list[int]:
    """Ids of a state; a BOS token leads when the tokenizer defines one and uses it."""
    ids: list[int] = []
    bos = getattr(tokenizer, "bos_token_id", None)
    if bos is not None and getattr(tokenizer, "add_bos_token", False):
        ids.append(bos)
    ids += encode_piece(tokenizer, prompt)
    for step in steps:
        ids += encode_piece(tokenizer, step)
    if max_length is not None and len(ids) > max_length:
        ids = ids[-max_length:]  # keep the end: the value is read at the last token
    return ids


def policy_state_ids(tokenizer: Any, record: dict[str, Any], max_length: int | None = None
                     ) -> list[int]:
    """Ids of a state for pi_ref and the policy (which share the generator's tokenizer): the
    prompt's ids and the generated prefix exactly as sampled when the states stage kept them,
    else the canonical tokenisation of its text."""
    if "prompt_ids" not in record or "ids" not in record:
        return encode_state(tokenizer, record["prompt"], record["steps"], max_length)
    ids = [*record["prompt_ids"], *record["ids"]]
    return ids[-max_length:] if max_length is not None and len(ids) > max_length else ids
