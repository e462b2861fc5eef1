"""Delta tables in the paper's layout, rendered as rich, Markdown, LaTeX or CSV.

Each model gets a base row and one row per DAPO iteration with signed deltas against the base,
recomputed from stored values. A missing cell is "-", never 0.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from rich import box
from rich.console import Console
from rich.table import Table

from dapo_bench.errors import UserInputError
from dapo_bench.report.paper import paper_table
from dapo_bench.report.passk import metric_value, parse_metric
from dapo_bench.report.results import BenchmarkResult, ResultsStore, variant_name

BENCHMARK_TITLES = {
    "math": "MATH", "math500": "MATH500", "gsm8k": "GSM8K", "minerva_math": "Minerva Math",
    "olympiadbench": "OlympiadBench", "college_math": "College Math", "humaneval": "HumanEval",
    "humaneval_plus": "HumanEval+", "mbpp": "MBPP", "mbpp_plus": "MBPP+",
    "livecodebench": "LiveCodeBench",
}
# Rows per model: (label, DAPO iteration).
TABLE_VARIANTS = {
    "table1": (("base", 0), ("+ DAPO", 1)),
    "table2": (("base", 0), ("+ DAPO", 1)),
    "table3": (("base", 0), ("iter 1", 1), ("iter 2", 2)),
}
FORMATS = ("rich", "md", "latex", "csv")
OURS_GROUP = "ours"


@dataclass
class Cell:
    value: float | None
    delta: float | None = None
    paper: float | None = None


@dataclass
class Row:
    group: str
    model: str
    label: str
    iteration: int
    cells: list[Cell] = field(default_factory=list)


@dataclass
class DeltaTable:
    name: str
    title: str
    benchmarks: tuple[str, ...]
    rows: list[Row]
    with_paper: bool


def _base_models_in(store_results: dict[tuple[str, str], BenchmarkResult],
                    iterations: tuple[int, ...]) -> list[str]:
    """Models in a store that look like bases: they have a +dapo sibling, or no suffix at all."""
    models = {m for m, _ in store_results}
    bases = []
    for model in sorted(models):
        if "+dapo" in model:
            continue
        if any(variant_name(model, it) in models for it in iterations if it > 0) or model in models:
            bases.append(model)
    return bases


def build_table(name: str, store: ResultsStore, *, with_paper: bool = False,
                benchmarks: tuple[str, ...] | None = None, metric: str = "accuracy"
                ) -> DeltaTable:
    """Assemble ``name`` from the results under ``store``. Paper models come first, in the
    paper's order; other base models found in the store follow in the group "ours".
    ``metric`` is what the cells show: accuracy (the paper's), pass@K or maj@K; a result
    without it is a missing cell. The paper's values are accuracies, so they go with
    accuracy only."""
    parse_metric(metric)  # a malformed name fails here, not as empty cells
    if with_paper and metric != "accuracy":
        raise UserInputError(f"--paper shows the paper's accuracies: it cannot go with "
                             f"--metric {metric}")
    if name not in TABLE_VARIANTS:
        raise KeyError(f"unknown table {name!r}; choose from {', '.join(TABLE_VARIANTS)}")
    paper = paper_table(name)
    variants = TABLE_VARIANTS[name]
    benchmarks = benchmarks or paper.benchmarks
    results = store.results()
    iterations = tuple(it for _, it in variants)

    present = {m for m, _ in results}
    paper_models = [(r.model, r.group or "") for r in paper.rows]
    order = [(m, g) for m, g in paper_models
             if any(variant_name(m, it) in present for it in iterations)]
    if with_paper:
        order = paper_models
    # Models of any paper table are the paper's, not ours, even where this table omits them.
    known = {r.model for t in TABLE_VARIANTS for r in paper_table(t).rows}
    order += [(m, OURS_GROUP) for m in _base_models_in(results, iterations) if m not in known]

    rows: list[Row] = []
    for model, group in order:
        base_values = [_value(results, model, b, metric) for b in benchmarks]
        for label, iteration in variants:
            row = Row(group=group, model=model, label=label, iteration=iteration)
            for i, bench in enumerate(benchmarks):
                value = _value(results, variant_name(model, iteration), bench, metric)
                delta = None
                if iteration > 0 and value is not None and base_values[i] is not None:
                    delta = value - base_values[i]
                pval = paper.value(model, iteration, bench) if with_paper else None
                row.cells.append(Cell(value=value, delta=delta, paper=pval))
            rows.append(row)
    title = paper.title if metric == "accuracy" else f"{paper.title} [{metric}]"
    return DeltaTable(name=name, title=title, benchmarks=tuple(benchmarks), rows=rows,
                      with_paper=with_paper)


def _value(results: dict[tuple[str, str], BenchmarkResult], model: str, bench: str,
           metric: str = "accuracy") -> float | None:
    result = results.get((model, bench))
    if result is None:
        return None
    return result.value if metric == "accuracy" else metric_value(result, metric)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _signed(delta: float | None) -> str:
    if delta is None:
        return ""
    # Round first so that -0.004 prints as +0.00, not -0.00.
    rounded = round(delta, 2) + 0.0
    return f"{rounded:+.2f}"


def _cell_text(cell: Cell, with_paper: bool) -> str:
    text = _num(cell.value)
    if cell.delta is not None:
        text += f" ({_signed(cell.delta)})"
    if with_paper:
        text += f" [paper {_num(cell.paper)}]"
    return text


def _row_name(row: Row) -> str:
    return row.model if row.iteration == 0 else f"  {row.label}"


def render(table: DeltaTable, fmt: str) -> str:
    if fmt == "rich":
        return render_rich(table)
    if fmt == "md":
        return render_markdown(table)
    if fmt == "latex":
        return render_latex(table)
    if fmt == "csv":
        return render_csv(table)
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")


def render_rich(table: DeltaTable, width: int = 200) -> str:
    out = Table(title=table.title, box=box.SIMPLE_HEAD)
    out.add_column("Group")
    out.add_column("Model")
    for bench in table.benchmarks:
        out.add_column(BENCHMARK_TITLES.get(bench, bench), justify="right")
    last_model = None
    for row in table.rows:
        if last_model is not None and row.model != last_model:
            out.add_section()
        last_model = row.model
        group = row.group if row.iteration == 0 else ""
        out.add_row(group, _row_name(row), *(_cell_text(c, table.with_paper) for c in row.cells))
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(out)
    return console.export_text()


def render_markdown(table: DeltaTable) -> str:
    head = ["Group", "Model", *(BENCHMARK_TITLES.get(b, b) for b in table.benchmarks)]
    lines = [f"**{table.title}**", "", "| " + " | ".join(head) + " |",
             "|" + "|".join(["---", "---"] + ["---:"] * len(table.benchmarks)) + "|"]
    for row in table.rows:
        group = row.group if row.iteration == 0 else ""
        name = row.model if row.iteration == 0 else f"{row.label}"
        cells = [_cell_text(c, table.with_paper) for c in row.cells]
        lines.append("| " + " | ".join([group, name, *cells]) + " |")
    return "\n".join(lines) + "\n"


def _latex_escape(text: str) -> str:
    for char, repl in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"),
                       ("#", r"\#"), ("_", r"\_"), ("{", r"\{"), ("}", r"\}")):
        text = text.replace(char, repl)
    return text


def _latex_cell(cell: Cell, with_paper: bool) -> str:
    text = _num(cell.value)
    if cell.delta is not None:
        text += rf" \textsubscript{{{_signed(cell.delta)}}}"
    if with_paper:
        text += f" [{_num(cell.paper)}]"
    return text


def render_latex(table: DeltaTable) -> str:
    cols = "ll" + "r" * len(table.benchmarks)
    head = " & ".join(["Group", "Model",
                       *(_latex_escape(BENCHMARK_TITLES.get(b, b)) for b in table.benchmarks)])
    lines = [r"\begin{table}[t]", r"\centering",
             rf"\caption{{{_latex_escape(table.title)}}}", rf"\begin{{tabular}}{{{cols}}}",
             r"\toprule", head + r" \\", r"\midrule"]
    last_model = None
    for row in table.rows:
        if last_model is not None and row.model != last_model:
            lines.append(r"\midrule")
        last_model = row.model
        group = _latex_escape(row.group) if row.iteration == 0 else ""
        name = _latex_escape(row.model if row.iteration == 0 else row.label)
        cells = [_latex_cell(c, table.with_paper) for c in row.cells]
        lines.append(" & ".join([group, name, *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def render_csv(table: DeltaTable) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = ["group", "model", "variant"]
    for bench in table.benchmarks:
        header += [bench, f"{bench}_delta"] + ([f"{bench}_paper"] if table.with_paper else [])
    writer.writerow(header)
    for row in table.rows:
        line = [row.group, row.model, row.label]
        for cell in row.cells:
            line += [_num(cell.value), _signed(cell.delta)]
            if table.with_paper:
                line.append(_num(cell.paper))
        writer.writerow(line)
    return buf.getvalue()
