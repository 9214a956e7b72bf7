"""`zdiag parse` with its large tables kept on disk writes what it writes from memory.

Every chunkable file is forced through the bounded path (read in pieces, its packets,
connections, routes and messages spilled into many small buckets) and each format is
compared with the in-memory run of the same command."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from zdiag import spill as spill_mod
from zdiag import stream
from zdiag.cli import main
from zdiag.report import xlsx
from zdiag.report.tables_dir import SpilledTable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.gen import all_generators  # noqa: E402

FIXTURES = [
    "fixtures/demo",  # FTP.DATA, netstat snapshots, SESSION traces, syslogd
    "fixtures/pcap/normal_transfer.pcap",  # packets of a file never read in pieces
    "fixtures/messages/jes2_syslog_ipl_adcd_z111_hercules_mixed_records.txt",
    "fixtures/netstat/uss_onetstat_r_route_v2r5.txt",
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[str]:
    path = tmp_path_factory.mktemp("gen") / "session.txt"  # about 500 packets
    all_generators()["systcpda.session"].write(path, 50_000, seed=3)
    return [str(ROOT / f) for f in FIXTURES] + [str(path)]


class Spies:
    def __init__(self):
        self.spills: list = []


@pytest.fixture
def forced(monkeypatch, tmp_path):
    """Call it to read every chunkable file in pieces and spill into many buckets under
    ``tmp_path/spill``; returns the spills made (to look at after the run)."""

    def apply() -> Spies:
        spies = Spies()
        folder = tmp_path / "spill"
        folder.mkdir()
        monkeypatch.setattr(stream, "MIN_BYTES", 0)
        monkeypatch.setattr(stream, "CHUNK_BYTES", 8000)
        monkeypatch.setattr(spill_mod, "BUCKET_BYTES", 800)
        monkeypatch.setattr(tempfile, "tempdir", str(folder))
        real = spill_mod.Spill

        class Spy(real):
            def __init__(self, *a, **k):
                super().__init__(*a, **k)
                spies.spills.append(self)

        monkeypatch.setattr(spill_mod, "Spill", Spy)
        spies.folder = folder
        return spies

    return apply


def run(args: list[str]) -> str:
    res = CliRunner().invoke(main, ["-q", "parse", *args])
    assert res.exit_code == 0, (res.output, res.exception)
    return res.stdout


def assert_spilled(spies: Spies) -> None:
    (spill,) = spies.spills
    assert spill.nbuckets > 1
    assert {"packets", "connections", "messages", "routes"} <= set(spill.tables)
    # rows of one piece went to several buckets, and came back in their order
    assert any(len(p.buckets) > 1 for p in spill.parts["packets"])
    assert not list(spies.folder.iterdir()), "the spill folder was not removed"


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_stdout_formats_are_byte_identical(inputs, forced, fmt):
    whole = run([*inputs, "--format", fmt])
    spies = forced()
    parts = run([*inputs, "--format", fmt])
    assert_spilled(spies)
    assert parts == whole
    if fmt == "table":  # the packets table is long: its head and tail, as pandas cuts it
        assert "== packets (" in whole
        assert "\n.. " in whole  # the row pandas puts between head and tail
    if fmt == "json":
        doc = json.loads(parts)
        assert len(doc["packets"]) > 400 and doc["conn_analysis"]


def test_files_and_folders_are_byte_identical(inputs, forced, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()

    def all_formats(out: Path) -> None:
        run([*inputs, "--format", "csv", "-o", str(out / "csv")])
        run([*inputs, "--format", "json", "--table", "messages", "--table", "routes",
             "-o", str(out / "m.json")])  # fmt: skip

    all_formats(a)
    spies = forced()
    all_formats(b)
    assert len(spies.spills) == 2
    names = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    assert "csv/packets.csv" in names and "csv/conn_analysis.csv" in names
    assert names == sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    doc = json.loads((b / "m.json").read_text())
    assert list(doc) == ["messages", "routes"] and doc["routes"]


def test_parquet_files_hold_equal_frames(inputs, forced, tmp_path):
    run([*inputs, "--format", "parquet", "-o", str(tmp_path / "a")])
    spies = forced()
    run([*inputs, "--format", "parquet", "-o", str(tmp_path / "b")])
    assert_spilled(spies)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert {"packets.parquet", "connections.parquet", "ibm_disagreements.parquet"} <= set(names)
    for name in names:
        a = pd.read_parquet(tmp_path / "a" / name)
        b = pd.read_parquet(tmp_path / "b" / name)
        pd.testing.assert_frame_equal(a, b, obj=name)


def _cells(path: Path) -> dict[str, list[tuple]]:
    wb = load_workbook(path, read_only=True)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def test_xlsx_has_the_same_sheets_and_cells(inputs, forced, tmp_path, monkeypatch):
    # a small sheet size: the packets continue on "packets (2)", "packets (3)" ... and a
    # continuation starts in the middle of a piece read back from disk
    monkeypatch.setattr(xlsx, "SHEET_ROWS", 150)
    run([*inputs, "--format", "xlsx", "-o", str(tmp_path / "a.xlsx")])
    spies = forced()
    run([*inputs, "--format", "xlsx", "-o", str(tmp_path / "b.xlsx")])
    assert_spilled(spies)
    a, b = _cells(tmp_path / "a.xlsx"), _cells(tmp_path / "b.xlsx")
    assert "packets (3)" in a and len(a["packets (2)"]) == 150
    assert list(a) == list(b)
    for title in a:
        assert a[title] == b[title], title
    # the columns are as wide as in memory: fitted on every piece, not on the first one
    wa, wb = _widths(tmp_path / "a.xlsx"), _widths(tmp_path / "b.xlsx")
    assert wa == wb
    assert len(set(wa["packets"].values())) > 3


def _widths(path: Path) -> dict[str, dict[str, float]]:
    wb = load_workbook(path)
    return {ws.title: {k: d.width for k, d in ws.column_dimensions.items()}
            for ws in wb.worksheets}  # fmt: skip


def test_pieces_out_of_line_order_come_back_sorted(tmp_path):
    """A row a kind hands to the next piece (a message continued past a cut) is put back
    in line order, as the in-memory table is sorted; pieces of whole files keep theirs."""
    spill = spill_mod.Spill(tmp_path)
    spill.nbuckets = 3

    def piece(lines, source="big.txt"):
        return pd.DataFrame({"case": "", "source": source, "line": lines,
                             "text": [f"t{n}" for n in lines]})  # fmt: skip

    spill.write("messages", piece([1, 2, 5, 6]))
    spill.write("messages", piece([4, 7, 9]))  # line 4 was started in the first piece
    spill.write("messages", piece([3, 8, 10, 11]))  # and 3 before the second one
    spill.write("messages", piece([9, 2, 5], "small.txt"), whole=True)  # kept as parsed
    table = SpilledTable(spill, "messages", {"small.txt": 0, "big.txt": 1})
    got = pd.concat(list(table.frames()), ignore_index=True)
    assert got["source"].tolist() == ["small.txt"] * 3 + ["big.txt"] * 11
    assert got["line"].tolist() == [9, 2, 5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert got["text"].tolist()[3:] == [f"t{n}" for n in range(1, 12)]
    assert len(table) == 14 and table.head(4)["line"].tolist() == [9, 2, 5, 1]
    assert table.tail(2)["line"].tolist() == [10, 11]
    spill.close()


def test_interrupted_parse_leaves_no_spill(inputs, forced, monkeypatch, tmp_path):
    from zdiag import cli

    spies = forced()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "write_tables", interrupted)
    res = CliRunner().invoke(main, ["parse", *inputs, "--format", "csv"])
    assert res.exit_code != 0
    assert len(spies.spills) == 1 and not spies.spills[0].root.exists()
    assert not list(spies.folder.iterdir())


MEASURE = """
import sys, tracemalloc
from zdiag import spill, stream
from zdiag.cli import main
if sys.argv[1] == "bounded":  # every file in pieces of 128 kB, buckets of as much input
    stream.MIN_BYTES, stream.CHUNK_BYTES, stream.HEAD_BYTES = 0, 128 * 1024, 64 * 1024
    spill.BUCKET_BYTES = 128 * 1024
tracemalloc.start()
main(["-q", "parse", *sys.argv[2:], "--format", "parquet"], standalone_mode=False)
print(tracemalloc.get_traced_memory()[1])
"""


def _peak(mode: str, path: Path, out: Path) -> int:
    """Peak traced memory of one ``zdiag parse`` to parquet, in a fresh interpreter."""
    import os
    import subprocess

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"),
                                                        os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    res = subprocess.run([sys.executable, "-c", MEASURE, mode, str(path), "-o", str(out)],
                         capture_output=True, text=True, env=env, check=True)  # fmt: skip
    return int(res.stdout.split()[-1])


def test_memory_does_not_grow_with_the_input(tmp_path):
    """Peak memory (what tracemalloc sees: Python objects and numpy arrays) of a parse to
    parquet with the tables on disk grows with the input far less than the in-memory run's,
    which holds the whole table (measured: about a third as fast)."""
    gen = all_generators()["systcpda.session"]
    paths = {"small": tmp_path / "small.txt", "large": tmp_path / "large.txt"}
    gen.write(paths["small"], 400_000, seed=5)
    gen.write(paths["large"], 1_200_000, seed=6)
    peaks = {(mode, k): _peak(mode, p, tmp_path / mode / k)
             for mode in ("memory", "bounded") for k, p in paths.items()}  # fmt: skip
    a = pd.read_parquet(tmp_path / "memory" / "large" / "packets.parquet")
    b = pd.read_parquet(tmp_path / "bounded" / "large" / "packets.parquet")
    pd.testing.assert_frame_equal(a, b)
    print(f"tracemalloc peaks: {peaks}")
    grew = peaks["bounded", "large"] - peaks["bounded", "small"]
    # (what still grows: the kind's own state and the connections' analysis per bucket;
    # a bucket holds whole connections, so its largest one sets the bucket's size)
    # (each run's peak also holds a few MB of modules imported on first use, the same for
    # both sizes: the growth is what tells)
    assert grew < 0.45 * (peaks["memory", "large"] - peaks["memory", "small"])


def test_a_trace_read_in_pieces_lists_its_tables_in_memory_order(inputs, forced):
    """Its packets are spilled and its sessions kept: the packets still come first."""
    whole = run([inputs[-1], "--format", "json"])
    spies = forced()
    parts = run([inputs[-1], "--format", "json"])
    assert spies.spills[0].tables == ["packets"]
    assert list(json.loads(whole))[:2] == ["packets", "sessions"]
    assert parts == whole


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_a_table_without_rows_is_listed_as_in_memory(tmp_path, forced, fmt):
    # SESSION summaries without a packet table: the in-memory run lists `packets` with no
    # rows; read in pieces, no piece has a packet to spill, and the table must still be there
    block = (ROOT / "fixtures/systcpda/seed004_session_summary_conn_header.txt").read_text()
    body = "\n".join(ln for ln in block.splitlines() if not ln.startswith("#zdiag-sample"))
    path = tmp_path / "summaries.txt"
    path.write_text("\n\n".join([body] * 40) + "\n")
    whole = run([str(path), "--format", fmt])
    assert "packets" in whole
    forced()
    assert run([str(path), "--format", fmt]) == whole


def test_tables_kept_and_spilled_keep_the_in_memory_order(tmp_path, forced):
    # a capture of two NETSTAT reports: the stack's configuration (kept in memory) and its
    # routes (spilled); the parser lists stack_config first, and so must a run in pieces
    parts = []
    for name in ("tso_netstat_config_v2r2_partial_wscollapsed.txt",
                 "uss_onetstat_r_route_v2r5.txt"):  # fmt: skip
        text = (ROOT / "fixtures/netstat" / name).read_text()
        parts.append("\n".join(ln for ln in text.splitlines() if not ln.startswith("#zdiag")))
    path = tmp_path / "netstat.txt"
    path.write_text("\n".join([parts[0], *[parts[1]] * 30]) + "\n")
    whole = run([str(path), "--format", "table"])
    assert whole.index("== stack_config") < whole.index("== routes")
    spies = forced()
    assert run([str(path), "--format", "table"]) == whole
    assert spies.spills and spies.spills[0].rows.get("routes")
