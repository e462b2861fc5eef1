"""Plug-ins: packages that add benchmarks, templates, models and experiments.

A plug-in is a module that registers what it brings when imported. Modules are found through
the ``dapo_bench.plugins`` entry-point group (the toy declares itself in ``pyproject.toml``)
and the comma-separated module names in ``DAPO_BENCH_PLUGINS``. Generic layers never import a
plug-in by name: they call :func:`load_plugins` before looking something up.
"""

from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points

GROUP = "dapo_bench.plugins"
PLUGINS_ENV = "DAPO_BENCH_PLUGINS"
_loaded: list[str] | None = None


def plugin_modules() -> list[str]:
    """Module names of every declared plug-in, entry points first, without repeats."""
    names = [ep.value.split(":", 1)[0] for ep in entry_points(group=GROUP)]
    names += [n.strip() for n in os.environ.get(PLUGINS_ENV, "").split(",") if n.strip()]
    return list(dict.fromkeys(names))


def load_plugins() -> list[str]:
    """Import every plug-in once per process; return their module names."""
    global _loaded
    if _loaded is None:
        _loaded = []
        for name in plugin_modules():
            importlib.import_module(name)
            _loaded.append(name)
    return _loaded
