"""An lm-evaluation-harness task bundle that evaluates the way ``dapo-bench eval`` does.

``dapo-bench export lm-eval --out DIR`` writes one YAML file per task and a ``utils.py`` that
points lm-eval at the functions below, so ``lm_eval --include_path DIR --tasks dapo_math`` (and
``simple_evaluate(..., task_manager=TaskManager(include_path=DIR))``) load:

- the documents from dapo-bench's own loaders (a data directory, a JSONL file or a hub id,
  as ``dapo-bench eval`` takes them), in the same order, with the same ids;
- the prompt of a dapo-bench template (the paper's zero-shot CoT prompt by default), zero-shot;
- greedy decoding (``do_sample: false``, temperature 0), the template's stop strings and the
  generation budget;
- dapo-bench's grader as the metric ``acc``: :func:`process_results` runs in lm-eval's process
  and calls the bounded entry point (:func:`dapo_bench.grading.math.grade_many`): extraction
  and the fast rules in the caller, anything that needs sympy in the pool of time- and
  memory-limited workers.

Templates that render the model's chat template (``qwen-cot-chat``) become the user message
alone; pass ``--apply_chat_template`` to lm-eval to render it, as dapo-bench does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dapo_bench.errors import UserInputError

#: lm-eval task name -> dapo-bench benchmark.
TASKS: dict[str, str] = {
    "dapo_math": "math",
    "dapo_gsm8k": "gsm8k",
    "dapo_minerva_math": "minerva_math",
    "dapo_olympiadbench": "olympiadbench",
    "dapo_college_math": "college_math",
    "dapo_toy_arith": "toy_arith",
}
MATH_SUITE_TAG = "dapo_math_suite"  # the paper's five math benchmarks
TOY_MAX_NEW_TOKENS = 96  # the toy recipe's evaluation budget (recipes/toy.yaml: eval)
TASK_VERSION = 1.0

_UTILS = '''"""lm-eval hooks of the dapo-bench task bundle (written by `dapo-bench export lm-eval`).

Documents come from dapo-bench's loaders, prompts from its templates, and the metric `acc` from
its bounded grader: this needs the `dapo-bench` package in lm-eval's environment.
"""

from dapo_bench.interop.lm_eval import doc_to_text, load_docs, process_results

__all__ = ["doc_to_text", "load_docs", "process_results"]
'''


# ------------------------------------------------------------------------ runtime (lm-eval side)


def load_docs(dapo_benchmark: str, dapo_template: str, dapo_data: str | None = None,
              **_: Any) -> dict[str, Any]:
    """lm-eval's ``custom_dataset``: the benchmark's problems as a ``test`` split.

    ``dapo_data`` is a data directory, JSONL file or hub id; when empty, ``$DAPO_BENCH_DATA``
    and then the benchmark's hub id, exactly as ``dapo-bench eval`` resolves them. lm-eval
    passes its own metadata as other keyword arguments; they are ignored.
    """
    import datasets

    from dapo_bench.data.registry import load_benchmark
    from dapo_bench.data.templates import get_template

    template = get_template(dapo_template)
    problems = load_benchmark(dapo_benchmark, source=dapo_data or None)
    rows = [{"id": p.id, "question": p.question, "gold": str(p.gold),
             "prompt": template.text.replace("{question}", p.question)
             if template.uses_chat_template else template.format(p.question),
             "benchmark": dapo_benchmark} for p in problems]
    return {"test": datasets.Dataset.from_list(rows)}


def doc_to_text(doc: dict[str, Any]) -> str:
    """The prompt exactly as dapo-bench renders it (no whitespace added or removed)."""
    return str(doc["prompt"])


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    """dapo-bench's verdict on lm-eval's generation, as ``acc`` (1.0 or 0.0).

    A timeout of the bounded grader counts as wrong, as in ``dapo-bench eval``.
    """
    from dapo_bench.grading.math import grade_many

    response = results[0] if results else ""
    grade = grade_many([(response, str(doc["gold"]))], str(doc["benchmark"]))[0]
    return {"acc": 1.0 if grade.correct else 0.0}


# ------------------------------------------------------------------------ the bundle (export)


def _budget(benchmark: str, max_new_tokens: int | None) -> int:
    if max_new_tokens is not None:
        return max_new_tokens
    return TOY_MAX_NEW_TOKENS if benchmark.startswith("toy_") else 2048


def task_config(task: str, *, template: str | None = None, max_new_tokens: int | None = None,
                data: str | None = None) -> dict[str, Any]:
    """The lm-eval task config of ``task`` (``!function`` entries as their target names)."""
    from dapo_bench.data.registry import get_benchmark
    from dapo_bench.data.templates import get_template

    if task not in TASKS:
        raise UserInputError(f"unknown lm-eval task {task!r}; known: {', '.join(TASKS)}")
    benchmark = TASKS[task]
    spec = get_benchmark(benchmark)
    # The toy task has its own prompt format; --template applies to the paper's benchmarks.
    name = spec.default_template if benchmark.startswith("toy_") or template is None \
        else template
    tmpl = get_template(name)
    config: dict[str, Any] = {
        "task": task,
        "tag": [MATH_SUITE_TAG] if not benchmark.startswith("toy_") else ["dapo_toy"],
        "custom_dataset": "utils.load_docs",
        "dataset_kwargs": {"dapo_benchmark": benchmark, "dapo_template": tmpl.name,
                           "dapo_data": data},
        "output_type": "generate_until",
        "test_split": "test",
        "doc_to_text": "utils.doc_to_text",
        "doc_to_target": "gold",
        "process_results": "utils.process_results",
        "num_fewshot": 0,
        "generation_kwargs": {"until": list(tmpl.stop),
                              "max_gen_toks": _budget(benchmark, max_new_tokens),
                              "do_sample": False, "temperature": 0.0},
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        "metadata": {"version": TASK_VERSION},
    }
    return config


def _yaml(config: dict[str, Any], header: str) -> str:
    """YAML text with lm-eval's ``!function`` tag on the hook entries."""
    import yaml

    functions = ("custom_dataset", "doc_to_text", "process_results")
    first = yaml.safe_dump({"task": config["task"]}, sort_keys=False)
    plain = {k: v for k, v in config.items() if k not in functions and k != "task"}
    text = yaml.safe_dump(plain, sort_keys=False, allow_unicode=True, width=100)
    hooks = "".join(f"{k}: !function {config[k]}\n" for k in functions)
    return header + first + hooks + text


def write_bundle(out: str | Path, *, tasks: list[str] | None = None, template: str | None = None,
                 max_new_tokens: int | None = None, data: str | None = None) -> list[Path]:
    """Write the task bundle into ``out``; returns the files written.

    ``template`` overrides the paper benchmarks' default prompt template, ``max_new_tokens``
    the budget (default 2048; the toy task 96), ``data`` where documents load from (default:
    ``$DAPO_BENCH_DATA`` at run time, then the hub)."""
    from dapo_bench import __version__
    from dapo_bench.jsonio import atomic_write_text

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for task in tasks or list(TASKS):
        config = task_config(task, template=template, max_new_tokens=max_new_tokens,
                             data=data)
        kw = config["dataset_kwargs"]
        header = (f"# {task}: dapo-bench {__version__}'s {kw['dapo_benchmark']} (template "
                  f"{kw['dapo_template']}), zero-shot, greedy.\n"
                  "# Written by `dapo-bench export lm-eval`; the metric acc is dapo-bench's "
                  "grader.\n")
        path = out / f"{task}.yaml"
        atomic_write_text(path, _yaml(config, header))
        written.append(path)
    utils = out / "utils.py"
    atomic_write_text(utils, _UTILS)
    written.append(utils)
    return written
