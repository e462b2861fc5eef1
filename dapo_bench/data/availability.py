"""Is a benchmark's data here, or loadable from the hub right now? Answered in seconds.

Used by the preflight (every set a run trains or evaluates on) and by ``eval`` (the
benchmarks the user named), so that a missing one is an error before any model loads.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dapo_bench.errors import UserInputError

#: Seconds the hub (or a Ray head) gets to answer before a check says it did not.
NETWORK_TIMEOUT = 5.0
FETCH_HINT = "run `dapo-bench data fetch --benchmarks {name}` or pass --data-dir DIR"


@dataclass(frozen=True)
class Finding:
    """One problem, in one line. ``check`` names the check (data, disk, gpus, versions,
    sandbox, ray, model)."""

    check: str
    message: str
    subject: str = ""  # what it is about (the benchmark, for data)

    def __str__(self) -> str:
        return f"{self.check}: {self.message}"


def _offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in {"1", "true", "yes", "on"}
               for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def hub_problem(dataset: str, timeout: float = NETWORK_TIMEOUT) -> str | None:
    """Why hub dataset ``dataset`` (``repo`` or ``repo:config``) cannot be loaded now, or None:
    offline it must be in the local hub cache; online the hub must answer within ``timeout``.
    Asked once per process."""
    return _hub_problem(dataset.split(":", 1)[0], timeout, _offline())


@lru_cache(maxsize=256)
def _hub_problem(repo: str, timeout: float, offline: bool) -> str | None:
    if offline:
        from huggingface_hub import snapshot_download

        try:
            snapshot_download(repo, repo_type="dataset", local_files_only=True)
        except Exception:  # LocalEntryNotFoundError and kin: not cached
            return f"hub dataset {repo} is not in the local cache and HF_HUB_OFFLINE is set"
        return None
    from huggingface_hub import HfApi

    try:
        HfApi().dataset_info(repo, timeout=timeout)
    except Exception as exc:  # no network, timeout, 404, gated: one line either way
        detail = str(exc).splitlines()[0][:120] if str(exc) else ""
        return (f"the hub did not serve dataset {repo} within {timeout:g} s "
                f"({type(exc).__name__}{': ' + detail if detail else ''})")
    return None


def check_data(needed: Iterable[tuple[str, str | None]], data_dir: Path | None,
               timeout: float = NETWORK_TIMEOUT) -> list[Finding]:
    """Every benchmark is present locally (a file in the data directory, or the package's
    own problems) or loadable from the hub; the hub ones are asked in parallel."""
    from dapo_bench.data.registry import get_benchmark, resolve_source

    findings: list[Finding] = []
    remote: dict[str, str] = {}  # benchmark -> hub dataset id
    for name, source in needed:
        try:
            spec = get_benchmark(name)
            where = resolve_source(spec, source, data_dir)
        except UserInputError as exc:
            why = str(exc)  # the registry's message already names the fetch command
            findings.append(Finding("data", why if "data fetch" in why else
                                    f"{why}; {FETCH_HINT.format(name=name)}", name))
            continue
        if isinstance(where, Path) or where == "builtin":
            continue
        if spec.load_hf is None:
            findings.append(Finding("data", f"benchmark {name!r} cannot load from the hub "
                                    f"({where}); {FETCH_HINT.format(name=name)}", name))
            continue
        remote[name] = str(where)
    if remote:
        with ThreadPoolExecutor(max_workers=min(8, len(remote))) as pool:
            answers = dict(zip(remote, pool.map(lambda d: hub_problem(d, timeout),
                                                remote.values()), strict=True))
        for name, why in answers.items():
            if why is not None:
                findings.append(Finding("data", f"{name}: {why}; "
                                        f"{FETCH_HINT.format(name=name)}", name))
    return findings


