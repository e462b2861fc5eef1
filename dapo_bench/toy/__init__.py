"""The embedded default: a synthetic multi-step arithmetic task and a tiny model for it."""
