"""Test-only: Wireshark's own per-frame tcp.analysis classes, read with tshark."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

#: tshark field -> zdiag class
FIELDS = {
    "tcp.analysis.retransmission": "retransmission",
    "tcp.analysis.fast_retransmission": "fast_retransmission",
    "tcp.analysis.spurious_retransmission": "spurious_retransmission",
    "tcp.analysis.out_of_order": "out_of_order",
    "tcp.analysis.lost_segment": "previous_segment_not_captured",
    "tcp.analysis.ack_lost_segment": "ack_lost_segment",
    "tcp.analysis.duplicate_ack": "dup_ack",
    "tcp.analysis.zero_window": "zero_window",
    "tcp.analysis.zero_window_probe": "zero_window_probe",
    "tcp.analysis.zero_window_probe_ack": "zero_window_probe_ack",
    "tcp.analysis.window_update": "window_update",
    "tcp.analysis.window_full": "window_full",
    "tcp.analysis.keep_alive": "keepalive",
    "tcp.analysis.keep_alive_ack": "keepalive_ack",
    "tcp.connection.rst": "rst",
}


def tshark() -> str:
    exe = shutil.which("tshark")
    if exe is None:
        raise RuntimeError("tshark is not installed (.ci/run installs it with apt-get)")
    return exe


def classes(pcap: Path) -> dict[int, tuple[set[str], int | None]]:
    """frame number -> (set of classes, duplicate-ACK number or None)."""
    fields = list(FIELDS) + ["tcp.analysis.duplicate_ack_num"]
    cmd = [tshark(), "-r", str(pcap), "-T", "fields", "-E", "occurrence=f",
           "-e", "frame.number"]  # fmt: skip
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    res = {}
    for line in out.splitlines():
        parts = line.split("\t")
        got = {FIELDS[f] for f, v in zip(fields, parts[1:], strict=False) if v and f in FIELDS}
        num = parts[-1] if len(parts) == len(fields) + 1 else ""
        res[int(parts[0])] = (got, int(num) if num else None)
    return res
