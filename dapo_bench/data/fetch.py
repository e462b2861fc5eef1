"""Download (or import) the pinned sources into a data directory, verified and atomically.

Per file: obtain the raw bytes (plain HTTPS through ``requests``, which honours ``HTTPS_PROXY``;
hub files through ``huggingface_hub``, which honours ``HF_TOKEN``, its cache, ``HF_ENDPOINT``
and ``HF_HUB_OFFLINE``), check the download's sha256, convert into a temporary file beside the
destination, check its rows and sha256, then ``os.replace`` it into place and record it in the
fetch manifest. A file is therefore either whole and verified or absent. A file already in
place is verified, not downloaded again. One file failing does not stop the others, and never
touches what is already there.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Literal

from dapo_bench.data import convert
from dapo_bench.data.manifest import read_manifest, sha256_of, write_record
from dapo_bench.data.sources import SourceFile
from dapo_bench.errors import UserInputError

#: ``bar(label, total_bytes)`` -> a context whose value advances the bar by n bytes.
ProgressFactory = Callable[[str, int | None], AbstractContextManager[Callable[[int], None]]]
Status = Literal["fetched", "imported", "present", "failed"]
_OFFLINE_HINT = ("without network, download the files elsewhere and pass --from DIR "
                 "(see `dapo-bench data fetch --help`)")
TIMEOUT_S = (10.0, 60.0)  # connect, read


class FetchError(UserInputError):
    """One file could not be fetched or verified; the message names file, values and source."""


@dataclass
class Outcome:
    source: SourceFile
    status: Status
    message: str = ""
    record: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Raw:
    """What was obtained: local file(s), the revision got, whether the bytes came from afar."""

    paths: list[Path]
    revision: str | None
    origin: str
    temporary: bool = False


@contextlib.contextmanager
def _no_bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    yield lambda n: None


LOCK_NAME = ".fetch.lock"


@contextlib.contextmanager
def writer_lock(out: Path) -> Iterator[None]:
    """One fetch writes a data directory at a time (the manifest is read-modify-write); a
    second is refused with the holder named. The OS drops the lock when its process dies."""
    import fcntl

    out.mkdir(parents=True, exist_ok=True)
    with (out / LOCK_NAME).open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise UserInputError(f"{out} is being written by another `dapo-bench data fetch` "
                                 f"({holder}); wait for it to finish") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fetch(sources: list[SourceFile], out: Path, *, from_dir: Path | None = None,
          progress: ProgressFactory | None = None,
          say: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Fetch (or with ``from_dir`` import) every source into ``out``; one outcome each."""
    with writer_lock(out):
        return _fetch_all(sources, out, from_dir, progress, say)


def _fetch_all(sources: list[SourceFile], out: Path, from_dir: Path | None,
               progress: ProgressFactory | None,
               say: Callable[[Outcome], None] | None) -> list[Outcome]:
    imported = read_manifest(from_dir) if from_dir is not None else {}
    session = None
    outcomes = []
    for source in sources:
        try:
            outcome = _present(source, out)
            if outcome is None:
                if from_dir is not None:
                    outcome = _import(source, out, from_dir, imported.get(source.dest))
                else:
                    if session is None and source.kind == "url":
                        session = _session()
                    outcome = _download(source, out, session, progress or _no_bar)
        except FetchError as exc:
            outcome = Outcome(source, "failed", str(exc))
        outcomes.append(outcome)
        if say is not None:
            say(outcome)
    return outcomes


# ------------------------------------------------------------------------------ in place


def _present(source: SourceFile, out: Path) -> Outcome | None:
    """A destination already there: verified against the pin, else the manifest's record, else
    its rows. None when absent. A file that fails is left alone (it may be the user's)."""
    dest = out / source.dest
    if not dest.is_file():
        return None
    record = read_manifest(out).get(source.dest)
    actual = sha256_of(dest)
    expected = source.sha256 or (record or {}).get("sha256")
    if expected is not None and actual != expected:
        raise FetchError(f"{dest}: sha256 mismatch: expected {expected}, got {actual} "
                         f"(source {source.location()}); move the file away to fetch it again")
    if expected is None:
        try:
            rows = _rows(dest, source)
        except FetchError as exc:
            raise FetchError(f"{exc}; it was already in {out}: move it away to fetch it again"
                             ) from None
        record = _record(source, source.revision, actual, rows, "found in place",
                         source.location())
        write_record(out, source.dest, record)
    elif record is None:
        record = _record(source, source.revision, actual, source.rows, "found in place",
                         source.location())
        write_record(out, source.dest, record)
    return Outcome(source, "present", "verified", record)


# ------------------------------------------------------------------------------ obtaining


def _session() -> Any:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    session = requests.Session()  # trust_env: HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE
    retry = Retry(total=2, connect=1, backoff_factor=0.5,
                  status_forcelist=(429, 500, 502, 503, 504), allowed_methods=("GET",))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


def _get_url(source: SourceFile, folder: Path, session: Any,
             progress: ProgressFactory) -> _Raw:
    import requests

    url = source.url()
    fd, tmp = tempfile.mkstemp(prefix=f".{source.raw_name}.", suffix=".part", dir=folder)
    response = None
    try:
        with os.fdopen(fd, "wb") as handle:
            response = session.get(url, stream=True, timeout=TIMEOUT_S)
            with response:
                if response.status_code != 200:
                    raise FetchError(f"{source.dest}: HTTP {response.status_code} from {url}")
                total = response.headers.get("Content-Length")
                with progress(source.dest, int(total) if total else None) as advance:
                    for block in response.iter_content(1 << 16):
                        handle.write(block)
                        advance(len(block))
    except requests.RequestException as exc:
        Path(tmp).unlink(missing_ok=True)
        if response is None and isinstance(exc, requests.ConnectionError):
            raise FetchError(f"{source.dest}: cannot reach {url} ({type(exc).__name__}); "
                             f"{_OFFLINE_HINT}") from None
        raise FetchError(f"{source.dest}: download from {url} was cut off "
                         f"({type(exc).__name__}); nothing kept, run the command again") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return _Raw([Path(tmp)], source.revision, url, temporary=True)


def _snapshot_revision(local: Path, inside: str) -> str:
    """The commit a hub cache path belongs to: ``.../snapshots/<commit>/<inside>``."""
    base = local
    for _ in Path(inside).parts:
        base = base.parent
    return base.name


def _get_hub(source: SourceFile) -> _Raw:
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    where = source.location()
    try:
        if source.kind == "hub_file":
            local = Path(huggingface_hub.hf_hub_download(
                source.repo, source.path, repo_type="dataset", revision=source.revision))
            return _Raw([local], _snapshot_revision(local, source.path), where)
        patterns = source.path.split("|")
        folder = Path(huggingface_hub.snapshot_download(
            source.repo, repo_type="dataset", revision=source.revision,
            allow_patterns=patterns))
    except Exception as exc:  # offline, auth, missing repo or file: one clear line
        name = type(exc).__name__
        offline = isinstance(exc, LocalEntryNotFoundError) or "Offline" in name or \
            "Connect" in name
        hint = _OFFLINE_HINT if offline else "check the repository, HF_TOKEN and HF_ENDPOINT"
        raise FetchError(f"{source.dest}: cannot get {where} ({name}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}); {hint}") from None
    shards = sorted({p for pattern in patterns for p in folder.glob(pattern) if p.is_file()})
    if not shards:
        raise FetchError(f"{source.dest}: {where} has no file matching {source.path!r}")
    return _Raw(shards, folder.name, where)


def _download(source: SourceFile, out: Path, session: Any,
              progress: ProgressFactory) -> Outcome:
    dest = out / source.dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    raw = _get_url(source, dest.parent, session, progress) if source.kind == "url" \
        else _get_hub(source)
    try:
        record = _install(source, raw, out, method="download")
    finally:
        if raw.temporary:
            for p in raw.paths:
                p.unlink(missing_ok=True)
    return Outcome(source, "fetched", f"{record['rows']} rows", record)


def _import(source: SourceFile, out: Path, from_dir: Path,
            prior: dict[str, Any] | None) -> Outcome:
    """A file from ``from_dir``: the layout file itself, or the raw download by its name."""
    folder = source.dest.split("/", 1)[0]
    layout = from_dir / source.dest
    raws = list(dict.fromkeys([from_dir / source.raw_name, from_dir / folder / source.raw_name]
                              )) if source.kind != "hub_dataset" else []
    raws = [p for p in raws if p != layout]
    (out / source.dest).parent.mkdir(parents=True, exist_ok=True)
    if layout.is_file():
        pinned = source.sha256 or (prior or {}).get("sha256")
        revision = source.revision or (prior or {}).get("revision")
        layout_source = replace(source, transform="none", download_sha256=pinned,
                                revision=revision)
        record = _install(layout_source, _Raw([layout], revision, str(layout)), out,
                          method="import")
    else:
        found = next((p for p in raws if p.is_file()), None)
        if found is None:
            looked = ", ".join(str(p) for p in [layout, *raws])
            raise FetchError(f"{source.dest}: not in --from {from_dir} (looked for {looked})")
        record = _install(source, _Raw([found], source.revision, str(found)), out,
                          method="import")
    return Outcome(source, "imported", f"{record['rows']} rows", record)


# ------------------------------------------------------------------------------ installing


def _install(source: SourceFile, raw: _Raw, out: Path, method: str) -> dict[str, Any]:
    """Verify ``raw``, convert it into a temp file beside the destination, verify that, rename
    it into place, record it. Raises FetchError with nothing left behind."""
    if source.download_sha256 is not None and len(raw.paths) == 1:
        got = sha256_of(raw.paths[0])
        if got != source.download_sha256:
            raise FetchError(f"{source.raw_name}: sha256 mismatch: expected "
                             f"{source.download_sha256}, got {got} (source {raw.origin})")
    dest = out / source.dest
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            _convert(source, raw.paths, handle)
            handle.flush()
            os.fsync(handle.fileno())
        actual = sha256_of(Path(tmp))
        if source.sha256 is not None and actual != source.sha256:
            raise FetchError(f"{source.dest}: sha256 mismatch: expected {source.sha256}, got "
                             f"{actual} (source {raw.origin})")
        rows = _rows(Path(tmp), source, origin=raw.origin)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    record = _record(source, raw.revision, actual, rows, method, source.location())
    if method == "import":
        record["imported_from"] = raw.origin
    write_record(out, source.dest, record)
    return record


def _convert(source: SourceFile, paths: list[Path], handle: IO[bytes]) -> None:
    try:
        if source.transform == "gunzip":
            convert.gunzip_to(paths[0], handle)
        elif source.transform == "json_array":
            convert.json_array_to(paths[0], handle)
        elif source.transform == "table":
            convert.table_to(paths, handle, source.columns)
        else:
            convert.copy_to(paths[0], handle)
    except convert.ConvertError as exc:
        raise FetchError(f"{source.raw_name}: {exc} (source {source.location()})") from None


def _rows(path: Path, source: SourceFile, origin: str | None = None) -> int:
    try:
        rows = convert.count_jsonl(path)
    except convert.ConvertError as exc:
        raise FetchError(f"{source.dest}: truncated or corrupt, {exc} "
                         f"(source {origin or source.location()})") from None
    if source.rows is not None and rows != source.rows:
        raise FetchError(f"{source.dest}: {rows} rows, expected {source.rows} "
                         f"(source {origin or source.location()})")
    return rows


def _record(source: SourceFile, revision: str | None, sha: str, rows: int | None, method: str,
            origin: str) -> dict[str, Any]:
    return {"benchmark": source.benchmark, "source": origin, "kind": source.kind,
            "revision": revision, "pinned_revision": source.revision, "sha256": sha,
            "rows": rows, "method": method,
            "fetched_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}


def digest(data: bytes) -> str:
    """sha256 of bytes (for building catalogues and test fixtures)."""
    return hashlib.sha256(data).hexdigest()
