"""The toy as a plug-in: its benchmarks and template (``task``), its shipped base model and
its experiment. Declared in ``pyproject.toml`` under the ``dapo_bench.plugins`` entry points."""

from __future__ import annotations

from dapo_bench.models import ModelSpec, register_model
from dapo_bench.toy import task  # noqa: F401 - registers the toy benchmarks and template
from dapo_bench.toy.base import TOY_BASE, toy_base_path


def _resolve() -> str:
    return str(toy_base_path())


register_model(ModelSpec(TOY_BASE, TOY_BASE, None, "toy", "toy", (),
                         eval_max_new_tokens=96, dtype="float32", params_b=0.00089,
                         note="shipped in dapo_bench/toy/base_model", resolve=_resolve))

from dapo_bench.toy import experiment  # noqa: E402,F401 - registers `reproduce toy`
