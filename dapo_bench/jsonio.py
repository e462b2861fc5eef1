"""JSON and JSONL files that survive crashes.

Whole files are written to a temporary sibling and renamed into place, so a reader sees either
the old file or the new one, never half of one. Append-only JSONL logs are written one complete
line at a time and flushed; a reader ignores a torn last line (a crash mid-append) but rejects a
malformed line anywhere else with the file and line number.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from dapo_bench.errors import DataError


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same directory, fsync, rename)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def atomic_write_jsonl(path: str | os.PathLike[str], rows: Iterable[Any]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def read_json(path: str | os.PathLike[str]) -> Any:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DataError(p, "file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(p, f"unreadable: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(p, f"invalid JSON: {exc.msg} (column {exc.colno})",
                        line=exc.lineno) from exc


def iter_jsonl(path: str | os.PathLike[str], *, tolerate_torn_tail: bool = False
               ) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line.

    With ``tolerate_torn_tail`` a final line without a newline that fails to parse is skipped:
    it is the trace of a crash during an append, and the item it held is simply redone. A
    ``.gz`` file is read through gzip (results stored in a repository keep their samples packed).
    """
    p = Path(path)
    try:
        handle = (gzip.open(p, "rt", encoding="utf-8") if p.suffix == ".gz"  # noqa: SIM115
                  else p.open("r", encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(p, "file not found") from exc
    with handle:
        try:
            yield from _parse_lines(p, handle, tolerate_torn_tail)
        except (OSError, EOFError) as exc:  # a corrupt or truncated gzip stream
            raise DataError(p, f"unreadable: {exc}") from exc


def _parse_lines(p: Path, handle: Iterable[str], tolerate_torn_tail: bool
                 ) -> Iterator[tuple[int, dict[str, Any]]]:
    for lineno, raw in enumerate(handle, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            if tolerate_torn_tail and not raw.endswith("\n"):
                return
            raise DataError(p, f"invalid JSON: {exc.msg} (column {exc.colno})",
                            line=lineno) from exc
        if not isinstance(obj, dict):
            raise DataError(p, f"expected a JSON object, got {type(obj).__name__}",
                            line=lineno)
        yield lineno, obj


def read_jsonl(path: str | os.PathLike[str], *, tolerate_torn_tail: bool = False
               ) -> list[dict[str, Any]]:
    return [obj for _, obj in iter_jsonl(path, tolerate_torn_tail=tolerate_torn_tail)]


class JsonlAppender:
    """Append records to a JSONL log, one whole line per write, flushed to the OS at once.

    Opening it first truncates a torn last line left by a crash, so later appends start on a
    line boundary.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _truncate_torn_tail(self.path)
        self._handle = self.path.open("a", encoding="utf-8")
        self._fsync = fsync

    def write(self, record: Any) -> None:
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()
        if self._fsync:
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _truncate_torn_tail(path: Path) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as handle:
        data = handle.read()
        if data.endswith(b"\n"):
            return
        handle.truncate(data.rfind(b"\n") + 1)
