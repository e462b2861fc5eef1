"""Prompt templates: the Qwen2.5-Math CoT prompt, plain and through a chat template."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from dapo_bench.data.templates import (
    COT_INSTRUCTION,
    PromptTemplate,
    get_template,
    register_template,
    template_names,
)
from dapo_bench.errors import UserInputError

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
          "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def tiny_tokenizer(chat_template: str | None) -> PreTrainedTokenizerFast:
    """A word-level tokenizer built offline; only its chat template matters here."""
    vocab = {"[UNK]": 0, "<|im_start|>": 1, "<|im_end|>": 2}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]")
    tok.chat_template = chat_template
    return tok


def test_plain_qwen_cot_is_the_toolkit_prompt() -> None:
    t = get_template("qwen-cot")
    assert not t.uses_chat_template
    assert COT_INSTRUCTION == ("Please reason step by step, and put your final answer within "
                               "\\boxed{}.")
    assert t.format("What is 1+1?") == "What is 1+1?\n" + COT_INSTRUCTION
    assert "<|im_end|>" in t.stop and "<|endoftext|>" in t.stop


def test_braces_in_questions_are_kept_literally() -> None:
    q = r"Let $f(x) = \frac{1}{x}$ and {question} be a word."
    assert get_template("qwen-cot").format(q).startswith(q + "\n")


def test_chat_template_renders_question_and_instruction_as_user_turn() -> None:
    text = get_template("qwen-cot-chat").format("What is 2+3?", tiny_tokenizer(CHATML))
    assert text == ("<|im_start|>user\nWhat is 2+3?\n" + COT_INSTRUCTION + "<|im_end|>\n"
                    "<|im_start|>assistant\n")


def test_chat_template_needs_a_tokenizer_with_one() -> None:
    with pytest.raises(UserInputError, match="has none"):
        get_template("qwen-cot-chat").format("q", tiny_tokenizer(None))
    with pytest.raises(UserInputError, match="needs the model's tokenizer"):
        get_template("qwen-cot-chat").format("q")


def test_qwen25_math_cot_puts_the_instruction_in_the_system_turn() -> None:
    text = get_template("qwen25-math-cot").format("Q?")
    assert text.startswith("<|im_start|>system\n" + COT_INSTRUCTION + "<|im_end|>")
    assert text.endswith("<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n")


def test_registry_of_templates() -> None:
    with pytest.raises(UserInputError, match="unknown prompt template"):
        get_template("no-such-template")
    with pytest.raises(ValueError, match="twice"):
        register_template(PromptTemplate(name="qwen-cot"))
    name = "test-only-template"
    if name not in template_names():
        register_template(PromptTemplate(name=name, text="Q: {question}\nA:", stop=("\nQ:",)))
    assert get_template(name).format("x") == "Q: x\nA:"
    assert {"qwen-cot", "qwen-cot-chat"} <= set(template_names())
