"""The DAPO stages (rollouts, states, Monte-Carlo values, critic, advantages, reference
log-probs, policy), one module each, and the runner that makes them resumable."""
