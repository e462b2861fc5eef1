"""Regenerate results/paper/ from the paper tables shipped with the package."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from dapo_bench.report.paper import write_paper_results

if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "results/paper")
    if root.exists():
        shutil.rmtree(root)
    print(f"wrote {write_paper_results(root)} results under {root}")
