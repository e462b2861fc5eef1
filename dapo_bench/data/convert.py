"""Turn downloaded files into the layout's JSONL: gunzip, a JSON array, or a hub dataset's
parquet/arrow shards. Every function writes to an open binary handle and returns the rows it
wrote; a torn or corrupt input raises :class:`ConvertError` with the reason."""

from __future__ import annotations

import gzip
import json
import shutil
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


class ConvertError(Exception):
    """A downloaded file cannot be read whole (truncated, corrupt, wrong format)."""


def count_jsonl(path: Path) -> int:
    """Rows of a JSONL file; every non-blank line must be a whole JSON object, so a file cut
    mid-line is caught here."""
    rows = 0
    with path.open("rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ConvertError(f"line {lineno} is not whole JSON ({exc})") from None
            if not isinstance(obj, dict):
                raise ConvertError(f"line {lineno} is not a JSON object")
            rows += 1
    return rows


def copy_to(raw: Path, out: IO[bytes]) -> None:
    with raw.open("rb") as handle:
        shutil.copyfileobj(handle, out, 1 << 20)


def gunzip_to(raw: Path, out: IO[bytes]) -> None:
    try:
        with gzip.open(raw, "rb") as handle:
            shutil.copyfileobj(handle, out, 1 << 20)
    except (EOFError, OSError, zlib.error) as exc:
        raise ConvertError(f"not a whole gzip file ({exc})") from None


def json_array_to(raw: Path, out: IO[bytes]) -> None:
    try:
        rows = json.loads(raw.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConvertError(f"not whole JSON ({exc})") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ConvertError("expected a JSON array of objects")
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")


def _batches(shard: Path) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    suffix = shard.suffix.lower()
    if suffix == ".parquet":
        yield from pq.ParquetFile(shard).iter_batches(batch_size=1024)
    elif suffix == ".arrow":  # datasets' save_to_disk writes the IPC stream format
        with shard.open("rb") as handle:
            try:
                reader = pa.ipc.open_stream(handle)
            except pa.ArrowInvalid:
                handle.seek(0)
                reader = pa.ipc.open_file(handle)
                for i in range(reader.num_record_batches):
                    yield reader.get_batch(i)
                return
            yield from reader
    else:
        raise ConvertError(f"{shard.name}: unsupported shard format {suffix!r}")


def table_to(shards: list[Path], out: IO[bytes], columns: tuple[str, ...] = ()) -> None:
    """Hub dataset shards (parquet or arrow, in order) as JSONL, keeping ``columns``."""
    import pyarrow as pa

    try:
        for shard in shards:
            if shard.suffix.lower() == ".jsonl":
                copy_to(shard, out)
                continue
            for batch in _batches(shard):
                keep = [c for c in columns if c in batch.schema.names] if columns else None
                for row in (batch.select(keep) if keep else batch).to_pylist():
                    out.write(json.dumps(row, ensure_ascii=False, default=str).encode() + b"\n")
    except (pa.ArrowException, OSError) as exc:
        raise ConvertError(f"unreadable dataset shard ({type(exc).__name__}: {exc})") from None
