"""`dapo-bench doctor`: what this machine has, and whether the toy and each table can run here.

Exit code: 0 when ``reproduce toy`` and every paper table can run here; 1 when the toy can
but some table cannot (each is listed with why); 3 when not even the toy can. (2 stays bad
input, as everywhere.) A catalogue model without public weights is a note, not a verdict:
that is the user's to supply, not the machine's.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import click

TARGETS = ("toy", "table1", "table2", "table3")
EXIT_ALL, EXIT_SOME_TABLES, EXIT_NO_TOY = 0, 1, 3


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def _targets(data_dir: Path | None, runs: Path) -> dict[str, dict[str, Any]]:
    """Per target: can it run here, its problems (one line each), and notes."""
    from dapo_bench.config import load_recipe
    from dapo_bench.experiments.plan import make_plan
    from dapo_bench.experiments.preflight import preflight
    from dapo_bench.experiments.registry import get_experiment

    out: dict[str, dict[str, Any]] = {}
    for target in TARGETS:
        experiment = get_experiment(target)
        problems: list[str] = []
        notes: list[str] = []
        for alias in experiment.models:
            recipe = load_recipe(experiment.recipe_path(alias, False))
            plan = make_plan(target, alias, recipe, data_dir=data_dir, eval_limit=None,
                             variants=list(experiment.variants),
                             eval_modes=len(experiment.eval_modes))
            for f in preflight(recipe, runs / target / alias, data_dir=data_dir, plan=plan):
                line = f"{alias}: {f}" if len(experiment.models) > 1 else str(f)
                (notes if f.check == "model" else problems).append(line)
        out[target] = {"ok": not problems, "problems": _shared_first(problems), "notes": notes}
    return out


def _shared_first(lines: list[str]) -> list[str]:
    """Lines that every model of a table has, said once (without the model), then the rest."""
    by_text: dict[str, list[str]] = {}
    for line in lines:
        alias, _, text = line.partition(": ")
        by_text.setdefault(text, []).append(alias)
    out = []
    for text, aliases in by_text.items():
        out.append(text if len(aliases) > 1 else f"{aliases[0]}: {text}")
    return out


def _data_rows(data_dir: Path | None) -> list[tuple[str, str]]:
    """Per target: how many of its data sets are here (or on the hub), which are missing."""
    from dapo_bench.config import load_recipe
    from dapo_bench.data.availability import check_data
    from dapo_bench.experiments.preflight import benchmarks_needed
    from dapo_bench.experiments.registry import get_experiment

    rows = []
    for target in TARGETS:
        experiment = get_experiment(target)
        recipe = load_recipe(experiment.recipe_path(experiment.models[0], False))
        needed = benchmarks_needed(recipe)
        lacking = sorted({f.subject for f in check_data(needed, data_dir)})
        names = [n for n, _ in needed]
        value = f"{len(names) - len(lacking)}/{len(names)} ready"
        rows.append((target, value + (f"; missing: {', '.join(lacking)}" if lacking else "")))
    return rows


def _machine_rows(data_dir: Path | None, runs: Path) -> list[tuple[str, str, str]]:
    from dapo_bench.environment import TESTED, free_disk, machine, sandbox_stacks, untested

    m = machine()
    rows = [("machine", "python / platform / CPUs", f"{m.python} / {m.platform} / {m.cpus}")]
    torch_note = untested("torch", m.torch) if m.torch else "not installed"
    rows.append(("torch", "version", f"{m.torch or '-'}"
                 + (f" ({torch_note})" if torch_note else f" (tested {TESTED['torch']})")))
    rows.append(("torch", "CUDA build", m.torch_cuda or "none (CPU build)"))
    rows.append(("GPUs", "visible", str(len(m.gpus))))
    rows += [("GPUs", f"cuda:{g.index}", f"{g.name}, {_gib(g.memory_bytes)}") for g in m.gpus]
    if m.vllm:
        note = untested(m.vllm_dist or "vllm", m.vllm)
        rows.append(("vLLM", m.vllm_dist or "vllm", f"{m.vllm}, {m.vllm_build} build"
                     + (f" ({note})" if note else
                        f" (tested {TESTED.get(m.vllm_dist or 'vllm', '?')})")))
        rows.append(("vLLM", "API the backend calls", _vllm_api()))
    else:
        rows.append(("vLLM", "vllm", "not installed (the HF backend generates)"))
    for stack, why in sandbox_stacks().items():
        rows.append(("sandbox", stack, "works" if why is None else f"unavailable: {why}"))
    for name in ("ray", "accelerate", "deepspeed"):
        rows.append(("distributed", name, m.packages.get(name) or "not installed"))
    where = data_dir or (Path(os.environ["DAPO_BENCH_DATA"])
                         if os.environ.get("DAPO_BENCH_DATA") else None)
    rows.append(("data", "directory", str(where) if where else "none (hub ids)"))
    rows += [("data", target, value) for target, value in _data_rows(data_dir)]
    from dapo_bench.experiments.plan import _bytes

    rows.append(("disk", f"free under {runs}", _bytes(free_disk(runs))))
    return rows


def exit_code(targets: dict[str, dict[str, Any]]) -> int:
    if not targets["toy"]["ok"]:
        return EXIT_NO_TOY
    return EXIT_ALL if all(t["ok"] for t in targets.values()) else EXIT_SOME_TABLES


@click.command("doctor")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Data directory to judge (default $DAPO_BENCH_DATA, else the hub ids).")
@click.option("--run", "runs", type=click.Path(path_type=Path), default=Path("runs"),
              show_default=True, help="Run root whose disk the runs would use.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def command(data_dir: Path | None, runs: Path, as_json: bool) -> None:
    """What this machine has (torch, CUDA, GPUs, vLLM, sandbox, Ray/accelerate/DeepSpeed,
    data, disk) and whether `reproduce toy` and each paper table can run here.

    Exit code: 0 all can run; 1 the toy can, some table cannot; 3 not even the toy."""
    from rich.console import Console
    from rich.table import Table

    from dapo_bench.environment import machine, sandbox_stacks

    with warnings.catch_warnings():  # the loaders' notes on skipped rows: not this command's
        warnings.simplefilter("ignore")
        rows = _machine_rows(data_dir, runs)
        targets = _targets(data_dir, runs)
    code = exit_code(targets)
    if as_json:
        click.echo(json.dumps({"machine": machine().to_dict(), "sandbox": sandbox_stacks(),
                               "rows": [list(r) for r in rows], "targets": targets,
                               "exit_code": code}, indent=2))
        sys.exit(code)
    console = Console(width=max(Console().width, 120))
    table = Table(title="dapo-bench doctor")
    for col in ("section", "item", "value"):
        table.add_column(col, overflow="fold")
    last = None
    for section, item, value in rows:
        table.add_row(section if section != last else "", item, value)
        last = section
    for target, verdict in targets.items():
        status = "[green]can run here[/]" if verdict["ok"] else \
            f"[red]cannot run here[/] ({len(verdict['problems'])} problem(s))"
        table.add_row("verdict" if target == TARGETS[0] else "", f"reproduce {target}", status)
    console.print(table)
    for target, verdict in targets.items():
        for line in verdict["problems"]:
            console.print(f"{target}: {line}", highlight=False, markup=False, soft_wrap=True)
        for line in verdict["notes"]:
            console.print(f"{target} (note): {line}", highlight=False, markup=False,
                          soft_wrap=True)
    console.print(f"exit code {code}: " + {
        EXIT_ALL: "the toy and every table can run here",
        EXIT_SOME_TABLES: "the toy can run here; the tables above marked 'cannot' cannot",
        EXIT_NO_TOY: "not even the toy can run here"}[code], highlight=False)
    sys.exit(code)


def _vllm_api() -> str:
    """Whether the installed vLLM has every name and parameter the backend uses (it imports
    vLLM: a few seconds)."""
    from dapo_bench.generation.vllm_api import USES, missing_api

    try:
        missing = missing_api()
    except Exception as exc:  # a broken install: say so, the other rows still print
        return f"cannot check: {type(exc).__name__}: {exc}"
    return f"all {len(USES)} uses present" if not missing else "MISSING: " + "; ".join(missing)
