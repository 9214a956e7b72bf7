"""Reports whose one part runs on for many MB (not a test): one SESSION connection traced
through a long transfer, and one NETSTAT ALL snapshot of a busy stack. Measures zdiag's parse
to parquet and the whole scan of each, each in a child process as ``bench/run.py`` does
(wall time, CPU, peak RSS), and writes ``bench/long_inputs.json``.

    python bench/long_inputs.py [--mb 300] [--methods zdiag,scan] [--json FILE]

The SESSION input comes from ``bench/gen`` (``write_long``: one connection of about
``--mb`` MB of packet rows, past midnight, between two ordinary ones); the NETSTAT input is
the real NETSTAT ALL block of ``fixtures/netstat/tso_netstat_all_msgid_ttls_v2r4_partial.txt``
under its one title, repeated with other client ids and foreign sockets up to ``--mb`` MB.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "src")]

from bench.gen.systcpda_session import write_long  # noqa: E402
from bench.run import measure  # noqa: E402

NETSTAT_ALL = HERE.parent / "fixtures" / "netstat" / "tso_netstat_all_msgid_ttls_v2r4_partial.txt"
#: bytes of a generated SESSION packet row, about (to size the long connection)
SESSION_ROW_BYTES = 80


def one_snapshot(path: Path, size: int) -> dict:
    lines = [ln for ln in NETSTAT_ALL.read_text(encoding="utf-8").splitlines(keepends=True)
             if not ln.startswith("#zdiag-sample")]  # fmt: skip
    title, block = lines[0], "".join(lines[1:])
    n, written = 0, len(title)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(title)
        while written < size:
            n += 1
            text = block.replace("Client Id: 000000BB", f"Client Id: {n:08X}").replace(
                "10.1.0.2..51844", f"10.{n % 250}.{n // 250 % 250}.2..{1024 + n % 60000}"
            )
            fh.write(text)
            written += len(text)
    return {"bytes": written, "connections": n}


def _in_child(fn, *args) -> dict:
    """``fn(*args)`` in a process of its own, so that this parent stays small while the
    measured children run (the children report their own peak, VmHWM: see bench/run.py)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=300)
    ap.add_argument("--methods", default="zdiag,scan")
    ap.add_argument("--json", type=Path, default=HERE / "long_inputs.json")
    ap.add_argument("--timeout", type=float, default=1800)
    args = ap.parse_args()
    size = int(args.mb * 1e6)
    work = Path(tempfile.mkdtemp(prefix="zdiag-bench-long-"))
    result = {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "load_average_at_start": os.getloadavg()},
              "inputs": {}}  # fmt: skip
    inputs = {
        "systcpda.session": (work / "one_connection.txt",
                             lambda p: _in_child(write_long, p, size // SESSION_ROW_BYTES, 2)),
        "netstat.zos": (work / "one_snapshot.txt", lambda p: _in_child(one_snapshot, p, size)),
    }  # fmt: skip
    for kind, (path, make) in inputs.items():
        facts = make(path)
        entry = result["inputs"][kind] = {"input": facts, "methods": {}}
        for method in args.methods.split(","):
            got = measure(method, kind, path, work / f"out-{method}", args.timeout)
            entry["methods"][method] = got
            print(f"{kind} {method}: {got}", flush=True)
        path.unlink()
    args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
