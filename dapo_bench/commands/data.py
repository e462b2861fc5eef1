"""`dapo-bench data`: fetch the benchmarks and training sets from their pinned public sources."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from dapo_bench.errors import UserInputError


@click.group("data")
def command() -> None:
    """Benchmark and training data: download, verify, import."""


@contextlib.contextmanager
def _rich_bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    from dapo_bench.cli import err_console

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


@command.command("fetch")
@click.option("--benchmarks", default="all", show_default=True,
              help="Comma-separated benchmark names, or a target: all, table1, table2, table3.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Data directory to fill (default: $DAPO_BENCH_DATA, else the user data "
                   "directory $XDG_DATA_HOME/dapo-bench/data, which every command reads when "
                   "no --data-dir is passed).")
@click.option("--from", "from_dir", type=click.Path(path_type=Path, file_okay=False,
                                                      exists=True), default=None,
              help="Import files downloaded elsewhere (the layout, or the raw downloads by "
                   "name) instead of downloading; same checks.")
@click.option("--lcb-release", default=None,
              help="LiveCodeBench release whose files to fetch (default: "
                   "$DAPO_BENCH_LCB_RELEASE, else release_v4).")
def fetch_command(benchmarks: str, out: Path | None, from_dir: Path | None,
                  lcb_release: str | None) -> None:
    """Download every file a target needs, pinned, checked against sha256 and rows.

    Resumable: files already in place are verified, not downloaded again; each new file is
    written whole or not at all. Plain-HTTPS sources honour HTTPS_PROXY and
    $DAPO_BENCH_DATA_MIRROR (a base URL serving <repo>/<commit>/<path>); hub sources honour
    HF_TOKEN, HF_ENDPOINT, HF_HUB_CACHE and HF_HUB_OFFLINE.
    """
    from dapo_bench.cli import console, err_console
    from dapo_bench.data.fetch import Outcome, fetch
    from dapo_bench.data.manifest import MANIFEST_NAME
    from dapo_bench.data.registry import DATA_DIR_ENV, user_data_dir
    from dapo_bench.data.sources import files_for, resolve_names

    names = resolve_names(benchmarks)
    if out is None:
        env = os.environ.get(DATA_DIR_ENV)
        out = Path(env) if env else user_data_dir()
    sources = files_for(names, lcb_release)
    style = {"fetched": "green", "imported": "green", "present": "dim", "failed": "red"}

    def say(o: Outcome) -> None:
        from rich.markup import escape

        text = escape(o.message) if o.status != "failed" else ""
        console.print(f"[{style[o.status]}]{o.status:>8}[/] {o.source.dest} {text}",
                      highlight=False, soft_wrap=True)

    outcomes = fetch(sources, out, from_dir=from_dir, progress=_rich_bar, say=say)
    failed = [o for o in outcomes if o.status == "failed"]
    done = len(outcomes) - len(failed)
    if failed:
        for o in failed[1:]:
            from rich.markup import escape

            err_console.print(f"[red]failed:[/] {escape(o.message)}", highlight=False,
                              soft_wrap=True)
        more = f" (and {len(failed) - 1} more, listed above)" if len(failed) > 1 else ""
        raise UserInputError(f"{failed[0].message}{more}")
    fetched = sum(o.status in ("fetched", "imported") for o in outcomes)
    console.print(f"{done} file(s) ready in {out} ({fetched} new, {done - fetched} already "
                  f"there); record: {out / MANIFEST_NAME}", highlight=False, soft_wrap=True)
