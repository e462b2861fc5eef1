"""The documentation cannot drift from the code: the site builds in strict mode (a broken link
or bad reference fails it), every `dapo-bench ...` line the docs show names a real command and
only options it has, and every shell block of the quickstart runs."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from dapo_bench.cli import main

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


def _mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f",
                           str(config), "-d", str(site)], capture_output=True, text=True,
                          cwd=config.parent, env=env)


# --- (a) the site builds, strictly ---------------------------------------------------------


@pytest.mark.slow
def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    done = _mkdocs_build(REPO / "mkdocs.yml", tmp_path / "site")
    assert done.returncode == 0, done.stderr[-4000:]
    cli_page = (tmp_path / "site" / "cli" / "index.html").read_text()
    # the generated reference holds every subcommand, so it follows the code
    for name in ("reproduce", "eval", "check", "lm-eval", "--tokens-per-second"):
        assert name in cli_page, name
    # mkdocs-click's table style prints click 8.3's UNSET sentinel as a default: plain style
    assert "Sentinel" not in cli_page and "&lt;root&gt;/&lt;model&gt;" in cli_page
    api_page = (tmp_path / "site" / "api" / "grading-math" / "index.html").read_text()
    assert "grade_many" in api_page


@pytest.mark.slow
def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    shutil.copytree(DOCS, tmp_path / "docs")
    config = (REPO / "mkdocs.yml").read_text()
    assert "paths: [.]" in config
    (tmp_path / "mkdocs.yml").write_text(config.replace("paths: [.]", f"paths: ['{REPO}']"))
    page = tmp_path / "docs" / "toy.md"
    page.write_text(page.read_text() + "\nSee [the missing page](no-such-page.md).\n")
    done = _mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert done.returncode != 0
    assert "no-such-page.md" in done.stderr + done.stdout


# --- (b) every command line shown exists in the CLI ----------------------------------------

_SHELL_LANGS = {"", "bash", "sh", "shell", "console", "yaml"}  # yaml: CI jobs' run: lines
_CMD = re.compile(r"(?:^|[\s;&(`$])(?:dapo-bench|-m dapo_bench)\s+(.*)")
_OPT = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
_CUT = re.compile(r"\s(?:&&|\|\||;|>|2>|#)\s")


@dataclass(frozen=True)
class Shown:
    """One `dapo-bench ...` command line as a page shows it."""

    where: str
    line: str


def _code_lines(text: str) -> list[list[str]]:
    """The lines of each shell code block: fenced (shell languages only, not output) and
    indented; plus each inline code span, as a one-line block."""
    blocks: list[list[str]] = []
    prose: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^\s*(```+|~~~+)\s*([\w-]*)", lines[i])
        if fence:
            end = i + 1
            while end < len(lines) and not lines[end].strip().startswith(fence.group(1)):
                end += 1
            if fence.group(2).lower() in _SHELL_LANGS:
                blocks.append(lines[i + 1:end])
            i = end + 1
            continue
        if lines[i].startswith("    ") and (i == 0 or not lines[i - 1].strip()):
            end = i
            while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
                end += 1
            blocks.append([line[4:] for line in lines[i:end]])
            i = end
            continue
        prose.append(lines[i])
        i += 1
    # inline spans may wrap across lines of a paragraph
    blocks.extend([span] for span in re.findall(r"`([^`]+)`", " ".join(prose)))
    return blocks


def _logical_lines(block: list[str]) -> list[str]:
    """Joins backslash continuations and synopsis continuations (lines starting `[` or `-`)."""
    out: list[str] = []
    for raw in block:
        line = raw.strip()
        if out and (out[-1].endswith("\\") or line.startswith(("[", "--"))):
            out[-1] = out[-1].rstrip("\\").rstrip() + " " + line
        elif line:
            out.append(line)
    return out


def shown_commands(text: str, where: str) -> list[Shown]:
    found = []
    for block in _code_lines(text):
        for line in _logical_lines(block):
            for match in _CMD.finditer(line):
                rest = _CUT.split(" " + match.group(1) + " ")[0].strip()
                # column-aligned text is a tool's output shown in a block, not a command
                if rest and not re.search(r"\S {3,}\S", rest):
                    found.append(Shown(where, rest))
    return found


def _options(cmd: click.Command) -> set[str]:
    names = {"--help", "-h"}
    for param in cmd.params:
        if isinstance(param, click.Option):
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def problems_of(shown: Shown, root: click.Group = main) -> list[str]:
    """What is wrong with one shown command line: an unknown subcommand or option."""
    cmd: click.Command = root
    path = ["dapo-bench"]
    problems = []
    for token in shown.line.replace("[", " ").replace("]", " ").split():
        if token in ("...", "…"):  # "dapo-bench ...": any command, elided
            continue
        option = _OPT.match(token)
        if option and token.startswith("-"):
            name = option.group(1)
            if name not in _options(cmd):
                problems.append(f"{shown.where}: `{' '.join(path)}` has no option {name} "
                                f"(in `dapo-bench {shown.line}`)")
            continue
        if isinstance(cmd, click.Group):
            sub = cmd.commands.get(token.strip("`'\","))
            if sub is None:
                problems.append(f"{shown.where}: `{' '.join(path)}` has no subcommand "
                                f"{token!r} (in `dapo-bench {shown.line}`)")
                return problems
            cmd = sub
            path.append(sub.name or token)
    return problems


def _documents() -> list[Path]:
    """Every page and the README (not part of the site)."""
    return [*sorted(DOCS.rglob("*.md")), REPO / "README.md"]


def test_every_command_the_docs_show_exists() -> None:
    shown = [s for doc in _documents()
             for s in shown_commands(doc.read_text(), str(doc.relative_to(REPO)))]
    assert len(shown) >= 60, len(shown)  # the extractor finds the commands at all
    named = {s.line.split()[0] for s in shown}
    assert {"eval", "reproduce", "check", "table", "train", "grade", "export"} <= named, named
    problems = [p for s in shown for p in problems_of(s)]
    assert not problems, "\n".join(problems)


def test_the_command_check_catches_a_wrong_option_and_command() -> None:
    text = ("Run\n\n    dapo-bench eval CKPT --limit 5 --no-such-flag\n\n"
            "```bash\ndapo-bench frobnicate --run x\n"
            "dapo-bench export lm-eval --out d \\\n    --tempalte qwen-cot\n```\n"
            "and `dapo-bench reproduce toy --smoke` works.\n")
    shown = shown_commands(text, "page.md")
    assert [s.line.split()[0] for s in shown] == ["eval", "frobnicate", "export", "reproduce"]
    problems = [p for s in shown for p in problems_of(s)]
    assert len(problems) == 3, problems
    assert "--no-such-flag" in problems[0]
    assert "'frobnicate'" in problems[1]
    assert "--tempalte" in problems[2] and "dapo-bench export lm-eval" in problems[2]


# --- (c) the quickstart runs -----------------------------------------------------------------


def quickstart_blocks(text: str) -> list[tuple[bool, str]]:
    """(runs, code) for each bash block; a block right after `<!-- not run: ... -->` is
    marked not to run."""
    blocks = []
    pattern = re.compile(r"(<!--\s*not run:[^>]*-->\s*\n)?```bash\n(.*?)```", re.S)
    for match in pattern.finditer(text):
        blocks.append((match.group(1) is None, match.group(2)))
    return blocks


@pytest.mark.slow
def test_every_quickstart_block_runs(tmp_path: Path) -> None:
    blocks = quickstart_blocks((DOCS / "quickstart.md").read_text())
    runnable = [code for runs, code in blocks if runs]
    assert len(runnable) >= 5 and len(blocks) - len(runnable) <= 5, blocks
    work = tmp_path / "work"
    for stored in ("toy-smoke", "paper"):  # what the blocks read from the checkout
        shutil.copytree(REPO / "results" / stored, work / "results" / stored)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    wrapper = bindir / "dapo-bench"  # the worktree's package, not an installed script
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m dapo_bench "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(REPO)}
    outputs = []
    for code in runnable:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=work, env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, (code, done.stdout[-2000:], done.stderr[-3000:])
        outputs.append(done.stdout + done.stderr)
    everything = "\n".join(outputs)
    assert "no regression in 10 comparison(s)" in everything
    assert (work / "runs" / "toy-smoke" / "results" / "report.md").is_file()
    assert (work / "runs" / "eval" / "toy-smoke-dapo" / "toy_arith.samples.jsonl").is_file()
    assert (work / "runs" / "plan" / "qwen2.5-math" / "plan.json").is_file()


def test_every_link_of_the_readme_exists() -> None:
    """The README is not part of the site, so strict mode does not see its links: every
    relative one must name a file of the checkout (and a page of the site when under docs/)."""
    text = (REPO / "README.md").read_text()
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if "://" not in link]
    assert len(local) >= 10, local
    missing = [link for link in local if not (REPO / link).exists()]
    assert not missing, missing
