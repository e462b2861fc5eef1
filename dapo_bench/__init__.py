"""dapo-bench: reproduce and extend Direct Advantage Policy Optimization (arXiv 2412.18279)."""

__version__ = "0.1.0"
