"""Shared fixtures: the shared benchmark data (skipped with a reason when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """../shared/data beside the checkout, or $DAPO_BENCH_DATA."""
    env = os.environ.get("DAPO_BENCH_DATA")
    for candidate in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if (candidate / "MANIFEST.md").is_file() or (candidate / "gsm8k").is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    found = shared_data_dir()
    if found is None:
        pytest.skip("shared benchmark data not found: set DAPO_BENCH_DATA or place ../shared/data "
                    "beside the checkout")
    return found
