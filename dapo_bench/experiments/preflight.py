"""The preflight: everything a run needs, checked in seconds before its first stage.

A run that lacks one benchmark's data, the disk for its artifacts, the GPUs its engines
span, a tested vLLM, a working code sandbox or its Ray cluster would otherwise fail hours in.
Each check returns zero or more :class:`Finding` lines; :func:`require_preflight` turns the
problems into one error (exit code 2) listing every one; ``reproduce --plan`` and
``dapo-bench doctor`` print them instead. Nothing here loads a model or downloads data.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dapo_bench.config import Recipe
from dapo_bench.data.availability import NETWORK_TIMEOUT, Finding, check_data
from dapo_bench.environment import Machine, existing_ancestor, free_disk, machine, untested
from dapo_bench.errors import UserInputError

#: Without a CUDA GPU, a model with more weights than this is a problem: a 1B-parameter model
#: in bf16 is the most a CPU trains and samples from in useful time.
CPU_MAX_WEIGHT_BYTES = 2e9


def benchmarks_needed(recipe: Recipe, *, train: bool = True, evaluate: bool = True
                      ) -> list[tuple[str, str | None]]:
    """(benchmark, explicit source) of every set the run trains or evaluates on."""
    out: list[tuple[str, str | None]] = [(recipe.train_benchmark, recipe.train_data)] \
        if train else []
    if evaluate:
        out += [(b, None) for b in dict.fromkeys(recipe.eval.benchmarks)]
    return out


# ------------------------------------------------------------------------------ model, disk


def check_model(recipe: Recipe) -> list[Finding]:
    """The recipe names a base model (some catalogue models have no public weights)."""
    try:
        recipe.require_base_model()
    except UserInputError as exc:
        return [Finding("model", str(exc))]
    return []


def _tree_bytes(path: Path) -> int:
    if not path.is_dir():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def check_disk(plan: Mapping[str, Any], run_dir: Path) -> list[Finding]:
    """The file system of ``run_dir`` has room for the plan's artifacts (less what a resumed
    run already wrote there) plus the peak of a trainer stage's resume checkpoint."""
    totals = plan.get("totals", {})
    expected = totals.get("disk_bytes_expected")
    if expected is None:
        return []
    needed = expected + (totals.get("training_checkpoint_bytes_peak") or 0) \
        - _tree_bytes(run_dir)
    free = free_disk(run_dir)
    if needed <= free:
        return []
    from dapo_bench.experiments.plan import _bytes

    return [Finding("disk", f"the plan's artifacts need ~{_bytes(needed)} under {run_dir} but "
                    f"{existing_ancestor(run_dir)} has {_bytes(free)} free; free space or "
                    "pass --run on a larger disk")]


# ------------------------------------------------------------------------------ GPUs, versions


def chosen_backend(recipe: Recipe, facts: Machine) -> str:
    """The generation backend the run will take (``auto``: vLLM when it is installed)."""
    if recipe.backend != "auto":
        return recipe.backend
    return "vllm" if facts.vllm else "hf"


def _weight_bytes(name: str | None) -> float | None:
    """What a checkpoint's weights occupy: its files when it is a local directory, the
    catalogue's parameter count in bf16 for a catalogue hub id, else unknown."""
    if not name:
        return None
    from dapo_bench.models import CATALOGUE, resolve_model

    try:
        local = Path(resolve_model(name))
    except UserInputError:
        return None
    if local.is_dir():
        files = [*local.glob("*.safetensors"), *local.glob("*.bin")]
        return float(sum(f.stat().st_size for f in files)) if files else None
    for spec in CATALOGUE.values():
        if spec.hub_id == name:
            return spec.params_b * 1e9 * 2
    return None


def gpu_needs(recipe: Recipe, facts: Machine) -> list[str]:
    """What in the recipe needs CUDA GPUs (empty: it runs on a CPU)."""
    needs = []
    if recipe.tensor_parallel_size > 1:
        needs.append(f"tensor_parallel_size={recipe.tensor_parallel_size}")
    if recipe.distributed.gpus_per_worker > 0:
        needs.append(f"distributed.gpus_per_worker={recipe.distributed.gpus_per_worker:g}")
    if chosen_backend(recipe, facts) == "vllm" and facts.vllm_build not in (None, "cpu"):
        needs.append(f"the vllm backend ({facts.vllm_dist} {facts.vllm}, a "
                     f"{facts.vllm_build.upper()} build)")
    for label, name in (("base model", recipe.base_model), ("critic.init", recipe.critic.init)):
        size = _weight_bytes(name)
        if size is not None and size > CPU_MAX_WEIGHT_BYTES:
            needs.append(f"{label} {name} (~{size / 2e9:.1f}B parameters)")
    return needs


def launched_ranks(environ: Mapping[str, str]) -> int:
    """Ranks the launcher (accelerate, torchrun) starts on this node."""
    for key in ("LOCAL_WORLD_SIZE", "WORLD_SIZE"):
        value = environ.get(key, "").strip()
        if value.isdigit():
            return int(value)
    return 1


def check_gpus(recipe: Recipe, facts: Machine, environ: Mapping[str, str]) -> list[Finding]:
    """The GPUs visible here hold the recipe's engines and the launcher's ranks."""
    n = len(facts.gpus)
    if n == 0:
        needs = gpu_needs(recipe, facts)
        if not needs:
            return []
        build = f"CUDA {facts.torch_cuda} build" if facts.torch_cuda else "a CPU build"
        return [Finding("gpus", f"no CUDA GPU visible here (torch {facts.torch}, {build}) but "
                        f"the recipe needs GPUs: {'; '.join(needs)}")]
    findings = []
    d = recipe.distributed
    if d.engine == "local" and recipe.tensor_parallel_size > n:
        findings.append(Finding("gpus", f"tensor_parallel_size={recipe.tensor_parallel_size} "
                                f"but {n} GPU(s) are visible"))
    # Ray workers hold the engines; on a remote cluster (an address) their GPUs are its own.
    if d.engine == "ray" and d.address is None and d.workers * d.gpus_per_worker > n:
        findings.append(Finding("gpus", f"distributed.workers={d.workers} x gpus_per_worker="
                                f"{d.gpus_per_worker:g} need {d.workers * d.gpus_per_worker:g} "
                                f"GPUs on the local Ray cluster but {n} are visible"))
    ranks = launched_ranks(environ)
    if ranks > n:
        findings.append(Finding("gpus", f"the launcher starts {ranks} ranks on this node "
                                f"(LOCAL_WORLD_SIZE/WORLD_SIZE) but {n} GPU(s) are visible"))
    if chosen_backend(recipe, facts) == "vllm" and facts.vllm_build == "cpu":
        findings.append(Finding("gpus", f"{facts.vllm_dist} {facts.vllm} is vLLM's CPU build: "
                                "it would leave the GPUs idle; install the CUDA build "
                                "(pip install 'dapo-bench[gpu]') or set backend=hf"))
    return findings


def check_versions(recipe: Recipe, facts: Machine) -> list[Finding]:
    """torch, its CUDA (when GPUs are used) and vLLM (when it generates) in the tested range."""
    if facts.torch is None:
        return [Finding("versions", "torch is not installed")]
    problems = [untested("torch", facts.torch)]
    if facts.gpus and facts.torch_cuda:
        problems.append(untested("cuda", facts.torch_cuda))
    if chosen_backend(recipe, facts) == "vllm":
        if facts.vllm is None:
            problems.append("backend=vllm but vLLM is not installed (pip install "
                            "'dapo-bench[gpu]', or 'dapo-bench[cpu]' on a CPU)")
        else:
            problems.append(untested(facts.vllm_dist or "vllm", facts.vllm))
    return [Finding("versions", p) for p in problems if p is not None]


# ------------------------------------------------------------------------------ sandbox, Ray


def check_sandbox(needed: Iterable[tuple[str, str | None]]) -> list[Finding]:
    """A code benchmark (or training set) needs a sandbox stack that starts here."""
    from dapo_bench.data.registry import get_benchmark
    from dapo_bench.sandbox.stacks import SandboxUnavailable, candidate_stacks

    code = []
    for name, _ in needed:
        try:
            if get_benchmark(name).kind == "code":
                code.append(name)
        except UserInputError:
            continue  # the data check names it
    if not code:
        return []
    try:
        stacks = candidate_stacks(unsafe=False)
    except SandboxUnavailable as exc:
        return [Finding("sandbox", f"{', '.join(code)} need the code sandbox: {exc}")]
    from dapo_bench.environment import sandbox_stacks

    found = sandbox_stacks()
    tried = []
    for stack in stacks:
        why = found.get(stack, "unknown stack")
        if why is None:
            return []
        tried.append(f"{stack}: {why}")
    return [Finding("sandbox", f"{', '.join(code)} need the code sandbox but no stack works "
                    f"here ({'; '.join(tried)}); install bubblewrap (apt-get install "
                    "bubblewrap) or enable user namespaces")]


def _reachable(host: str, port: int, timeout: float) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


def check_ray(recipe: Recipe, facts: Machine, timeout: float = NETWORK_TIMEOUT
              ) -> list[Finding]:
    """With ``distributed.engine=ray``: Ray is installed and its cluster answers."""
    d = recipe.distributed
    if d.engine != "ray":
        return []
    if facts.packages.get("ray") is None:
        return [Finding("ray", "distributed.engine=ray needs Ray: pip install "
                        "'dapo-bench[ray]'")]
    if d.address is None:
        return []  # a local cluster is started
    address = d.address
    hostport: str | None = address.removeprefix("ray://")
    if address == "auto":  # the cluster RAY_ADDRESS or the last `ray start` names
        try:
            from ray._private.services import get_ray_address_from_environment

            hostport = get_ray_address_from_environment("auto", None)
        except ImportError:  # a Ray without this helper: ray.init will say
            return []
        except Exception as exc:
            return [Finding("ray", f"distributed.address='auto': {exc}")]
        if hostport is None or hostport == "local":
            return [Finding("ray", "distributed.address='auto' but no running Ray cluster "
                            "was found (start one with `ray start --head`, set RAY_ADDRESS, "
                            "or leave the address empty for a local one)")]
    assert hostport is not None
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return [Finding("ray", f"distributed.address={address!r} is not HOST:PORT")]
    why = _reachable(host.strip("[]"), int(port), timeout)
    if why is not None:
        return [Finding("ray", f"the Ray cluster at {address} did not answer within "
                        f"{timeout:g} s ({why})")]
    return []


# ------------------------------------------------------------------------------ all together


def preflight(recipe: Recipe, run_dir: Path, *, data_dir: Path | None = None,
              plan: Mapping[str, Any] | None = None, train: bool = True,
              evaluate: bool = True, environ: Mapping[str, str] | None = None,
              facts: Machine | None = None) -> list[Finding]:
    """Every problem that would stop this run, each in one line (empty: ready to start).

    ``plan`` (from :func:`~dapo_bench.experiments.plan.make_plan`) gives the disk estimate;
    ``train``/``evaluate`` say which data the run reads."""
    facts = facts or machine()
    environ = os.environ if environ is None else environ
    needed = benchmarks_needed(recipe, train=train, evaluate=evaluate)
    findings = [*check_model(recipe), *check_data(needed, data_dir)]
    if plan is not None:
        findings += check_disk(plan, run_dir)
    findings += check_gpus(recipe, facts, environ)
    findings += check_versions(recipe, facts)
    findings += check_sandbox(needed)
    findings += check_ray(recipe, facts)
    return findings


def render_findings(findings: list[Finding], label: str = "") -> str:
    """The preflight section of a plan: a verdict line, then one line per problem."""
    head = f"preflight{' ' + label if label else ''}: "
    if not findings:
        return head + "ready (data, disk, GPUs, versions, sandbox, Ray)\n"
    lines = [head + f"{len(findings)} problem(s); the run would stop before its first stage:"]
    return "\n".join([*lines, *(f"  {f}" for f in findings)]) + "\n"


def require_preflight(problems: list[Finding] | list[str], label: str = "") -> None:
    """Raise one :class:`UserInputError` listing every problem (nothing has started yet)."""
    if problems:
        where = f" of {label}" if label else ""
        raise UserInputError(f"preflight{where}: {len(problems)} problem(s), nothing was "
                             "started:\n" + "\n".join(f"  {p}" for p in problems))
