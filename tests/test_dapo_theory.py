"""Theorem 3.2 of the paper on a finite step-level MDP, solved exactly.

A depth-3 tree MDP with 3 actions per state, deterministic transitions and rewards on the
transitions into leaves. pi_ref is a random softmax policy; the exact DAPO solution at each state
minimises sum_a nu(a|s) (A(s,a)/beta - log pi(a|s)/pi_ref(a|s))^2 over softmax policies, with
exact advantages of pi_ref and an exploratory (uniform) nu.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import log_softmax

DEPTH, ACTIONS = 3, 3
STATES = [s for d in range(DEPTH) for s in itertools.product(range(ACTIONS), repeat=d)]


def random_rewards(rng: np.random.Generator) -> dict[tuple[int, ...], np.ndarray]:
    """Reward of each action at the last level (terminal transitions); zero elsewhere."""
    return {s: (rng.random(ACTIONS) if len(s) == DEPTH - 1 else np.zeros(ACTIONS))
            for s in STATES}


def values(policy: dict, reward: dict, ref: dict | None = None, beta: float = 0.0) -> dict:
    """V^pi (ref None) or the KL-regularised V_beta^pi w.r.t. ``ref`` at every state."""
    v: dict[tuple[int, ...], float] = {}
    for s in sorted(STATES, key=len, reverse=True):
        nxt = np.array([v.get((*s, a), 0.0) for a in range(ACTIONS)])
        q = reward[s] + nxt
        if ref is not None:
            q = q - beta * np.log(policy[s] / ref[s])
        v[s] = float(policy[s] @ q)
    return v


def advantages(policy: dict, reward: dict) -> dict:
    v = values(policy, reward)
    return {s: reward[s] + np.array([v.get((*s, a), 0.0) for a in range(ACTIONS)]) - v[s]
            for s in STATES}


def exact_dapo(ref: dict, reward: dict, beta: float) -> dict:
    adv = advantages(ref, reward)
    nu = np.full(ACTIONS, 1.0 / ACTIONS)
    new = {}
    for s in STATES:
        log_ref = np.log(ref[s])

        def loss(logits: np.ndarray, s: tuple[int, ...] = s, log_ref: np.ndarray = log_ref
                 ) -> float:
            return 0.5 * float(nu @ (adv[s] / beta - (log_softmax(logits) - log_ref)) ** 2)

        best = minimize(loss, log_ref.copy(), method="BFGS", options={"gtol": 1e-10})
        new[s] = np.exp(log_softmax(best.x))
    return new


def random_policy(rng: np.random.Generator) -> dict:
    return {s: np.exp(log_softmax(rng.normal(size=ACTIONS))) for s in STATES}


def optimal_values(reward: dict) -> dict:
    v: dict[tuple[int, ...], float] = {}
    for s in sorted(STATES, key=len, reverse=True):
        v[s] = float(max(reward[s][a] + v.get((*s, a), 0.0) for a in range(ACTIONS)))
    return v


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("beta", [0.05, 0.5])
def test_one_step_improves_regularised_and_plain_value_everywhere(seed: int, beta: float
                                                                  ) -> None:
    rng = np.random.default_rng(seed)
    reward, ref = random_rewards(rng), random_policy(rng)
    new = exact_dapo(ref, reward, beta)
    v_ref = values(ref, reward)  # V_beta of pi_ref w.r.t. itself is its plain value
    v_new_reg = values(new, reward, ref=ref, beta=beta)
    v_new = values(new, reward)
    for s in STATES:
        assert v_new_reg[s] >= v_ref[s] - 1e-9, s
        assert v_new[s] >= v_ref[s] - 1e-9, s
    assert v_new_reg[()] > v_ref[()] + 1e-6  # strict: a random pi_ref is not optimal


def test_no_change_when_the_reference_is_already_optimal() -> None:
    rng = np.random.default_rng(0)
    reward = {s: np.full(ACTIONS, 0.5) if len(s) == DEPTH - 1 else np.zeros(ACTIONS)
              for s in STATES}  # every policy is optimal: all advantages are zero
    ref = random_policy(rng)
    new = exact_dapo(ref, reward, 0.1)
    for s in STATES:
        assert np.allclose(new[s], ref[s], atol=1e-6)


def test_iterating_raises_the_value_monotonically_toward_the_optimum() -> None:
    rng = np.random.default_rng(7)
    reward, policy = random_rewards(rng), random_policy(rng)
    best = optimal_values(reward)
    history = [values(policy, reward)]
    for _ in range(40):
        policy = exact_dapo(policy, reward, beta=0.1)
        history.append(values(policy, reward))
    for before, after in itertools.pairwise(history):
        for s in STATES:
            assert after[s] >= before[s] - 1e-9
    assert history[0][()] < best[()] - 0.05
    assert history[-1][()] == pytest.approx(best[()], abs=1e-2)
