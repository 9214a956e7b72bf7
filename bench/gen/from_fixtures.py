"""Seeded generators for the kinds other than ``systcpda.session``: the kind's real-layout
fixtures, repeated with their values varied.

Layout authority: the fixture files listed in :data:`SOURCES` (``fixtures/<area>/...``), each
a real IBM (or peer platform) layout with its ``#zdiag-sample`` provenance. The generator
writes their body lines (the provenance lines are dropped) over and over, as a report
collected again and again (a console log with the same command issued every interval), in a
seeded order. Line shapes are never invented: only values change —

- a number standing alone (blank or punctuation around it, not part of a time, date, address
  or name) gets another number of the same width (a leading zero stays a zero, so a
  zero-padded field stays zero-padded);
- the last octet of a dotted IPv4 address gets another value 1..254;
- an 8-digit hexadecimal connection id gets another one.

Times, dates, message ids and keywords are kept, so every line still parses as its layout;
``bench/run.py --check`` (and the test of this module) confirms zdiag leaves no generated line
unrecognised that the fixture itself did not leave unrecognised.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from . import Generator, register

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "fixtures"

#: kind -> fixture files (relative to fixtures/) whose lines the generator repeats
SOURCES: dict[str, tuple[str, ...]] = {
    "netstat.zos": (
        "netstat/uss_netstat_conn_short_v2r5_wmlz.txt",
        "netstat/handmade_loop3_all_msgid_v2r4_stuck_window.txt",
        "netstat/handmade_loop3_conn_short_v2r5_midnight.txt",
        "netstat/tso_netstat_all_msgid_ttls_v2r4_partial.txt",
        "netstat/console_d_tcpip_netstat_allconn_port23_v1r6.txt",
        "netstat/uss_onetstat_r_route_v2r5.txt",
    ),
    "netstat.peer": (
        "peers/freebsd12_netstat_an_jc.txt",
        "peers/linux_netstat_stuck_states_coolshell.txt",
        "peers/ss_tan_closewait_finwait2_lazyserver.txt",
    ),
    "syslog.zos": (
        "messages/jes2_syslog_ipl_adcd_z111_hercules_mixed_records.txt",
        "messages/console_log_hhmmss_zos24_resolver_ezz9298i_ezy60xx.txt",
        "messages/ezz6034i_telnet_debug_conn_twoline.txt",
        "messages/zowe_log_ezz2376i_ezz2377i_ezz2385i.txt",
    ),
    "trmdstat": (
        "messages/trmdstat_GD_global_stall_detail_v2r1.txt",
        "messages/trmdstat_G_global_stall_summary_v2r1_wscollapsed.txt",
    ),
    "config.ftpdata": ("config/ftpdata_ftpsdata_sample_csv1r2_site_section1.txt",),
    "config.profile": ("config/profile_tcpip_samprof_site_claw_zos1x.txt",),
    "systcpda.summary": (
        "systcpda/summary_ftp_ibm_fig1.txt",
        "systcpda/export_summary_csv_ipv4_ipv6.txt",
    ),
    "systcpda.format": (
        "systcpda/format_icmp_echo_snalu62.txt",
        "systcpda/format_udp_dns_callouts.txt",
        "systcpda/format_datatrace_start_record_callouts.txt",
    ),
}

#: per kind, the row table the floor baselines extract (grammar, rule); types all text
ROW_RULES: dict[str, tuple[str, str]] = {
    "netstat.zos": ("netstat_zos", "conn_row"),
    "netstat.peer": ("netstat_peer", "inet_row"),
    "systcpda.summary": ("systcpda_summary", "summary_row"),
    "trmdstat": ("trmdstat", "stall_row"),
}

#: kinds whose standalone numbers are structure (FORMAT's record numbers, callout numbers and
#: hex dump offsets), so only their addresses and ids are varied
NUMBERS_KEPT = {"systcpda.format"}

_NUM = re.compile(r"(?<![\w.:/\-+$@#])\d+(?![\w.:/\-%])")
_IP4 = re.compile(r"(?<![\w.])(\d{1,3}\.\d{1,3}\.\d{1,3}\.)(\d{1,3})(?![\w])")
_HEX8 = re.compile(r"(?<![\w])(?=[0-9A-F]*[A-F])(?=[0-9A-F]*\d)[0-9A-F]{8}(?![\w])")


def body_lines(rel: str) -> list[str]:
    text = (FIX / rel).read_text(encoding="utf-8")
    return [ln for ln in text.split("\n") if not ln.startswith("#zdiag-sample")]


def _varier(rng: random.Random, numbers: bool = True):
    rand = rng.random
    digits = "0123456789"

    def num(m: re.Match) -> str:
        s = m.group(0)
        if len(s) > 12 or rand() < 0.5:
            return s
        keep = len(s) - len(s.lstrip("0")) if len(s) > 1 else 0
        keep = min(keep, len(s) - 1)
        tail = "".join(rng.choice(digits) for _ in range(len(s) - keep))
        if keep == 0 and len(s) > 1:
            tail = rng.choice("123456789") + tail[1:]
        return s[:keep] + tail

    def ip(m: re.Match) -> str:
        return m.group(1) + str(rng.randrange(1, 255))

    def hex8(m: re.Match) -> str:
        return f"{rng.randrange(1 << 32):08X}"

    def vary(line: str) -> str:
        if not line or rand() < 0.2:
            return line
        line = _IP4.sub(ip, line)
        line = _HEX8.sub(hex8, line)
        return _NUM.sub(num, line) if numbers else line

    return vary


def make_write(kind: str):
    def write(path, size: int, seed: int = 0) -> dict:
        rng = random.Random(seed)
        blocks = [body_lines(rel) for rel in SOURCES[kind]]
        # the first block opens the file unvaried, so that the report's head is the real one
        vary = _varier(rng, numbers=kind not in NUMBERS_KEPT)
        written = n_lines = n_blocks = 0
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            order = 0
            while written < size:
                lines = (
                    blocks[order % len(blocks)] if n_blocks < len(blocks) else rng.choice(blocks)
                )
                if n_blocks >= len(blocks):
                    lines = [vary(ln) for ln in lines]
                text = "\n".join(lines).rstrip("\n") + "\n"
                fh.write(text)
                written += len(text.encode())
                n_lines += text.count("\n")
                n_blocks += 1
                order += 1
        return {"bytes": written, "lines": n_lines, "blocks": n_blocks,
                "sources": list(SOURCES[kind])}  # fmt: skip

    return write


for _kind in SOURCES:
    _g, _r = ROW_RULES.get(_kind, (None, None))
    register(Generator(kind=_kind, write=make_write(_kind), row_grammar=_g, row_rule=_r))
