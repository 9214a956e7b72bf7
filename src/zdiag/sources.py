"""Inputs as (name, bytes): plain files, directories (recursively) and archives read in memory.

Archive members are named ``archive!member``. Archives are opened in memory, never
extracted to disk; members whose names escape the archive (``..``, absolute paths), links
and devices are refused, and size/ratio limits stop decompression bombs. A problem with one
input becomes a Source carrying an ``error``: it never stops the others.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

#: Largest total of decompressed bytes one archive may yield.
MAX_ARCHIVE_BYTES = 4 * 1024**3
#: Largest decompressed/compressed ratio accepted for one member (bomb guard).
MAX_RATIO = 200
#: Members smaller than this are never judged by ratio (tiny files compress extremely well).
RATIO_FLOOR = 1024 * 1024


@dataclass
class Source:
    """One input stream: a display name, its bytes (read lazily), and an error if it has one."""

    name: str
    loader: Callable[[], bytes] | None = None
    size: int | None = None
    error: str | None = None
    path: Path | None = field(default=None, repr=False)
    #: True when a safety guard refused the input (path traversal, link, bomb, budget): a
    #: batch fails such a case as a whole instead of reading the rest of a hostile archive.
    refused: bool = False

    def read(self) -> bytes:
        if self.loader is None:
            return b""
        return self.loader()


_TRAVERSAL = "unsafe member name (path traversal) refused"


class ArchiveError(Exception):
    """An archive that cannot be read safely."""


def _archive_kind(name: str, head: bytes) -> str | None:
    low = name.lower()
    if head[:4] == b"PK\x03\x04" or low.endswith(".zip"):
        return "zip"
    if low.endswith((".tar.gz", ".tgz")):
        return "tar"
    if head[:2] == b"\x1f\x8b":
        return "gz"
    if low.endswith(".tar") or (len(head) >= 262 and head[257:262] == b"ustar"):
        return "tar"
    return None


def safe_member_name(name: str) -> bool:
    """False for names that would escape an extraction folder."""
    if not name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return False
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return ".." not in parts


_CHUNK = 1024 * 1024


def _bounded_read(stream, limit: int, label: str, packed: int | None = None) -> bytes:
    """Read at most ``limit`` bytes; with ``packed`` (the compressed size) also stop as soon
    as the ratio passes MAX_RATIO, so a bomb is refused after a few MB, not after ``limit``."""
    parts, size = [], 0
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            raise ArchiveError(f"{label}: more than {limit} bytes after decompression (bomb guard)")
        if packed is not None:
            _check_ratio(label, size, packed)
    return b"".join(parts)


def _check_ratio(label: str, size: int, packed: int) -> None:
    if size > RATIO_FLOOR and packed > 0 and size / packed > MAX_RATIO:
        raise ArchiveError(
            f"{label}: compression ratio {size / packed:.0f}:1 is over {MAX_RATIO}:1 (bomb guard)"
        )


def expand_archive(name: str, data: bytes, budget: int = MAX_ARCHIVE_BYTES) -> Iterator[Source]:
    """Yield the members of an in-memory archive as Sources named ``name!member``."""
    kind = _archive_kind(name, data[:512])
    if kind == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                label = f"{name}!{info.filename}"
                if not safe_member_name(info.filename):
                    yield Source(label, error=_TRAVERSAL, refused=True)
                    continue
                mode = info.external_attr >> 16
                if stat.S_IFMT(mode) not in (
                    0,
                    stat.S_IFREG,
                    stat.S_IFDIR,
                ):  # symlink, device, fifo
                    yield Source(label, error="link or device member refused", refused=True)
                    continue
                try:
                    _check_ratio(label, info.file_size, info.compress_size)
                    if info.file_size > budget:
                        raise ArchiveError(f"{label}: archive budget of {budget} bytes exceeded")
                    with zf.open(info) as fh:
                        blob = _bounded_read(fh, budget, label, max(info.compress_size, 1))
                except ArchiveError as exc:
                    yield Source(label, error=str(exc), refused=True)
                    continue
                except (zipfile.BadZipFile, OSError, EOFError) as exc:
                    yield Source(label, error=str(exc))
                    continue
                budget -= len(blob)
                yield from _maybe_nested(label, blob, budget)
    elif kind == "tar":
        try:
            tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
        except tarfile.TarError as exc:
            raise ArchiveError(f"{name}: not a readable tar archive ({exc})") from exc
        with tf:
            total = 0
            for info in tf:
                label = f"{name}!{info.name}"
                if info.isdir():
                    continue
                if not info.isfile():
                    yield Source(label, error="link or device member refused", refused=True)
                    continue
                if not safe_member_name(info.name):
                    yield Source(label, error=_TRAVERSAL, refused=True)
                    continue
                if info.size > budget:
                    yield Source(
                        label, error=f"archive budget of {budget} bytes exceeded", refused=True
                    )
                    continue
                try:
                    # a compressed tar is judged by its whole: unpacked so far / archive size
                    _check_ratio(label, total + info.size, len(data))
                except ArchiveError as exc:
                    yield Source(label, error=str(exc), refused=True)
                    continue
                fh = tf.extractfile(info)
                blob = fh.read() if fh else b""
                budget -= len(blob)
                total += len(blob)
                yield from _maybe_nested(label, blob, budget)
    elif kind == "gz":
        inner = name[:-3] if name.lower().endswith(".gz") else name + ".out"
        label = f"{name}!{PurePosixPath(inner).name}"
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
                blob = _bounded_read(gz, budget, label, len(data))
        except ArchiveError as exc:
            yield Source(label, error=str(exc), refused=True)
            return
        except (OSError, EOFError) as exc:
            yield Source(label, error=str(exc))
            return
        yield from _maybe_nested(label, blob, budget)
    else:  # pragma: no cover - callers check is_archive first
        yield Source(name, loader=lambda: data, size=len(data))


def _maybe_nested(label: str, blob: bytes, budget: int) -> Iterator[Source]:
    if is_archive(label, blob[:512]):
        try:
            yield from expand_archive(label, blob, budget)
        except (ArchiveError, zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
            yield Source(label, error=str(exc))
    else:
        yield Source(label, loader=lambda b=blob: b, size=len(blob))


def is_archive(name: str, head: bytes) -> bool:
    return _archive_kind(name, head) is not None and not (
        name.lower().endswith((".txt", ".log")) and head[:2] != b"\x1f\x8b" and head[:2] != b"PK"
    )


def _file_source(path: Path, display: str) -> Iterator[Source]:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        yield Source(display, error=f"cannot read: {exc.strerror or exc}")
        return
    if is_archive(display, head):
        try:
            yield from expand_archive(display, path.read_bytes())
        except (ArchiveError, zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
            yield Source(display, error=f"archive: {exc}")
        return
    yield Source(display, loader=path.read_bytes, size=size, path=path)


def iter_sources(paths: Iterable[str | os.PathLike]) -> Iterator[Source]:
    """Every input below ``paths``, in a stable (sorted) order."""
    for raw in paths:
        path = Path(raw)
        display = str(raw)
        if path.is_dir():
            for sub in sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink()):
                if any(part.startswith(".") for part in sub.relative_to(path).parts):
                    continue
                yield from _file_source(sub, str(sub))
        elif path.exists():
            yield from _file_source(path, display)
        else:
            yield Source(display, error="no such file or directory")
