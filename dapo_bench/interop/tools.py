"""Where the interop tools run: an interpreter that can import each one.

lm-eval and Math-Verify come with the ``interop`` extra, so normally the current interpreter
has them. evalplus executes the programs it scores without any isolation, so it never runs in
the harness's interpreter: it gets a virtual environment of its own, made on first use under
the cache directory (``$DAPO_BENCH_CACHE/interop/``) with ``--system-site-packages`` and the
pinned version. LiveCodeBench's package (``nvidia-livecodebench``) also runs programs
unconfined, and its declared dependencies (model-API clients, ``datasets``, ``nemo-evaluator``)
are none of them needed to grade: its environment gets the package with ``--no-deps`` plus the
few modules its evaluation code imports, so nothing there can pull another torch.
``DAPO_BENCH_<TOOL>_PYTHON`` (``LM_EVAL``, ``MATH_VERIFY``, ``EVALPLUS``, ``LIVECODEBENCH``)
names an interpreter to use instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from dapo_bench.errors import UserInputError


@dataclass(frozen=True)
class Tool:
    name: str  # the distribution's name on PyPI
    module: str  # what ``import`` takes
    requirement: str  # pinned, what a managed environment installs
    own_env: bool  # never the harness's interpreter
    # installed beside ``requirement``, which then goes in with --no-deps (None: pip resolves)
    deps: tuple[str, ...] | None = None
    probe: str | None = None  # the import that proves the tool usable (default: ``module``)

    @property
    def env_var(self) -> str:
        return f"DAPO_BENCH_{self.module.upper()}_PYTHON"

    @property
    def probe_module(self) -> str:
        return self.probe or self.module


LM_EVAL = Tool("lm-eval", "lm_eval", "lm-eval[hf]==0.4.13", own_env=False)
MATH_VERIFY = Tool("math-verify", "math_verify", "math-verify==0.9.0", own_env=False)
EVALPLUS = Tool("evalplus", "evalplus", "evalplus==0.3.1", own_env=True)
LIVECODEBENCH = Tool("nvidia-livecodebench", "livecodebench", "nvidia-livecodebench==26.3",
                     own_env=True, deps=("numpy", "pandas", "tqdm"),
                     probe="livecodebench.evaluation.compute_code_generation_metrics")


def cache_root() -> Path:
    from dapo_bench.cache import cache_dir

    return cache_dir() / "interop"


def imports(python: str | Path, module: str) -> bool:
    probe = [str(python), "-I", "-c", f"import {module}"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=300).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def managed_env(tool: Tool) -> Path:
    """The cache's environment for ``tool`` (``<cache>/interop/<name>-<version>``)."""
    return cache_root() / tool.requirement.replace("==", "-").replace("[hf]", "")


def tool_python(tool: Tool, *, create: bool = False) -> str:
    """An interpreter that imports ``tool``: the environment variable's, else (unless the tool
    needs its own environment) this one, else the managed environment, made now when
    ``create``. Raises :class:`UserInputError` naming what to install otherwise."""
    named = os.environ.get(tool.env_var)
    if named:
        if not imports(named, tool.probe_module):
            raise UserInputError(f"{tool.env_var}={named} cannot import {tool.probe_module}")
        return named
    if not tool.own_env and imports(sys.executable, tool.probe_module):
        return sys.executable
    env = managed_env(tool)
    python = env / "bin" / "python"
    if python.exists() and imports(python, tool.probe_module):
        return str(python)
    if not create:
        hint = ("pip install 'dapo-bench[interop]'" if not tool.own_env
                else f"{tool.requirement} in an environment of its own")
        if tool.deps is not None:
            hint = (f"pip install --no-deps {tool.requirement}, then "
                    f"{' '.join(tool.deps)}, in an environment of its own")
        raise UserInputError(
            f"{tool.name} is not available: install it ({hint}) or set {tool.env_var} to an "
            f"interpreter that has it")
    try:
        make_env(env, tool.requirement, deps=tool.deps)
    except (OSError, subprocess.SubprocessError) as exc:
        raise UserInputError(f"could not make {env} for {tool.name} ({exc}): install "
                             f"{tool.requirement} there by hand or set {tool.env_var}") from exc
    if not imports(python, tool.probe_module):
        raise UserInputError(f"{env} was made but cannot import {tool.probe_module}: remove it "
                             f"and install {tool.requirement} there by hand")
    return str(python)


def make_env(env: Path, requirement: str, deps: tuple[str, ...] | None = None) -> None:
    """A virtual environment seeing this interpreter's packages, plus ``requirement`` (with
    ``--no-deps`` and then ``deps`` when those are given)."""
    print(f"creating {env} with {requirement} ...", file=sys.stderr)
    env.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(env)],
                   check=True)
    pip = [str(env / "bin" / "python"), "-m", "pip", "install", "-q"]
    if deps is None:
        subprocess.run([*pip, requirement], check=True)
        return
    subprocess.run([*pip, "--no-deps", requirement], check=True)
    if deps:
        subprocess.run([*pip, *deps], check=True)


def harness_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a tool's process: this checkout's ``dapo_bench`` importable first
    (the lm-eval bundle's loaders and metric import it)."""
    import dapo_bench

    root = str(Path(dapo_bench.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    if extra:
        env.update(extra)
    return env
