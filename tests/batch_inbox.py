"""Builds batch inboxes from small real fixtures: good cases of every entry shape (file,
folder, zip, tar.gz, gz) and the broken ones (garbage, zip bomb, path traversal)."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
import zipfile
from pathlib import Path

from conftest import FIXTURES

#: Session reports the bundled kinds read (each has an expected pair, so it parses cleanly).
GOOD = sorted(
    p for p in (FIXTURES / "systcpda").glob("seed004_session_*.txt")
    if (p.parent / (p.name + ".expected.json")).exists()
) + [FIXTURES / "demo" / "session_detail_reset.txt"]  # fmt: skip

BROKEN = {
    "garbage.bin": "no readable input",
    "bomb.zip": "bomb guard",
    "traversal.zip": "path traversal",
}


def _zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)


def good_case(inbox: Path, i: int) -> Path:
    """The i-th good case; its shape cycles through file, folder, zip, tar.gz and gz."""
    a, b = GOOD[i % len(GOOD)], GOOD[(i + 1) % len(GOOD)]
    shape = i % 5
    if shape == 0:
        dest = inbox / f"case{i:02d}.txt"
        shutil.copyfile(a, dest)
    elif shape == 1:
        dest = inbox / f"case{i:02d}"
        dest.mkdir()
        shutil.copyfile(a, dest / a.name)
        (dest / "more").mkdir()
        shutil.copyfile(b, dest / "more" / b.name)
    elif shape == 2:
        dest = inbox / f"case{i:02d}.zip"
        _zip(dest, {a.name: a.read_bytes(), "sub/" + b.name: b.read_bytes()})
    elif shape == 3:
        dest = inbox / f"case{i:02d}.tar.gz"
        with tarfile.open(dest, "w:gz") as tf:
            data = a.read_bytes()
            info = tarfile.TarInfo(a.name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    else:
        dest = inbox / f"case{i:02d}.txt.gz"
        dest.write_bytes(gzip.compress(a.read_bytes()))
    return dest


def broken_cases(inbox: Path) -> None:
    (inbox / "garbage.bin").write_bytes(os.urandom(4096))
    # 16 MB of zeros packs into ~16 KB: a ratio near 1000:1, over the 200:1 limit
    _zip(inbox / "bomb.zip", {"big.txt": b"\0" * (16 * 1024 * 1024)})
    _zip(inbox / "traversal.zip", {"../../escape.txt": GOOD[0].read_bytes(),
                                   "ok.txt": GOOD[1].read_bytes()})  # fmt: skip


def make_inbox(inbox: Path, good: int, broken: bool = True) -> Path:
    inbox.mkdir(parents=True, exist_ok=True)
    for i in range(good):
        good_case(inbox, i)
    if broken:
        broken_cases(inbox)
    return inbox


def writer_available(option: str) -> bool:
    """Whether ``write_reports`` has a writer for ``option`` (xlsx, sarif) yet."""
    import click

    from zdiag.report import write_reports

    class _Probe:  # write_reports raises "not available" before touching the result
        pass

    try:
        write_reports(_Probe(), **{option: os.devnull})
    except click.UsageError as exc:
        return "not available" not in str(exc)
    except Exception:  # noqa: BLE001 - a real writer choking on the probe: it exists
        return True
    return True
