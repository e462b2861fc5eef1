"""`dapo-bench eval CKPT`: zero-shot evaluation of a checkpoint, every sample kept."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from dapo_bench.errors import UserInputError

_err = Console(stderr=True)


class TokensPerSecond(ProgressColumn):
    """Generated tokens per second since the bar started."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        tokens = task.fields.get("tokens", 0)
        return Text(f"{tokens / elapsed:,.0f} tok/s" if elapsed > 0 and tokens else "- tok/s",
                    style="progress.data.speed")


def rich_progress(enabled: bool) -> Callable[[str, int, int], Any]:
    """Factory of per-benchmark bars: samples done/total, tokens/s, elapsed, ETA."""

    @contextmanager
    def bar(benchmark: str, total: int, completed: int) -> Iterator[Callable[[int, int], None]]:
        columns = (TextColumn(f"generating {benchmark}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("samples"), TokensPerSecond(), TimeElapsedColumn(),
                   TextColumn("ETA"), TimeRemainingColumn())
        with Progress(*columns, console=_err, disable=not enabled) as progress:
            task = progress.add_task(benchmark, total=total, completed=completed, tokens=0)
            tokens = 0

            def advance(samples: int, new_tokens: int) -> None:
                nonlocal tokens
                tokens += new_tokens
                progress.update(task, advance=samples, tokens=tokens)

            yield advance

    return bar


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


@click.command(name="eval")
@click.argument("ckpt")
@click.option("--suite", type=click.Choice(["math", "code", "all"]), default=None,
              help="Benchmark suite (default: math, unless --benchmarks is given); members "
                   "without data here are skipped with a notice.")
@click.option("--benchmarks", default=None, help="Comma-separated benchmark names; one "
              "without data here is an error, before any model loads.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Only the first N problems of each benchmark.")
@click.option("--backend", type=click.Choice(["auto", "vllm", "hf"]), default="auto",
              show_default=True, help="auto: vLLM when importable, else HF transformers.")
@click.option("--template", default=None,
              help="Prompt template (default: each benchmark's own, zero-shot CoT).")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=2048, show_default=True)
@click.option("--n", "n_samples", type=click.IntRange(min=1), default=1, show_default=True,
              help="Samples per problem.")
@click.option("--k", "ks", default=None, metavar="K,K,...",
              help="Report pass@k and maj@k (math) for these k, each <= --n (default with "
                   "--n N > 1: 1, the powers of two between, and N).")
@click.option("--temperature", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="0 is greedy (the paper's setting).")
@click.option("--top-p", type=click.FloatRange(min=0, min_open=True, max=1), default=1.0,
              show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--dtype", default="auto", show_default=True,
              help="auto (the checkpoint's), float32, bfloat16 or float16.")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              envvar="DAPO_BENCH_DATA",
              help="Folder with one sub-folder per benchmark (else datasets load by hub id). "
                   "Env: DAPO_BENCH_DATA.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              default=Path("runs/eval"), show_default=True, help="Results root.")
@click.option("--name", default=None,
              help="Model name in the results root (default: the checkpoint's directory name).")
@click.option("--regrade", is_flag=True, help="Re-grade stored outputs; generate nothing.")
@click.option("--overwrite", is_flag=True,
              help="Discard stored generations made with other settings.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Generation workers on Ray, one engine each (data-parallel evaluation; "
                   "default: one local engine).")
@click.option("--ray-address", default=None,
              help="Ray cluster to run the workers on: auto, ray://HOST:10001 (default: a "
                   "local cluster).")
@click.option("--set", "overrides", multiple=True, metavar="distributed.KEY=VALUE",
              help="Other distributed settings, as in a recipe (e.g. "
                   "distributed.gpus_per_worker=1). Repeatable.")
@click.option("--grade-workers", type=click.IntRange(min=1), default=None,
              help="Grading worker processes (default: CPU cores).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="HF backend: sequences per generate() call (default 32).")
@click.option("--tensor-parallel-size", type=click.IntRange(min=1), default=1,
              show_default=True, help="vLLM: GPUs per model.")
@click.option("--kv-cache-gb", type=click.FloatRange(min=0, min_open=True), default=None,
              help="vLLM KV cache size (CPU default 2 GiB; GPU default: 90% of memory).")
@click.option("--max-model-len", type=click.IntRange(min=1), default=None,
              help="vLLM context length (default: longest prompt + max new tokens).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bars (default: when stderr is a terminal).")
@click.option("--math-policy", type=click.Choice(["strict", "qwen"]), default=None,
              help="Math numeric policy (see `dapo-bench grade --help`); sets "
                   "$DAPO_BENCH_MATH_POLICY for the graders. Default: that variable, then strict.")
@click.option("--cross-grade", type=click.Choice(["math-verify"]), default=None,
              help="Also grade every math sample with Math-Verify (in bounded worker "
                   "processes): both verdicts per sample, the disagreements in "
                   "BENCHMARK.disagreements.math-verify.jsonl, the agreement rate below.")
def command(ckpt: str, suite: str | None, benchmarks: str | None, limit: int | None,
            backend: str, template: str | None, max_new_tokens: int, n_samples: int,
            temperature: float, top_p: float, seed: int, dtype: str, data_dir: Path | None,
            out: Path, name: str | None, regrade: bool, overwrite: bool, workers: int | None,
            ray_address: str | None, overrides: tuple[str, ...], grade_workers: int | None,
            batch_size: int | None, tensor_parallel_size: int, kv_cache_gb: float | None,
            max_model_len: int | None, progress: bool | None, math_policy: str | None,
            cross_grade: str | None, ks: str | None) -> None:
    """Evaluate checkpoint CKPT (a directory or hub id): generate, grade, store every sample.

    Writes OUT/NAME/BENCHMARK.json and .samples.jsonl; the raw generations go to
    OUT/NAME/.generations/ as they are made, so the same command run again after a crash or
    Ctrl-C generates only what is missing.
    """
    from dapo_bench.config import distributed_options
    from dapo_bench.evaluate import EvalSettings, run_eval, suite_benchmarks
    from dapo_bench.report.passk import parse_ks

    if suite is not None and benchmarks:
        raise UserInputError("pass --suite or --benchmarks, not both")
    if math_policy is not None:
        from dapo_bench.grading.math import POLICY_ENV

        os.environ[POLICY_ENV] = math_policy
    # --regrade takes n from the stored log: there k is checked against it per benchmark
    k_values = parse_ks(ks, 1 << 30 if regrade else n_samples) if ks is not None else ()
    names = _split(benchmarks) or suite_benchmarks(suite or "math")
    distributed = distributed_options(workers, ray_address, overrides)
    if distributed is not None and (
            why := distributed.gpu_mismatch(tensor_parallel_size)) is not None:
        raise UserInputError(why.replace("tensor-parallel size", "--tensor-parallel-size"))
    show = progress if progress is not None else _err.is_terminal
    gen_kwargs: dict[str, Any] = {"tensor_parallel_size": tensor_parallel_size,
                                  "max_model_len": max_model_len}
    if batch_size is not None:
        gen_kwargs["batch_size"] = batch_size
    if kv_cache_gb is not None:
        gen_kwargs["kv_cache_gb"] = kv_cache_gb
    settings = EvalSettings(
        model=ckpt, out=out, benchmarks=names, name=name, backend=backend, template=template,
        max_new_tokens=max_new_tokens, n=n_samples, temperature=temperature, top_p=top_p,
        seed=seed, dtype=dtype, limit=limit, data_dir=data_dir, regrade=regrade,
        overwrite=overwrite, workers=grade_workers, progress=show, generator_kwargs=gen_kwargs,
        distributed=distributed,
        skip_missing_data=not benchmarks, cross_grade=cross_grade, ks=k_values,
        default_ks=ks is None)

    def say(line: str) -> None:
        _err.print(line, highlight=False, markup=False, soft_wrap=True)

    with _sigint_noted() as interrupted:
        try:
            report = run_eval(settings, say=say, progress=rich_progress(show))
        except Exception:
            if not interrupted():  # Ctrl-C also reaches vLLM's processes: their death
                raise              # surfaces as an engine error, not KeyboardInterrupt
            report = None
        except KeyboardInterrupt:
            report = None
    if report is None:
        say(f"interrupted: generations so far are kept under {out}; run the same command "
            "again to resume")
        sys.exit(130)
    click.echo(_summary(report, out))


@contextmanager
def _sigint_noted() -> Iterator[Callable[[], bool]]:
    """Note whether SIGINT arrived (still raising KeyboardInterrupt as usual)."""
    seen = False

    def handler(signum: int, frame: object) -> None:
        nonlocal seen
        seen = True
        raise KeyboardInterrupt

    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: seen
    finally:
        signal.signal(signal.SIGINT, previous)


def _summary(report: Any, out: Path) -> str:
    table = Table(title=f"dapo-bench eval: {report.name}"
                  + (f" ({report.backend})" if report.backend else ""))
    for col in ("benchmark", "n", "accuracy", "mean tokens", "truncated", "generated",
                "reused", "gen s", "grade s"):
        table.add_column(col, justify="left" if col == "benchmark" else "right")
    for o in report.outcomes:
        m = o.result.metrics
        table.add_row(o.benchmark, str(o.result.n), f"{m['accuracy']:.2f}",
                      f"{m['mean_new_tokens']:.0f}", f"{m['truncated']:.1f}%", str(o.generated),
                      str(o.reused), f"{o.gen_s:.1f}", f"{o.grade_s:.1f}")
    t = report.timings
    console = Console(record=True, width=120)
    with console.capture() as cap:
        console.print(table)
        for bench, why in report.skipped.items():
            console.print(f"skipped {bench}: {why} (recorded in each result's provenance)",
                          highlight=False, markup=False)
        for o in report.outcomes:
            if o.result.pass_at_k:
                console.print(f"{o.benchmark}: {_k_line(o.result)}", highlight=False)
            if "math_verify_agreement" in o.result.metrics:
                m = o.result.metrics
                console.print(f"{o.benchmark}: math-verify agrees on "
                              f"{m['math_verify_agreement']:.2f}% of samples (its accuracy "
                              f"{m['math_verify_accuracy']:.2f}%)", highlight=False)
        console.print(f"wall {t['total']:.1f} s: model load {t['load_model']:.1f}, generation "
                      f"{t['generate']:.1f}, grading {t['grade']:.1f}, model shutdown "
                      f"{t['close_model']:.1f}, other {t['other']:.1f}. Results in "
                      f"{out / report.name}", highlight=False)
    return cap.get()


def _k_line(result: Any) -> str:
    """``pass@1 31.2 [28.4, 34.0]; ...; maj@4 ...`` (95% bootstrap intervals)."""
    parts = [f"{kind}@{k} {f.value:.2f} [{f.low:.2f}, {f.high:.2f}]"
             for kind, figures in (("pass", result.pass_at_k), ("maj", result.maj_at_k or {}))
             for k, f in sorted(figures.items())]
    return "; ".join(parts) + " (95% bootstrap over problems)"
