"""`dapo-bench export`: files other evaluation tools read (lm-eval tasks, evalplus samples,
LiveCodeBench problems)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("export")
def command() -> None:
    """Write files that lm-evaluation-harness, evalplus and LiveCodeBench read."""


@command.command("lm-eval")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for the task bundle (pass it to lm_eval --include_path).")
@click.option("--tasks", default=None,
              help="Comma-separated task names (default: all of them).")
@click.option("--template", default=None,
              help="Prompt template of the paper's benchmarks (default: each one's own, "
                   "qwen-cot); the toy task keeps its own.")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=None,
              help="Generation budget (default 2048; the toy task 96).")
@click.option("--data", default=None,
              help="Where the documents load from: a data directory, JSONL file or hub id "
                   "(default: $DAPO_BENCH_DATA when lm-eval runs, then the hub).")
def lm_eval_bundle(out: Path, tasks: str | None, template: str | None,
                   max_new_tokens: int | None, data: str | None) -> None:
    """Write lm-eval tasks dapo_math, dapo_gsm8k, dapo_minerva_math, dapo_olympiadbench,
    dapo_college_math and dapo_toy_arith: dapo-bench's prompts, greedy decoding, stop strings,
    budget, and its grader as the metric acc."""
    from dapo_bench.interop.lm_eval import write_bundle

    names = [t.strip() for t in tasks.split(",") if t.strip()] if tasks else None
    data_arg = str(Path(data).resolve()) if data and Path(data).exists() else data
    written = write_bundle(out, tasks=names, template=template, max_new_tokens=max_new_tokens,
                           data=data_arg)
    from dapo_bench.data.templates import get_template

    chat = template is not None and get_template(template).uses_chat_template
    click.echo(f"wrote {len(written) - 1} lm-eval task(s) to {out}; run: lm_eval --model hf "
               f"--model_args pretrained=CKPT --include_path {out} --tasks "
               + ",".join(p.stem for p in written if p.suffix == ".yaml")
               + (" --apply_chat_template" if chat else ""))


@command.command("evalplus")
@click.argument("model_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("--benchmark", type=click.Choice(["humaneval_plus", "mbpp_plus"]), required=True)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The samples JSONL to write (task_id, solution).")
@click.option("--rescore", is_flag=True,
              help="Also score the file with evalplus (in its own environment, made on first "
                   "use) and compare its verdicts with the stored ones.")
@click.option("--data", default=None,
              help="--rescore: the benchmark file in evalplus's format, or a data directory "
                   "(default: $DAPO_BENCH_DATA).")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="--rescore: evalplus's --parallel.")
def evalplus_samples(model_dir: Path, benchmark: str, out: Path, rescore: bool,
                     data: str | None, workers: int) -> None:
    """Write MODEL_DIR's stored samples of BENCHMARK (a results root's RESULTS/MODEL) as an
    evalplus samples file: each program as dapo-bench graded it."""
    from dapo_bench.interop.evalplus import DATASETS, export_samples, rescore_export

    n = export_samples(model_dir, benchmark, out)
    dataset, override = DATASETS[benchmark]
    click.echo(f"wrote {n} sample(s) to {out}; score with: {override}=DATA_FILE "
               f"evalplus.evaluate --dataset {dataset} --samples {out}")
    if rescore:
        click.echo(rescore_export(model_dir, benchmark, out, data, workers=workers))


@command.command("livecodebench")
@click.argument("model_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("--benchmark", type=click.Choice(["livecodebench", "taco"]),
              default="livecodebench", show_default=True)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The JSON to write: per problem question_id, code_list and input_output.")
@click.option("--data", default=None,
              help="The benchmark's data the samples were graded on: a file or data directory "
                   "(default: $DAPO_BENCH_DATA, then the hub).")
@click.option("--rescore", is_flag=True,
              help="Also score the file with LiveCodeBench's own grader (in its own "
                   "environment) and compare its verdicts with the stored ones.")
@click.option("--install/--no-install", default=True, show_default=True,
              help="--rescore: make LiveCodeBench's environment under the cache directory "
                   "when it is missing (pip, on first use).")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="--rescore: LiveCodeBench's num_process_evaluate.")
def livecodebench_problems(model_dir: Path, benchmark: str, out: Path, data: str | None,
                           rescore: bool, install: bool, workers: int) -> None:
    """Write MODEL_DIR's stored samples of BENCHMARK (a results root's RESULTS/MODEL) in the
    form LiveCodeBench's codegen_metrics takes: each program as dapo-bench graded it."""
    from dapo_bench.data.registry import load_benchmark
    from dapo_bench.interop.livecodebench import export_problems, rescore_export
    from dapo_bench.interop.tools import LIVECODEBENCH, tool_python

    n = export_problems(model_dir, benchmark, out, load_benchmark(benchmark, source=data))
    click.echo(f"wrote {n} sample(s) of {benchmark} to {out}")
    if rescore:
        python = tool_python(LIVECODEBENCH, create=install)
        click.echo(rescore_export(model_dir, benchmark, out, workers=workers, python=python))
