"""The fetch manifest beside fetched data, and the data record each result's provenance keeps.

``<data dir>/fetch-manifest.json`` records, per layout file, where it came from, the revision the
fetch actually got (a hub dataset's ``main`` moves), its sha256 and rows, and when. It is
rewritten atomically after every file, so a crash never loses the record of a finished file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from dapo_bench.jsonio import atomic_write_json, read_json

MANIFEST_NAME = "fetch-manifest.json"
MANIFEST_VERSION = 1


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(data_dir: Path) -> dict[str, dict[str, Any]]:
    """Records by layout path (``gsm8k/test.jsonl``); empty when there is no manifest."""
    path = data_dir / MANIFEST_NAME
    if not path.is_file():
        return {}
    data = read_json(path)
    files = data.get("files") if isinstance(data, dict) else None
    return dict(files) if isinstance(files, dict) else {}


def write_record(data_dir: Path, dest: str, record: dict[str, Any]) -> None:
    files = read_manifest(data_dir)
    files[dest] = record
    atomic_write_json(data_dir / MANIFEST_NAME,
                      {"version": MANIFEST_VERSION, "files": dict(sorted(files.items()))})


def _root_of(path: Path, data_dir: Path | None) -> Path | None:
    """The data directory ``path`` belongs to: the given one, else the nearest folder above it
    holding a fetch manifest."""
    if data_dir is not None and path.resolve().is_relative_to(Path(data_dir).resolve()):
        return Path(data_dir).resolve()
    for parent in list(path.resolve().parents)[:2]:
        if (parent / MANIFEST_NAME).is_file():
            return parent
    return None


def data_record(path: Path, data_dir: Path | None = None) -> dict[str, Any]:
    """What a result's provenance says about its data file: the path relative to the data
    directory, its sha256, and, when a fetch wrote it, the fetch's source and revision."""
    root = _root_of(path, data_dir)
    rel = path.resolve().relative_to(root).as_posix() if root is not None else path.name
    record: dict[str, Any] = {"path": rel, "sha256": sha256_of(path)}
    fetched = read_manifest(root).get(rel) if root is not None else None
    if fetched is not None:
        if fetched.get("sha256") == record["sha256"]:
            record.update({k: fetched[k] for k in ("source", "revision", "fetched_at", "method")
                           if k in fetched})
        else:
            record["note"] = f"differs from the {MANIFEST_NAME} record (sha256 " \
                             f"{str(fetched.get('sha256'))[:12]}...)"
    return record
