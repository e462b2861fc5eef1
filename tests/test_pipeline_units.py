"""Unit tests of the DAPO stages' pure parts: loss, selection, steps, advantages, critic loss,
state-wise batches, and the shared state computation."""

from __future__ import annotations

import random

import pytest
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

from dapo_bench.config import AdvantageConfig
from dapo_bench.pipeline.advantages import (
    compute_advantages,
    group_actions,
    ranking_accuracy,
    state_advantages,
)
from dapo_bench.pipeline.critic import ValueModel, bce_soft
from dapo_bench.pipeline.policy import _collate, dapo_loss
from dapo_bench.pipeline.rollouts import select_balanced
from dapo_bench.pipeline.shared_forward import (
    action_logps_naive,
    action_logps_shared,
    last_hidden_naive,
    last_hidden_shared,
    tokens_computed,
)
from dapo_bench.pipeline.steps import first_step, split_steps


def test_dapo_loss_hand_computed_and_gradient() -> None:
    logp = torch.tensor([-1.0, -2.0, -0.5], requires_grad=True)
    ref = torch.tensor([-1.5, -1.0, -0.5])
    adv = torch.tensor([0.02, -0.01, 0.0])
    beta = 0.01
    # targets A/beta = [2, -1, 0]; ratios = [0.5, -1.0, 0.0]; residuals = [1.5, 0, 0]
    loss = dapo_loss(logp, ref, adv, beta)
    assert loss.item() == pytest.approx(0.5 * (1.5**2) / 3)
    loss.backward()
    # d/dlogp of 0.5 * mean((t - (logp - ref))^2) = -(t - ratio) / n
    assert logp.grad.tolist() == pytest.approx([-1.5 / 3, 0.0, 0.0])


def test_dapo_loss_is_zero_at_the_target_ratio() -> None:
    ref = torch.tensor([-3.0, -2.0])
    adv = torch.tensor([0.1, -0.1])
    assert dapo_loss(ref + adv / 0.05, ref, adv, 0.05).item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("correct", "n_select", "want_right", "want_wrong"), [
    ([True] * 5 + [False] * 5, 6, 3, 3),
    ([True] * 1 + [False] * 9, 6, 1, 5),
    ([True] * 9 + [False] * 1, 6, 5, 1),
    ([True] * 4, 6, 4, 0),
    ([False] * 3, 2, 0, 2),
    ([True] * 4 + [False] * 4, 5, 2, 3),
])
def test_select_balanced(correct: list[bool], n_select: int, want_right: int, want_wrong: int
                         ) -> None:
    picked = select_balanced(correct, n_select, random.Random(0))
    assert len(picked) == len(set(picked))
    assert sum(correct[i] for i in picked) == want_right
    assert sum(not correct[i] for i in picked) == want_wrong
    assert picked == select_balanced(correct, n_select, random.Random(0))


@pytest.mark.parametrize(("text", "steps"), [
    ("a\nb\n", ["a\n", "b\n"]),
    ("a\n\nb", ["a\n\n", "b"]),
    ("\n\na\nb", ["\n\na\n", "b"]),
    ("no newline", ["no newline"]),
    ("x\r\ny\r\n", ["x\r\n", "y\r\n"]),
    ("a\nb\n\n\n", ["a\n", "b\n\n\n"]),
    ("", []),
    ("   \n", ["   \n"]),
])
def test_split_steps(text: str, steps: list[str]) -> None:
    assert split_steps(text) == steps
    assert "".join(split_steps(text)) == text


def test_first_step_and_terminal() -> None:
    assert first_step("x = 3\nso \\boxed{3}") == ("x = 3\n", False)
    assert first_step("\\boxed{3}\n") == ("\\boxed{3}\n", True)
    assert first_step("") == ("", True)
    assert split_steps("a||b", "||") == ["a||", "b"]


def _completion(action: str, terminal: bool, correct: bool) -> dict[str, object]:
    return {"action": action, "terminal": terminal, "correct": correct}


def test_advantages_with_terminal_actions_use_the_reward() -> None:
    record = {"id": "s", "prompt": "p", "steps": [], "completions": [
        _completion("go on\n", False, True), _completion("go on\n", False, False),
        _completion("\\boxed{4}", True, True), _completion("\\boxed{5}", True, False),
        _completion("", True, False)]}
    groups = group_actions(record["completions"])
    assert list(groups) == ["go on\n", "\\boxed{4}", "\\boxed{5}"]  # empty action dropped
    cfg = AdvantageConfig(source="critic", gap_threshold=0.1)
    critic_q = [0.4, 0.9, 0.9]  # critic values of terminal actions are ignored
    item = state_advantages(record, critic_q, cfg, random.Random(0))
    assert item is not None
    q = [a["q"] for a in item["actions"]]
    assert q == [0.4, 1.0, 0.0]
    adv = [a["advantage"] for a in item["actions"]]
    assert adv == pytest.approx([0.4 - 1.4 / 3, 1.0 - 1.4 / 3, -1.4 / 3])
    assert sum(adv) == pytest.approx(0.0)
    assert [a["count"] for a in item["actions"]] == [2, 1, 1]


def test_count_weighted_baseline() -> None:
    cfg = AdvantageConfig(baseline="count_weighted")
    adv = compute_advantages([1.0, 0.0], [3, 1], cfg)
    assert adv == pytest.approx([0.25, -0.75])
    assert sum(adv) != pytest.approx(0.0)  # the bias the default baseline avoids
    assert sum(compute_advantages([1.0, 0.0], [3, 1], AdvantageConfig())) == 0.0


def test_gap_filter_and_single_action_states() -> None:
    record = {"id": "s", "prompt": "p", "steps": [], "completions": [
        _completion("a\n", False, True), _completion("b\n", False, True)]}
    cfg = AdvantageConfig(source="critic", gap_threshold=0.1)
    assert state_advantages(record, [0.50, 0.55], cfg, random.Random(0)) is None
    assert state_advantages(record, [0.50, 0.65], cfg, random.Random(0)) is not None
    single = {**record, "completions": [_completion("a\n", False, True)] * 3}
    assert state_advantages(single, [0.1], cfg, random.Random(0)) is None


def test_mc_source_and_shuffled_control() -> None:
    record = {"id": "s", "prompt": "p", "steps": [], "completions": [
        _completion("a\n", False, True), _completion("a\n", False, True),
        _completion("b\n", False, False), _completion("c\n", False, True),
        _completion("c\n", False, False)]}
    mc_item = state_advantages(record, None, AdvantageConfig(source="mc"), random.Random(0))
    assert [a["q"] for a in mc_item["actions"]] == [1.0, 0.0, 0.5]
    shuffled = AdvantageConfig(source="shuffled")
    items = [state_advantages(record, [0.9, 0.1, 0.5], shuffled, random.Random(s))
             for s in range(20)]
    orders = {tuple(round(a["advantage"], 6) for a in it["actions"]) for it in items}
    assert len(orders) > 1  # the advantages move between actions
    assert all(sorted(o) == sorted(next(iter(orders))) for o in orders)


def test_ranking_accuracy() -> None:
    assert ranking_accuracy([(0.9, 0.1, 1.0, 0.0), (0.2, 0.8, 1.0, 0.0),
                             (0.5, 0.4, 0.5, 0.5)]) == 0.5
    assert ranking_accuracy([]) is None


def test_bce_with_soft_targets() -> None:
    logits = torch.tensor([0.0, 2.0, -1.0])
    targets = torch.tensor([0.25, 0.75, 0.0])
    p = torch.sigmoid(logits)
    expected = -(targets * p.log() + (1 - targets) * (1 - p).log()).mean()
    assert bce_soft(logits, targets).item() == pytest.approx(expected.item(), rel=1e-6)
    # The minimum over the logit is at sigmoid(logit) = target, not at a hard label.
    logit = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([logit], lr=1.0)
    for _ in range(300):
        opt.zero_grad()
        bce_soft(logit, torch.tensor([0.25])).backward()
        opt.step()
    assert torch.sigmoid(logit).item() == pytest.approx(0.25, abs=1e-3)
    with pytest.raises(TypeError, match="float"):
        bce_soft(logits, torch.tensor([True, False, True]))
    with pytest.raises(TypeError, match="float"):
        bce_soft(logits, torch.tensor([0, 1, 0]))


def _tiny_lm(seed: int = 0) -> Qwen2ForCausalLM:
    torch.manual_seed(seed)
    cfg = Qwen2Config(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
    return Qwen2ForCausalLM(cfg)


def test_shared_state_forward_matches_naive_values_and_gradients() -> None:
    lm = _tiny_lm()
    state = [1, 5, 7, 9, 3, 11, 2]
    actions = [[4, 2], [8, 8, 8, 1], [3], [10, 12, 14]]
    shared = action_logps_shared(lm, state, actions)
    shared.sum().backward()
    grads = [p.grad.clone() for p in lm.parameters()]
    lm.zero_grad()
    naive = action_logps_naive(lm, state, actions)
    naive.sum().backward()
    assert torch.allclose(shared, naive, atol=1e-5)
    for g_shared, p in zip(grads, lm.parameters(), strict=True):
        assert torch.allclose(g_shared, p.grad, atol=1e-5)
    with torch.no_grad():
        assert torch.allclose(last_hidden_shared(lm.model, state, actions),
                              last_hidden_naive(lm.model, state, actions), atol=1e-5)
    assert tokens_computed(100, [5, 5, 5, 5], shared=True) == 120
    assert tokens_computed(100, [5, 5, 5, 5], shared=False) == 420


def test_value_model_round_trip(tmp_path) -> None:
    lm = _tiny_lm()
    lm.model.save_pretrained(tmp_path / "backbone")
    critic = ValueModel.from_backbone(str(tmp_path / "backbone"))
    torch.nn.init.normal_(critic.head.weight)
    critic.save_pretrained(tmp_path / "critic")
    again = ValueModel.from_pretrained(tmp_path / "critic")
    ids = torch.tensor([[1, 2, 3, 4], [5, 6, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    with torch.no_grad():
        assert torch.allclose(critic(ids, mask), again(ids, mask))
        values = again.action_values([1, 2], [[3, 4], [6]])
        full = again(torch.tensor([[1, 2, 3, 4], [1, 2, 6, 0]]),
                     torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]))
        assert torch.allclose(values, torch.sigmoid(full), atol=1e-5)


def test_state_wise_batches_keep_all_actions_of_a_state_together() -> None:
    rows = [{"state": [1, 2], "actions": [[3], [4], [5]], "advantages": [0.1, 0.0, -0.1],
             "ref_logps": [-1.0, -1.0, -1.0]},
            {"state": [7], "actions": [[8], [9]], "advantages": [0.2, -0.2],
             "ref_logps": [-2.0, -2.0]}]
    loader = torch.utils.data.DataLoader(rows, batch_size=1, shuffle=True, collate_fn=_collate)
    seen = [batch["states"][0] for batch in loader]
    assert sorted(len(s["actions"]) for s in seen) == [2, 3]
    for s in seen:
        assert len(s["actions"]) == len(s["advantages"]) == len(s["ref_logps"])


def test_sealing_a_log_rewrites_it_in_canonical_order_once_per_id(tmp_path) -> None:
    """Items that finished out of order (several workers, a resume) and an item written twice:
    the sealed log holds each id once, its last record, in the inputs' order; ids that need
    JSON escapes and ids that are not strings go through the parser."""
    import json

    from dapo_bench.pipeline.runner import StageLog, read_items

    log = StageLog(tmp_path / "stage", "fp")
    assert log.open() == {}
    records = [{"id": 'c"q', "v": 1}, {"id": "a", "v": 1}, {"x": 0, "id": 7, "v": 1},
               {"id": "b", "v": 1}, {"id": "a", "v": 2}]
    with log.appender() as out:
        for record in records:
            out.write(record)
    log.finish("stage", {}, order=["a", "b", 'c"q', 7])
    assert read_items(tmp_path / "stage") == [{"id": "a", "v": 2}, {"id": "b", "v": 1},
                                              {"id": 'c"q', "v": 1}, {"x": 0, "id": 7, "v": 1}]
    lines = (tmp_path / "stage" / "items.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["a", "b", 'c"q', 7]
