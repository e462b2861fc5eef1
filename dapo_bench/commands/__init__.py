"""Click commands beyond the core ones in ``dapo_bench.cli``, one module per command."""
