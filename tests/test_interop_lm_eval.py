"""The lm-eval task bundle, loaded and run by lm-eval itself (its own process, its `hf` model).

The headline check: lm-eval's `hf` model on the shipped toy base model scores `dapo_toy_arith`
on the first 100 problems within 2 points of `dapo-bench eval` on the same problems.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from dapo_bench.interop.lm_eval import TASKS, write_bundle
from dapo_bench.interop.tools import LM_EVAL, harness_env, tool_python

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "data"

pytestmark = pytest.mark.slow

# Runs in lm-eval's interpreter: load every task through TaskManager(include_path=...), check
# the documents and prompts, then simple_evaluate the toy task with lm-eval's hf model.
SCRIPT = r"""
import json, sys
import lm_eval
from lm_eval.tasks import TaskManager, get_task_dict

bundle, model, out = sys.argv[1:4]
tm = TaskManager(include_path=bundle)
tasks = get_task_dict(sorted(json.loads(sys.argv[4])), tm)
docs = {}
for name, task in tasks.items():
    d = list(task.test_docs())
    docs[name] = {"n": len(d), "first_id": d[0]["id"], "first_text": task.doc_to_text(d[0]),
                  "gen": task.config.generation_kwargs}
res = lm_eval.simple_evaluate(
    model="hf", model_args=f"pretrained={model},dtype=float32", tasks=["dapo_toy_arith"],
    task_manager=tm, limit=100, batch_size=32, device="cpu", log_samples=True)
samples = [{"id": s["doc"]["id"], "resp": s["resps"][0][0], "acc": s["acc"]}
           for s in res["samples"]["dapo_toy_arith"]]
json.dump({"docs": docs, "acc": res["results"]["dapo_toy_arith"]["acc,none"],
           "samples": samples}, open(out, "w"))
"""


@pytest.fixture(scope="module")
def lm_eval_python() -> str:
    return tool_python(LM_EVAL, create=True)


def _env() -> dict[str, str]:
    return harness_env({"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                        "OMP_NUM_THREADS": "1", "DAPO_BENCH_DATA": str(FIXTURES)})


def test_bundle_files(tmp_path: Path) -> None:
    written = write_bundle(tmp_path, data=str(FIXTURES))
    assert sorted(p.name for p in written) == sorted([f"{t}.yaml" for t in TASKS] + ["utils.py"])
    text = (tmp_path / "dapo_math.yaml").read_text()
    assert "process_results: !function utils.process_results" in text
    assert "max_gen_toks: 2048" in text and "do_sample: false" in text
    assert "<|im_end|>" in text and "metric: acc" in text


def test_lm_eval_matches_dapo_bench_eval_on_toy(tmp_path: Path, lm_eval_python: str) -> None:
    from dapo_bench.data.registry import load_benchmark
    from dapo_bench.data.templates import get_template
    from dapo_bench.evaluate import EvalSettings, load_stored_samples, run_eval
    from dapo_bench.toy.base import toy_base_path

    bundle = tmp_path / "bundle"
    write_bundle(bundle)  # documents from $DAPO_BENCH_DATA (the fixtures) at run time
    model = toy_base_path()
    out = tmp_path / "lm_eval.json"
    proc = subprocess.run([lm_eval_python, "-c", SCRIPT, str(bundle), str(model), str(out),
                           json.dumps(list(TASKS))], env=_env(), cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    got = json.loads(out.read_text())

    # Every task loads, from dapo-bench's loaders, with its template's prompt.
    for task, benchmark in TASKS.items():
        problems = load_benchmark(benchmark, data_dir=FIXTURES)
        doc = got["docs"][task]
        assert doc["n"] == len(problems), task
        assert doc["first_id"] == problems[0].id
        template = get_template("toy" if benchmark.startswith("toy") else "qwen-cot")
        assert doc["first_text"] == template.format(problems[0].question)
        assert doc["gen"]["do_sample"] is False
        assert doc["gen"]["max_gen_toks"] == (96 if benchmark.startswith("toy") else 2048)

    report = run_eval(EvalSettings(model=str(model), out=tmp_path / "eval",
                                   benchmarks=["toy_arith"], name="toy-base", backend="hf",
                                   max_new_tokens=96, dtype="float32", limit=100,
                                   progress=False), say=lambda _: None)
    ours = report.outcomes[0].result.metrics["accuracy"]
    theirs = 100 * got["acc"]
    assert abs(ours - theirs) <= 2.0, (ours, theirs)
    stored = {s.id: s for s in load_stored_samples(tmp_path / "eval", "toy-base", "toy_arith")}
    same_text = sum(stored[s["id"]].output == s["resp"] for s in got["samples"])
    same_verdict = sum(stored[s["id"]].correct == bool(s["acc"]) for s in got["samples"])
    print(f"toy_arith, first 100: dapo-bench eval {ours:.2f}%, lm-eval hf {theirs:.2f}%; "
          f"identical outputs {same_text}/100, identical verdicts {same_verdict}/100")
    assert len(got["samples"]) == 100
    assert same_verdict >= 98


def test_lm_eval_cli_runs_the_math_suite(tmp_path: Path, lm_eval_python: str) -> None:
    """`lm_eval --include_path DIR` on the five math tasks (fixture data, toy model, 2 each)."""
    from dapo_bench.toy.base import toy_base_path

    bundle = tmp_path / "bundle"
    write_bundle(bundle, data=str(FIXTURES), max_new_tokens=32,
                 tasks=[t for t in TASKS if t != "dapo_toy_arith"])
    proc = subprocess.run(
        [lm_eval_python, "-m", "lm_eval", "--model", "hf", "--model_args",
         f"pretrained={toy_base_path()},dtype=float32", "--include_path", str(bundle),
         "--tasks", "dapo_math_suite", "--limit", "2", "--device", "cpu",
         "--output_path", str(tmp_path / "out")],
        env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    table = proc.stdout.replace(" ", "")
    for task in TASKS:
        if task != "dapo_toy_arith":
            assert f"|{task}|1|none|0|acc|" in table, proc.stdout


CHAT_SCRIPT = r"""
import json, sys
from lm_eval.models.huggingface import HFLM
from lm_eval.tasks import TaskManager, get_task_dict

bundle, model, out = sys.argv[1:4]
task = get_task_dict(["dapo_gsm8k"], TaskManager(include_path=bundle))["dapo_gsm8k"]
lm = HFLM(pretrained=model, device="cpu")
docs = list(task.test_docs())[:3]
json.dump([task.fewshot_context(d, 0, apply_chat_template=True,
                                chat_template=lm.apply_chat_template) for d in docs],
          open(out, "w"))
"""


def test_chat_template_prompts_match_with_apply_chat_template(tmp_path: Path,
                                                               lm_eval_python: str) -> None:
    """qwen-cot-chat exports the user message; lm-eval's --apply_chat_template renders it
    through the tokenizer's chat template to exactly dapo-bench's prompt."""
    from transformers import AutoTokenizer

    from dapo_bench.data.registry import load_benchmark
    from dapo_bench.data.templates import get_template
    from dapo_bench.testing import cached_tiny_qwen2

    model = cached_tiny_qwen2()
    write_bundle(tmp_path / "bundle", tasks=["dapo_gsm8k"], template="qwen-cot-chat",
                 data=str(FIXTURES))
    out = tmp_path / "prompts.json"
    proc = subprocess.run([lm_eval_python, "-c", CHAT_SCRIPT, str(tmp_path / "bundle"),
                           str(model), str(out)], env=_env(), cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    tokenizer = AutoTokenizer.from_pretrained(model)
    template = get_template("qwen-cot-chat")
    ours = [template.format(p.question, tokenizer)
            for p in load_benchmark("gsm8k", data_dir=FIXTURES)[:3]]
    assert json.loads(out.read_text()) == ours
    assert ours[0].startswith("<|im_start|>user\n")
