"""The archive guards a batch relies on (zdiag.sources): traversal, links and bombs are
refused with ``refused`` set, and a refused member fails its whole case."""

from __future__ import annotations

import gzip
import io
import stat
import tarfile
import zipfile

from batch_inbox import GOOD

from zdiag.batch import CaseSpec, process_case
from zdiag.sources import RATIO_FLOOR, iter_sources


def _zip_with_symlink(path):
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("link.txt")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
        zf.writestr("ok.txt", GOOD[0].read_bytes())


def test_zip_symlink_member_refused(tmp_path):
    z = tmp_path / "link.zip"
    _zip_with_symlink(z)
    srcs = {s.name.split("!")[-1]: s for s in iter_sources([z])}
    assert srcs["link.txt"].refused and "link" in srcs["link.txt"].error
    assert not srcs["ok.txt"].refused and srcs["ok.txt"].error is None


def test_absolute_and_parent_names_refused(tmp_path):
    z = tmp_path / "abs.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(zipfile.ZipInfo("/etc/cron.d/x"), b"x")
        zf.writestr(zipfile.ZipInfo("a/../../x"), b"x")
    srcs = list(iter_sources([z]))
    assert len(srcs) == 2 and all(s.refused and "path traversal" in s.error for s in srcs)


def test_tar_gz_bomb_refused_by_ratio(tmp_path):
    t = tmp_path / "bomb.tar.gz"
    data = b"\0" * (RATIO_FLOOR * 8)
    with tarfile.open(t, "w:gz") as tf:
        info = tarfile.TarInfo("zeros.txt")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    (src,) = list(iter_sources([t]))
    assert src.refused and "bomb guard" in src.error


def test_gzip_bomb_stopped_early(tmp_path):
    g = tmp_path / "bomb.txt.gz"
    g.write_bytes(gzip.compress(b"\0" * (RATIO_FLOOR * 16)))
    (src,) = list(iter_sources([g]))
    assert src.refused and "bomb guard" in src.error


def test_refused_member_fails_the_whole_case(tmp_path):
    z = tmp_path / "inbox" / "link.zip"
    z.parent.mkdir()
    _zip_with_symlink(z)
    out = tmp_path / "out"
    row = process_case(CaseSpec(case_id="link.zip-000000000000", name="link.zip", entry=str(z),
                                out=str(out)))  # fmt: skip
    assert row["status"] == "failed" and row["error"].startswith("archive refused:")
    assert "link.zip!link.txt" in row["error"]
    assert (out / "link.zip-000000000000" / "findings.json").exists()
