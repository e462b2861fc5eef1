"""`dapo-bench pack`: gzip a results root's per-sample files before storing it in a repository."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("pack")
@click.argument("results_dir", metavar="RESULTS",
                type=click.Path(path_type=Path, file_okay=False, exists=True))
def command(results_dir: Path) -> None:
    """Gzip every per-sample file under RESULTS (X.samples.jsonl -> X.samples.jsonl.gz) and
    point each result at its packed file. Every reader (check, table, the reports, the
    exporters) takes either form; a rerun that writes a result writes it plain again."""
    from dapo_bench.report.results import pack_samples

    packed = pack_samples(results_dir)
    click.echo(f"packed {len(packed)} per-sample file(s) under {results_dir}")
