"""`dapo-bench report`: a run's training curves and histograms as PNGs."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("report")
@click.argument("run_dir", metavar="RUN", type=click.Path(path_type=Path, file_okay=False))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for the PNGs (default: beside the run's report.md, written by "
                   "`dapo-bench reproduce`).")
def command(run_dir: Path, out: Path | None) -> None:
    """Render RUN's curves (critic and policy loss, KL, validation accuracy) and histograms
    (Monte-Carlo values, advantages) as PNGs: the figures its tracker received. Read-only
    on RUN."""
    from dapo_bench.errors import UserInputError
    from dapo_bench.pipeline.runner import RECIPE_COPY, RunDir
    from dapo_bench.report.curves import default_out, render_curves

    run = RunDir(run_dir)
    if not (run.root / RECIPE_COPY).is_file():
        raise UserInputError(f"{run_dir} is not a run directory (no {RECIPE_COPY})")
    target, tag = (out, "") if out is not None else default_out(run)
    for path in render_curves(run.root, target, tag):
        click.echo(str(path))
