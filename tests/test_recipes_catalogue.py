"""The model catalogue, the paper's recipes (inheritance, --set) and the plan of every row."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dapo_bench.cli import main
from dapo_bench.config import load_recipe, parse_overrides
from dapo_bench.errors import DataError, UserInputError
from dapo_bench.experiments.paper import TABLE_MODELS, paper_recipe
from dapo_bench.models import CATALOGUE, get_model, resolve_model

REPO = Path(__file__).resolve().parents[1]
PAPER = json.loads((REPO / "dapo_bench" / "report" / "paper_tables.json").read_text())
HUB_IDS = {
    "qwen2.5-math": "Qwen/Qwen2.5-Math-7B-Instruct",
    "llama3.1-8b-instruct": "meta-llama/Llama-3.1-8B-Instruct",
    "openo1-llama-8b": "O1-OPEN/OpenO1-LLama-8B-v0.1",
    "skywork-o1-llama": "Skywork/Skywork-o1-Open-Llama-3.1-8B",
    "qwen2-math": "Qwen/Qwen2-Math-7B-Instruct",
    "qwen2.5-72b-instruct": "Qwen/Qwen2.5-72B-Instruct",
    "skywork-math-llama": None,
}
PAIRS = [(table, alias) for table, aliases in TABLE_MODELS.items() for alias in aliases]


def test_catalogue_has_every_model_of_the_paper_with_its_protocol() -> None:
    paper_models = {(t, row["model"], row.get("group")) for t in ("table1", "table2", "table3")
                    for row in PAPER[t]["rows"]}
    for alias, hub in HUB_IDS.items():
        spec = get_model(alias)
        assert spec.hub_id == hub
        assert spec.dtype == "bfloat16"
        assert spec.eval_max_new_tokens == (
            4096 if alias in ("openo1-llama-8b", "skywork-o1-llama") else 2048)
    for table, name, group in paper_models:
        spec = next(s for s in CATALOGUE.values() if s.paper_name == name)
        assert spec.alias in TABLE_MODELS[table]
        if group is not None:
            assert spec.group == group
    assert len(PAIRS) == 11
    # Templates follow the Qwen2.5-Math toolkit per family; Skywork-o1 has its own system turn.
    assert get_model("qwen2.5-math").template == "qwen25-math-cot"
    assert get_model("qwen2-math").template == "qwen-boxed"
    assert get_model("llama3.1-8b-instruct").uses_chat_template
    from dapo_bench.data.templates import get_template

    assert "Skywork-o1" in (get_template(get_model("skywork-o1-llama").template).system or "")
    assert "<|eot_id|>" in get_model("llama3.1-8b-instruct").stop
    assert "<|im_end|>" in get_model("qwen2.5-math").stop


def test_the_toy_is_a_plug_in_that_registers_its_model() -> None:
    assert Path(resolve_model("builtin:toy-base"), "model.safetensors").is_file()
    with pytest.raises(UserInputError, match="unknown builtin model"):
        resolve_model("builtin:nope")


def test_no_generic_module_imports_the_toy() -> None:
    generic = [p for p in (REPO / "dapo_bench").rglob("*.py")
               if "toy" not in p.relative_to(REPO / "dapo_bench").parts]
    offenders = [str(p.relative_to(REPO)) for p in generic
                 if re.search(r"dapo_bench\.toy|from dapo_bench import toy", p.read_text())]
    assert generic and offenders == []


def test_paper_recipes_inherit_the_paper_setup() -> None:
    for table, alias in PAIRS:
        recipe = load_recipe(paper_recipe(table, alias))
        code = table == "table2"
        assert recipe.model == alias and recipe.table == table
        assert recipe.train_benchmark == ("taco" if code else "math_train")
        assert recipe.critic.init == ("Qwen/Qwen2.5-Coder-7B-Instruct" if code
                                      else "Qwen/Qwen2.5-Math-7B-Instruct")
        assert (recipe.rollout.n_samples, recipe.rollout.n_select) == (128, 6)
        assert recipe.mc.n_completions == 16 and recipe.states.separator == "\n"
        assert (recipe.critic.lr, recipe.critic.batch_size, recipe.critic.epochs) == \
            (5e-6, 512, 1.0)
        assert recipe.policy.lr == 5e-7 and recipe.policy.beta in (0.01, 0.02)
        assert recipe.advantages.gap_threshold == 0.1 and recipe.advantages.unique_actions
        assert recipe.iterations == (2 if table == "table3" else 1)
        assert recipe.base_model == HUB_IDS[alias]
        assert recipe.eval.max_new_tokens == get_model(alias).eval_max_new_tokens
        assert recipe.template == ("code-cot" if code else get_model(alias).template)


def test_extends_merges_key_by_key_and_set_overrides(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(
        "name: base\nbase_model: m\nrollout: {n_samples: 8, n_select: 2}\n"
        "policy: {beta: 0.01, lr: 1.0e-6}\n")
    (tmp_path / "child.yaml").write_text(
        "extends: base.yaml\nname: child\nrollout: {n_select: 4}\n")
    recipe = load_recipe(tmp_path / "child.yaml",
                         parse_overrides(["policy.beta=0.02", "rollout.temperature=0.7",
                                          "eval.benchmarks=[gsm8k]"]))
    assert recipe.name == "child"
    assert (recipe.rollout.n_samples, recipe.rollout.n_select) == (8, 4)
    assert (recipe.policy.beta, recipe.policy.lr) == (0.02, 1e-6)
    assert recipe.rollout.temperature == 0.7 and recipe.eval.benchmarks == ["gsm8k"]

    (tmp_path / "a.yaml").write_text("extends: b.yaml\nname: a\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\n")
    with pytest.raises(DataError, match="cycle"):
        load_recipe(tmp_path / "a.yaml")
    with pytest.raises(UserInputError, match="KEY=VALUE"):
        parse_overrides(["policy.beta"])
    with pytest.raises(DataError, match=r"child\.yaml.*field 'policy\.betta'"):
        load_recipe(tmp_path / "child.yaml", {"policy.betta": 1})


def test_model_without_public_weights_says_so_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "dapo_bench.cli", "reproduce", "table1",
                           "--model", "skywork-math-llama", "--run", str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "no public weights" in lines[0] and "--set base_model=PATH" in lines[0]
    assert not any(tmp_path.iterdir())  # nothing started


@pytest.mark.parametrize(("table", "alias"), PAIRS)
def test_plan_of_every_row_agrees_with_the_paper(tmp_path: Path, table: str, alias: str) -> None:
    # No data directory: the plan still prints, the training set's size comes from the
    # registry and is marked as not exact.
    result = CliRunner().invoke(main, ["reproduce", table, "--model", alias, "--plan",
                                       "--run", str(tmp_path)], env={"DAPO_BENCH_DATA": ""})
    assert result.exit_code == 0, result.output
    assert "GPU-hours" in result.output
    plan = json.loads((tmp_path / alias / "plan.json").read_text())
    code = table == "table2"
    assert plan["table"] == table and plan["model"] == alias
    assert plan["hub_id"] == HUB_IDS[alias]
    assert plan["critic_init"] == ("Qwen/Qwen2.5-Coder-7B-Instruct" if code
                                   else "Qwen/Qwen2.5-Math-7B-Instruct")
    assert plan["iterations"] == (2 if table == "table3" else 1)
    problems = 4000 if code else 7500
    rollouts = [s for s in plan["stages"] if s["stage"] == "rollouts"]
    assert [s["iteration"] for s in rollouts] == list(range(1, plan["iterations"] + 1))
    for s in rollouts:
        assert s["items"] == problems and s["items_exact"] is False
        assert s["generations"] == problems * 128 and s["selected"] == problems * 6
        assert s["max_new_tokens"] == max(2048, get_model(alias).eval_max_new_tokens)
    for s in (s for s in plan["stages"] if s["stage"] == "mc"):
        assert s["n_completions"] == 16 and s["items_exact"] is False
        assert s["generations"] == s["items"] * 16
    budget = get_model(alias).eval_max_new_tokens
    benchmarks = PAPER[table]["benchmarks"]
    assert [e["benchmark"] for e in plan["eval"]] == benchmarks
    assert all(e["max_new_tokens"] == budget for e in plan["eval"])
    assert all(e["template"] == ("code-cot" if code else get_model(alias).template)
               for e in plan["eval"])


def test_plan_counts_the_training_set_when_the_data_is_here(tmp_path: Path,
                                                            shared_data: Path) -> None:
    result = CliRunner().invoke(main, ["reproduce", "table1", "--model", "qwen2.5-math",
                                       "--plan", "--data-dir", str(shared_data),
                                       "--run", str(tmp_path), "--gpus", "16",
                                       "--tokens-per-second", "4000"])
    assert result.exit_code == 0, result.output
    plan = json.loads((tmp_path / "qwen2.5-math" / "plan.json").read_text())
    rollouts = plan["stages"][0]
    # MATH train has 7,500 problems; two of them box nothing and are skipped with a warning.
    assert rollouts["items"] == 7498 and rollouts["items_exact"] is True
    assert [e["problems"] for e in plan["eval"]] == [5000, 1319, 272, 675, 2818]
    assert plan["throughput"]["gpus"] == 16
    assert plan["throughput"]["generation_tokens_per_s_per_gpu"] == 4000
    assert plan["wall_hours"] == pytest.approx(plan["gpu_hours"] / 16, abs=0.1)


def test_ray_workers_must_hold_the_engines_tensor_parallel_gpus() -> None:
    recipe = paper_recipe("table1", "qwen2.5-72b-instruct")
    with pytest.raises(DataError, match="gpus_per_worker is 1 but the engine's tensor-parallel "
                                        "size is 4"):
        load_recipe(recipe, {"distributed.engine": "ray", "distributed.gpus_per_worker": 1})
    fitted = load_recipe(recipe, {"distributed.engine": "ray", "distributed.gpus_per_worker": 4})
    assert fitted.distributed.gpus_per_worker == fitted.tensor_parallel_size == 4


def test_calibration_measures_the_kept_samples_of_a_run(tmp_path: Path) -> None:
    """Samples that were not kept carry no token ids: the lengths come from the kept ones."""
    from dapo_bench.experiments.plan import measured_assumptions

    rollouts, states = tmp_path / "iter1" / "rollouts", tmp_path / "iter1" / "states"
    rollouts.mkdir(parents=True)
    states.mkdir(parents=True)
    kept = {"text": "1+1=2\n", "correct": True, "token_ids": [11, 222, 3]}
    (rollouts / "items.jsonl").write_text(json.dumps(
        {"id": "p1", "prompt_ids": [1, 2], "samples": [kept, {"text": "wrong", "correct": False}],
         "selected": [0]}) + "\n")
    (states / "items.jsonl").write_text("".join(json.dumps({"id": f"s{k}"}) + "\n"
                                                for k in range(3)))
    recipe = load_recipe(paper_recipe("table1", "qwen2.5-math"))
    measured = measured_assumptions(tmp_path, recipe)
    assert measured["steps_per_solution"] == 3
    assert measured["mean_length_fraction"] == 3 / recipe.rollout.max_new_tokens
    assert measured["chars_per_token"] == len('1+1=2\\n') / 3
    assert measured["bytes_per_token_id"] == (4 + 5 + 3) / 3
    assert measured["prompt_tokens"] == 2
