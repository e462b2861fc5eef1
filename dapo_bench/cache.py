"""The user's cache directory: ``$DAPO_BENCH_CACHE``, else ``$XDG_CACHE_HOME/dapo-bench``."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "DAPO_BENCH_CACHE"


def cache_dir() -> Path:
    root = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")), "dapo-bench")
    return Path(root)
