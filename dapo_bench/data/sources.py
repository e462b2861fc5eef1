"""The pinned public sources of every benchmark and training set, as data.

Each :class:`SourceFile` says where one file of the data-directory layout comes from and how to
check it: a plain HTTPS file at a git commit (``url``), one file of a hub repository
(``hub_file``) or a hub dataset split turned into JSONL (``hub_dataset``). Values of sha256 and
rows are the published files' own (see ``shared/data/MANIFEST.md``); ``None`` means the source
publishes nothing to pin, and the fetch records what it got instead.

``download_sha256`` is the hash of the bytes downloaded; ``sha256`` the hash of the file written
into the layout (the same bytes unless the download is gzipped or a JSON array).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from dapo_bench.errors import UserInputError

#: Base URL of the plain-HTTPS sources; a mirror serves ``<base>/<repo>/<commit>/<path>``.
MIRROR_ENV = "DAPO_BENCH_DATA_MIRROR"
GITHUB_RAW = "https://raw.githubusercontent.com"

QWEN_MATH = ("QwenLM/Qwen2.5-Math", "a45202bd16f1ec06f433442dc1152d0074773465")
HUMAN_EVAL = ("openai/human-eval", "6d43fb980f9fee3c892a914eda09951f772ad10d")
HUMANEVAL_PLUS = ("evalplus/humanevalplus_release", "200defce9e3429d28ca215b6dd061c0f7f31c18b")
MBPP_PLUS = ("evalplus/mbppplus_release", "dadf43da556a00f7bacd71cb154f2932757d9144")
SANITIZED_MBPP = ("mrigankpawagi/PropertyEval", "b2be813dcff867cc350c61b8d3ea57ec088ce1ac")


@dataclass(frozen=True)
class SourceFile:
    """One file of the layout (``<data dir>/<dest>``) and its public origin."""

    benchmark: str
    dest: str  # relative to the data directory: "<folder>/<file>"
    kind: Literal["url", "hub_file", "hub_dataset"]
    repo: str  # GitHub owner/name (url) or hub repo id
    path: str  # file inside the repo; hub_dataset: glob pattern(s) of the split's files, "|"
    revision: str | None = None  # git commit; None: the hub's current main (recorded)
    download_sha256: str | None = None
    sha256: str | None = None
    rows: int | None = None
    transform: Literal["none", "gunzip", "json_array", "table"] = "none"
    config: str | None = None  # hub_dataset: informational (which config the files are)
    columns: tuple[str, ...] = ()  # hub_dataset: columns kept (empty: all)

    @property
    def raw_name(self) -> str:
        """The downloaded file's own name (what ``--from`` also accepts)."""
        return self.path.rsplit("/", 1)[-1]

    def url(self) -> str:
        base = (os.environ.get(MIRROR_ENV) or GITHUB_RAW).rstrip("/")
        return f"{base}/{self.repo}/{self.revision}/{self.path}"

    def location(self) -> str:
        """Where the file comes from, in one string (errors and the fetch manifest)."""
        if self.kind == "url":
            return self.url()
        rev = self.revision or "main"
        return f"hf://datasets/{self.repo}@{rev}/{self.path}"


def _qwen(benchmark: str, folder: str, sha: str, rows: int) -> SourceFile:
    return SourceFile(benchmark, f"{folder}/test.jsonl", "url", QWEN_MATH[0],
                      f"evaluation/data/{folder}/test.jsonl", QWEN_MATH[1],
                      download_sha256=sha, sha256=sha, rows=rows)


def _lcb(name: str) -> SourceFile:
    """One file of LiveCodeBench's hub release files; the release tags name no commit, so the
    revision got is recorded."""
    return SourceFile("livecodebench", f"livecodebench/{name}", "hub_file",
                      "livecodebench/code_generation_lite", name)


_MATH_COLUMNS = ("problem", "level", "type", "solution")
_TACO_COLUMNS = ("question", "starter_code", "input_output", "difficulty", "source", "name",
                 "url", "time_limit", "memory_limit", "skill_types", "tags")

#: Every pinned file, in fetch order.
CATALOGUE: tuple[SourceFile, ...] = (
    SourceFile("math", "math/test.jsonl", "hub_dataset", "DigitalLearningGmbH/MATH-lighteval",
               "data/test-*.parquet", rows=5000, transform="table", config="default",
               columns=_MATH_COLUMNS),
    SourceFile("math_train", "math/train.jsonl", "hub_dataset",
               "DigitalLearningGmbH/MATH-lighteval", "data/train-*.parquet", rows=7500,
               transform="table", config="default", columns=_MATH_COLUMNS),
    SourceFile("gsm8k", "gsm8k/test.jsonl", "hub_dataset", "openai/gsm8k",
               "main/test-*.parquet", rows=1319, transform="table", config="main",
               columns=("question", "answer")),
    _qwen("minerva_math", "minerva_math",
          "0e656b430d3a0a1dab6aa853f453ba3805e28e2cabe4fc72486a897cc09d8ba2", 272),
    _qwen("olympiadbench", "olympiadbench",
          "bb8c1e38a16ea9eacb77530315a674d883f267fbff79183effc53681b4fcc416", 675),
    _qwen("college_math", "college_math",
          "91131bc4a355b884fc63ef7c4f048c35adb030004a4cb07b1475698f120aa4a6", 2818),
    SourceFile("math500", "math500/test.jsonl", "hub_file", "HuggingFaceH4/MATH-500",
               "test.jsonl", rows=500),
    SourceFile("humaneval", "humaneval/HumanEval.jsonl", "url", HUMAN_EVAL[0],
               "data/HumanEval.jsonl.gz", HUMAN_EVAL[1],
               download_sha256="b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef",
               sha256="1d49078ba3e2b196b9344535bef34a43021f038fad9561d6ee7c53450609a6a2",
               rows=164, transform="gunzip"),
    SourceFile("humaneval_plus", "humaneval_plus/HumanEvalPlus-v0.1.10.jsonl", "url",
               HUMANEVAL_PLUS[0], "HumanEvalPlus.jsonl.gz", HUMANEVAL_PLUS[1],
               download_sha256="272720b90ac375502c8ed23cd791c2a93dfb22a911641a494da74a426c09f101",
               sha256="42526ec0e7d5f3ee0b06d6ced98f8c8bae3d76519151bfb3d36f79010645bd7f",
               rows=164, transform="gunzip"),
    SourceFile("mbpp", "mbpp/sanitized-mbpp.jsonl", "url", SANITIZED_MBPP[0],
               "sanitized-mbpp.json", SANITIZED_MBPP[1],
               download_sha256="8ac32b2799150228e2d745aed09c870b7e4444246d4727d1004576207ef40769",
               rows=427, transform="json_array"),
    SourceFile("mbpp_plus", "mbpp_plus/MbppPlus-v0.2.0.jsonl", "url", MBPP_PLUS[0],
               "MbppPlus.jsonl.gz", MBPP_PLUS[1],
               download_sha256="af43697e8791c4c149bdfd6b489d8b5412507551ac20e28a439f650b8225db63",
               sha256="b54e762755248ca411b523c917fa9f93c07b5ff2966bf60b3917b853926a3dad",
               rows=378, transform="gunzip"),
    *(_lcb("test.jsonl" if n == 1 else f"test{n}.jsonl") for n in range(1, 7)),
    SourceFile("taco", "taco/train.jsonl", "hub_dataset", "BAAI/TACO",
               "train/*.arrow|data/train-*.parquet",
               rows=25443, transform="table", columns=_TACO_COLUMNS),
)

MATH_TARGET = ("math", "math_train", "gsm8k", "minerva_math", "olympiadbench", "college_math")
CODE_TARGET = ("humaneval", "humaneval_plus", "mbpp", "mbpp_plus", "livecodebench", "taco")
#: The benchmarks and training sets each paper table's recipes read.
TARGETS: dict[str, tuple[str, ...]] = {
    "table1": MATH_TARGET,
    "table2": CODE_TARGET,
    "table3": MATH_TARGET,
}


def catalogued() -> list[str]:
    return list(dict.fromkeys(s.benchmark for s in CATALOGUE))


TARGETS["all"] = tuple(catalogued())


def resolve_names(spec: str) -> list[str]:
    """``all``, ``table1``..``table3`` or comma-separated benchmark names, in catalogue order;
    an unknown name is one clear error."""
    known = catalogued()
    wanted: list[str] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if part in TARGETS:
            wanted += TARGETS[part]
        elif part in known:
            wanted.append(part)
        else:
            raise UserInputError(
                f"unknown benchmark {part!r} for --benchmarks; use all, "
                f"{', '.join(t for t in TARGETS if t != 'all')} or: {', '.join(known)}")
    if not wanted:
        raise UserInputError("--benchmarks names nothing")
    return [b for b in known if b in wanted]


def files_for(names: list[str], lcb_release: str | None = None) -> list[SourceFile]:
    """The files ``names`` need; LiveCodeBench's are those of the release
    ``$DAPO_BENCH_LCB_RELEASE`` picks (as its loader does)."""
    from dapo_bench.data.code_benchmarks import LCB_DEFAULT_RELEASE, LCB_RELEASE_ENV
    from dapo_bench.data.code_formats import lcb_release_files

    release = lcb_release or os.environ.get(LCB_RELEASE_ENV) or LCB_DEFAULT_RELEASE
    chosen = []
    for source in CATALOGUE:
        if source.benchmark not in names:
            continue
        if source.benchmark == "livecodebench":
            if source.raw_name == "test.jsonl":  # the release's files, in their place
                chosen += [_lcb(name) for name in lcb_release_files(release)]
            continue
        chosen.append(source)
    return chosen
