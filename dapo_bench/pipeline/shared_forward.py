"""Forward passes over one state and its M actions that compute the state once.

The state is run once with the KV cache on; the cache is repeated M times and the actions are
run against it in one right-padded batch. Tokens computed per (state, action) pair fall from
``L_s + L_a`` (naive: each pair concatenated) to ``L_s / M + L_a``. Gradients flow through the
shared cache, so the same code serves the policy loss. :func:`naive_forward` is the reference
implementation the tests and ``benchmarks/pipeline_bench.py`` compare against.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class ActionBatch:
    ids: torch.Tensor  # (M, La) right-padded action ids
    mask: torch.Tensor  # (M, La) 1 on real tokens
    lengths: torch.Tensor  # (M,)


def pad_actions(actions: list[list[int]], device: torch.device, pad_id: int = 0) -> ActionBatch:
    if not actions or any(len(a) == 0 for a in actions):
        raise ValueError("every action needs at least one token")
    width = max(len(a) for a in actions)
    ids = torch.full((len(actions), width), pad_id, dtype=torch.long, device=device)
    mask = torch.zeros((len(actions), width), dtype=torch.long, device=device)
    for i, action in enumerate(actions):
        ids[i, : len(action)] = torch.tensor(action, dtype=torch.long, device=device)
        mask[i, : len(action)] = 1
    return ActionBatch(ids, mask, mask.sum(dim=1))


def _state_then_actions(model: nn.Module, state: list[int], actions: ActionBatch,
                        **first_extra: object) -> tuple[object, object]:
    device = actions.ids.device
    state_ids = torch.tensor([state], dtype=torch.long, device=device)
    first = model(input_ids=state_ids, use_cache=True, **first_extra)
    cache = first.past_key_values
    m = actions.ids.shape[0]
    cache.batch_repeat_interleave(m)
    ls = len(state)
    attn = torch.cat([torch.ones((m, ls), dtype=torch.long, device=device), actions.mask], dim=1)
    positions = torch.arange(ls, ls + actions.ids.shape[1], device=device).expand(m, -1)
    second = model(input_ids=actions.ids, attention_mask=attn, position_ids=positions,
                   past_key_values=cache, use_cache=False)
    return first, second


def action_logps_shared(lm: nn.Module, state: list[int], actions: list[list[int]]
                        ) -> torch.Tensor:
    """Summed log-probabilities ``log pi(a_i | s)`` of each action under a causal LM, shape (M,)."""
    batch = pad_actions(actions, next(lm.parameters()).device)
    first, second = _state_then_actions(lm, state, batch, logits_to_keep=1)
    # Logit at the state's last token predicts each action's first token; the action's own
    # logits at position j predict token j + 1.
    logits = torch.cat([first.logits[:, -1:, :].expand(batch.ids.shape[0], -1, -1),
                        second.logits[:, :-1, :]], dim=1).float()
    logp = torch.log_softmax(logits, dim=-1).gather(-1, batch.ids.unsqueeze(-1)).squeeze(-1)
    return (logp * batch.mask).sum(dim=1)


def action_logps_naive(lm: nn.Module, state: list[int], actions: list[list[int]]
                       ) -> torch.Tensor:
    """The same quantity with each (state, action) pair run in full."""
    device = next(lm.parameters()).device
    out = []
    for action in actions:
        ids = torch.tensor([state + action], dtype=torch.long, device=device)
        logits = lm(input_ids=ids).logits[0, len(state) - 1 : -1].float()
        logp = torch.log_softmax(logits, dim=-1)
        out.append(logp.gather(-1, torch.tensor(action, device=device).unsqueeze(-1)).sum())
    return torch.stack(out)


def last_hidden_shared(backbone: nn.Module, state: list[int], actions: list[list[int]]
                       ) -> torch.Tensor:
    """Final hidden state at the last token of each ``state + action``, shape (M, H)."""
    batch = pad_actions(actions, next(backbone.parameters()).device)
    _, second = _state_then_actions(backbone, state, batch)
    hidden = second.last_hidden_state
    index = (batch.lengths - 1).view(-1, 1, 1).expand(-1, 1, hidden.shape[-1])
    return hidden.gather(1, index).squeeze(1)


def last_hidden_naive(backbone: nn.Module, state: list[int], actions: list[list[int]]
                      ) -> torch.Tensor:
    device = next(backbone.parameters()).device
    rows = []
    for action in actions:
        ids = torch.tensor([state + action], dtype=torch.long, device=device)
        rows.append(backbone(input_ids=ids).last_hidden_state[0, -1])
    return torch.stack(rows)


def tokens_computed(state_len: int, action_lens: list[int], shared: bool) -> int:
    """Token positions a forward pass computes for one state and its actions."""
    if shared:
        return state_len + len(action_lens) * max(action_lens)
    return sum(state_len + n for n in action_lens)
