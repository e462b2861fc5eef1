"""Benchmark and training-set loaders, prompt templates and the benchmark registry."""
