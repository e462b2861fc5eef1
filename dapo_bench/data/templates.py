"""Prompt templates: how a question becomes the text a model continues, and where it stops.

The math templates reproduce the Qwen2.5-Math evaluation toolkit's zero-shot CoT prompt
("Please reason step by step, and put your final answer within \\boxed{}."), either as plain
text (base models) or as a user message through the model's own chat template (instruct
models). A recipe names its template; other modules add theirs with :func:`register_template`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dapo_bench.errors import UserInputError

COT_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
# The Qwen toolkit's stop words for these prompts, plus Llama 3's end-of-turn token.
DEFAULT_STOP = ("</s>", "<|im_end|>", "<|endoftext|>", "<|eot_id|>")


@dataclass(frozen=True)
class PromptTemplate:
    """``text`` holds ``{question}`` (replaced literally: braces in questions stay as they are).

    With ``uses_chat_template`` the filled text becomes one user message (after ``system``,
    when set) rendered by ``tokenizer.apply_chat_template(..., add_generation_prompt=True)``.
    """

    name: str
    text: str = "{question}"
    stop: tuple[str, ...] = DEFAULT_STOP
    uses_chat_template: bool = False
    system: str | None = None
    description: str = ""

    def format(self, question: str, tokenizer: Any = None) -> str:
        content = self.text.replace("{question}", question)
        if not self.uses_chat_template:
            return content
        if tokenizer is None:
            raise UserInputError(f"prompt template {self.name!r} needs the model's tokenizer "
                                 "(it renders the model's chat template)")
        if not getattr(tokenizer, "chat_template", None):
            raise UserInputError(
                f"prompt template {self.name!r} uses the model's chat template, but the "
                f"tokenizer {getattr(tokenizer, 'name_or_path', '')!r} has none; use a plain "
                "template such as 'qwen-cot'")
        messages = ([{"role": "system", "content": self.system}] if self.system else [])
        messages.append({"role": "user", "content": content})
        return str(tokenizer.apply_chat_template(messages, tokenize=False,
                                                 add_generation_prompt=True))


TEMPLATES: dict[str, PromptTemplate] = {}


def register_template(template: PromptTemplate) -> PromptTemplate:
    if template.name in TEMPLATES:
        raise ValueError(f"prompt template {template.name!r} registered twice")
    TEMPLATES[template.name] = template
    return template


def _load_registering_modules() -> None:
    """Benchmark modules and plug-ins register their own templates: import them on demand."""
    from dapo_bench.data.registry import _ensure_loaded

    _ensure_loaded()


def get_template(name: str) -> PromptTemplate:
    if name not in TEMPLATES:
        _load_registering_modules()
    if name not in TEMPLATES:
        known = ", ".join(sorted(TEMPLATES))
        raise UserInputError(f"unknown prompt template {name!r}; registered: {known}")
    return TEMPLATES[name]


def template_names() -> list[str]:
    _load_registering_modules()
    return sorted(TEMPLATES)


register_template(PromptTemplate(
    name="qwen-cot", text="{question}\n" + COT_INSTRUCTION,
    description="Qwen2.5-Math zero-shot CoT as plain text (the toolkit's plain CoT format)"))
register_template(PromptTemplate(
    name="qwen-cot-chat", text="{question}\n" + COT_INSTRUCTION, uses_chat_template=True,
    description="the same prompt as one user message in the model's chat template "
                "(the toolkit's --apply_chat_template)"))
register_template(PromptTemplate(
    name="qwen25-math-cot",
    text=("<|im_start|>system\n" + COT_INSTRUCTION + "<|im_end|>\n<|im_start|>user\n"
          "{question}<|im_end|>\n<|im_start|>assistant\n"),
    description="the toolkit's qwen25-math-cot: the instruction as the system turn, written "
                "out in Qwen's chat markup (for Qwen2.5-Math-Instruct without a tokenizer)"))
register_template(PromptTemplate(
    name="qwen-boxed",
    text=("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
          "{question}\n" + COT_INSTRUCTION + "<|im_end|>\n<|im_start|>assistant\n"),
    description="the toolkit's qwen-boxed (its prompt for Qwen2-Math-Instruct): the default "
                "system turn, the CoT instruction after the question"))
#: Skywork-o1-Open-Llama-3.1-8B's system prompt, as its model card gives it.
SKYWORK_O1_SYSTEM = (
    "You are Skywork-o1, a thinking model developed by Skywork AI, specializing in solving "
    "complex problems involving mathematics, coding, and logical reasoning through deep "
    "thought. When faced with a user's request, you first engage in a lengthy and in-depth "
    "thinking process to explore possible solutions to the problem. After completing your "
    "thoughts, you then provide a detailed explanation of the solution process in your "
    "response.")
register_template(PromptTemplate(
    name="skywork-o1", text="{question}\n" + COT_INSTRUCTION, uses_chat_template=True,
    system=SKYWORK_O1_SYSTEM,
    description="CoT as a user message in the model's chat template after Skywork-o1's own "
                "system prompt"))
