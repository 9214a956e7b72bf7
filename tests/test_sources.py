"""sources: folders recursively, archives in memory, unsafe members refused."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile

from zdiag.sources import iter_sources, safe_member_name


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_directory_recursive_sorted(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x.txt").write_text("x")
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / ".hidden").write_text("h")
    names = [s.name for s in iter_sources([tmp_path])]
    assert names == [str(tmp_path / "a.txt"), str(tmp_path / "b" / "x.txt")]


def test_zip_tar_gz_members(tmp_path):
    z = tmp_path / "case.zip"
    z.write_bytes(_zip({"one.txt": b"1\n", "sub/two.txt": b"2\n"}))
    t = tmp_path / "case.tar.gz"
    with tarfile.open(t, "w:gz") as tf:
        info = tarfile.TarInfo("three.txt")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"3\n"))
    g = tmp_path / "four.txt.gz"
    g.write_bytes(gzip.compress(b"4\n"))
    got = {s.name: s.read() for s in iter_sources([z, t, g])}
    assert got == {
        f"{z}!one.txt": b"1\n", f"{z}!sub/two.txt": b"2\n", f"{t}!three.txt": b"3\n",
        f"{g}!four.txt": b"4\n",
    }  # fmt: skip


def test_nested_zip_in_zip(tmp_path):
    inner = _zip({"deep.txt": b"d\n"})
    z = tmp_path / "outer.zip"
    z.write_bytes(_zip({"inner.zip": inner}))
    assert [s.name for s in iter_sources([z])] == [f"{z}!inner.zip!deep.txt"]


def test_traversal_and_links_refused(tmp_path):
    z = tmp_path / "evil.zip"
    z.write_bytes(_zip({"../../etc/passwd": b"x", "ok.txt": b"fine\n"}))
    srcs = {s.name: s for s in iter_sources([z])}
    assert "path traversal" in srcs[f"{z}!../../etc/passwd"].error
    assert srcs[f"{z}!ok.txt"].read() == b"fine\n"
    t = tmp_path / "link.tar"
    with tarfile.open(t, "w") as tf:
        info = tarfile.TarInfo("l")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tf.addfile(info)
    (src,) = list(iter_sources([t]))
    assert "link" in src.error
    assert not safe_member_name("/abs") and not safe_member_name("a/../../b")
    assert safe_member_name("a/b.txt")


def test_gzip_bomb_refused(tmp_path):
    g = tmp_path / "bomb.txt.gz"
    g.write_bytes(gzip.compress(b"\0" * (50 * 1024 * 1024)))
    (src,) = list(iter_sources([g]))
    assert src.error and "bomb" in src.error


def test_missing_and_corrupt(tmp_path):
    (src,) = list(iter_sources([tmp_path / "nope.txt"]))
    assert src.error == "no such file or directory"
    bad = tmp_path / "broken.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    (src,) = list(iter_sources([bad]))
    assert src.error and "archive" in src.error
