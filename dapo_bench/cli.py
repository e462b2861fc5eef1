"""The `dapo-bench` command line: argument plumbing only; the work lives in the modules."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from dapo_bench.errors import UserInputError

# Wide fallback when stdout is not a terminal, so piped tables and logs do not wrap.
_WIDTH = shutil.get_terminal_size((160, 24)).columns
console = Console(width=_WIDTH)
err_console = Console(stderr=True, width=_WIDTH)


class _Group(click.Group):
    """Turns user-input errors into one clear line and exit code 2, and Ctrl-C into a line
    saying what was kept and exit code 130 (128 + SIGINT, as shells expect), everywhere."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except UserInputError as exc:
            from rich.markup import escape  # messages may hold brackets: "dapo-bench[interop]"

            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True,
                              highlight=False, soft_wrap=True)
            sys.exit(2)
        except KeyboardInterrupt:
            from dapo_bench.pipeline.runlock import held_runs
            from dapo_bench.pipeline.runner import kept_note

            notes = [kept_note(run) for run in held_runs()]
            line = ("interrupted: " + "; ".join(notes) + "; run the same command to resume"
                    if notes else "interrupted")
            err_console.print(line, markup=False, highlight=False, soft_wrap=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dapo-bench")
def main() -> None:
    """dapo-bench: evaluate checkpoints, reproduce DAPO (arXiv 2412.18279), check regressions.

    Not ByteDance's 2025 "DAPO" (decoupled clip and dynamic sampling): a different algorithm.
    """


@main.command()
@click.argument("name", type=click.Choice(["table1", "table2", "table3"]))
@click.option("--results", "results_dir", type=click.Path(path_type=Path), required=True,
              help="Results root: <root>/<model>/<benchmark>.json.")
@click.option("--format", "fmt", type=click.Choice(["rich", "md", "latex", "csv"]),
              default="rich", show_default=True)
@click.option("--paper", is_flag=True, help="Show the paper's own values beside ours.")
@click.option("--benchmarks", default=None,
              help="Comma-separated benchmark columns (default: the paper's).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Also write the rendered table to this file.")
@click.option("--metric", default="accuracy", show_default=True,
              help="What the cells show: accuracy, pass@K or maj@K (from `eval --n N --k`).")
def table(name: str, results_dir: Path, fmt: str, paper: bool, benchmarks: str | None,
          out: Path | None, metric: str) -> None:
    """Render the paper's Table 1, 2 or 3 layout from stored results, with signed deltas."""
    from dapo_bench.jsonio import atomic_write_text
    from dapo_bench.report.results import ResultsStore
    from dapo_bench.report.tables import build_table, render

    if not results_dir.is_dir():
        raise UserInputError(f"results directory {results_dir} does not exist")
    cols = tuple(b.strip() for b in benchmarks.split(",")) if benchmarks else None
    built = build_table(name, ResultsStore(results_dir), with_paper=paper, benchmarks=cols,
                        metric=metric)
    if not built.rows:
        raise UserInputError(f"no results under {results_dir} for any model of {name}")
    if metric != "accuracy" and all(c.value is None for r in built.rows for c in r.cells):
        raise UserInputError(f"no result under {results_dir} holds {metric} (made by `eval "
                             f"--n N --k K`)")
    text = render(built, fmt)
    click.echo(text, nl=False)
    if out is not None:
        atomic_write_text(out, text)


@main.command()
@click.option("--baseline", type=click.Path(path_type=Path), required=True,
              help="Results root holding the stored (expected) results.")
@click.option("--current", type=click.Path(path_type=Path), required=True,
              help="Results root holding the new results.")
@click.option("--tolerance", type=float, default=1.0, show_default=True,
              help="Allowed drop in points when no per-sample records pair the two sides.")
@click.option("--alpha", type=float, default=0.05, show_default=True,
              help="Significance level of the paired tests (McNemar on samples; sign test on "
                   "per-problem pass@k / maj@k).")
def check(baseline: Path, current: Path, tolerance: float, alpha: float) -> None:
    """Compare current results with a baseline; exit 1 on a regression, 2 on bad input."""
    from dapo_bench.report.check import check as run_check

    report = run_check(baseline, current, tolerance=tolerance, alpha=alpha)
    out = Table(title=f"dapo-bench check: {current} vs {baseline}")
    for col in ("model", "benchmark", "baseline", "current", "delta", "test", "p / tol",
                "status"):
        out.add_column(col, justify="right" if col in {"baseline", "current", "delta"} else "left")
    for c in report.comparisons:
        if c.method == "paired":
            test = f"McNemar (-{c.worse}/+{c.better})"
            detail = f"p={c.p_value:.3g}"
        elif c.method == "paired-problems":
            test = f"sign test (-{c.worse}/+{c.better} problems)"
            detail = f"p={c.p_value:.3g}"
        else:
            test, detail = "tolerance", f"{tolerance:g} pts"
        status = "[red]REGRESSION[/]" if c.regression else (
            "[green]ok[/]" if abs(c.delta) < 1e-12 else "[yellow]changed[/]")
        bench = c.benchmark if c.metric == "accuracy" else f"{c.benchmark} {c.metric}"
        out.add_row(c.model, bench, f"{c.baseline:.2f}", f"{c.current:.2f}",
                    f"{c.delta:+.2f}", test, detail, status)
    console.print(out)
    for label, keys in (("only in baseline", report.only_baseline),
                        ("only in current", report.only_current)):
        if keys:
            console.print(f"{label}: " + ", ".join(f"{m}/{b}" for m, b in keys))
    if report.regressions:
        names = ", ".join(f"{c.model}/{c.benchmark} {c.metric}" for c in report.regressions)
        console.print(f"[bold red]{len(report.regressions)} regression(s)[/]: {names}")
        sys.exit(1)
    console.print(f"[bold green]no regression[/] in {len(report.comparisons)} comparison(s)")


def _add_subcommands() -> None:
    """Attach the commands that live in ``dapo_bench.commands.<name>`` (attribute ``command``)."""
    import importlib

    for name in ("grade", "evaluate", "train", "reproduce", "export", "data", "doctor",
                 "report", "pack"):
        module_name = f"dapo_bench.commands.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        main.add_command(module.command)


_add_subcommands()

if __name__ == "__main__":
    main()
