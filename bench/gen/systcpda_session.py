"""IPCS CTRACE COMP(SYSTCPDA) OPTIONS((SESSION(DETAIL))) text: many connections, each a
summary block followed by its per-packet table.

Layout authority: fixtures/systcpda/seed004_session_summary_conn_header.txt,
seed004_session_summary_packets.txt, seed004_session_detail_*.txt and FORMATS.md §1, §4, §5
(columns after removing the technote's 4-blank indent; the generator writes no indent).
The order of the block parts (header, Connection, Packets, then the table) follows the
technote; lines IBM prints between ``Last timestamp`` and ``Packets:`` are not known from real
text and are not invented here.

The packet sequences are plausible TCP conversations (handshake, data both ways with ACKs,
some retransmissions, duplicate ACKs, zero windows, keepalives, FIN or RST), and the summary
counts are the counts of the table's F letters, so a rule can cross-check them.
"""

from __future__ import annotations

import random

from . import Generator, register

FLAG_CLASSES = (
    ("x", "Untraced Packets"), (".", "In-order data"), ("a", "Acknowledgments"),
    ("+", "Data and ACK"), ("u", "Duplicate ACKs"), ("w", "Window size updates"),
    ("z", "Zero window sizes"), ("p", "Window probes"), ("k", "Keepalive segments"),
    ("r", "Retransmissions"), ("o", "Out-of-order"), ("d", "Delayed ACKs"),
    ("f", "Fragments"), ("!", "Dropped"),
)  # fmt: skip
APPS = (("ftp", 21), ("telnet", 23), ("http", 80), ("https", 443), ("smtp", 25),
        ("", 1414), ("", 50000), ("ftp-data", 20))  # fmt: skip
HEADING = " TcpHdr   IO F        Seq        Ack RcvWnd  Data Delta Time       TimeStamp"


def _hdr(a=False, p=False, s=False, r=False, f=False) -> str:
    # fixed slots (FORMATS.md §5): col 4 A, col 5 P, col 7 S or R, col 8 F
    return (
        ("A" if a else " ")
        + ("P" if p else " ")
        + " "
        + ("S" if s else "R" if r else " ")
        + ("F" if f else " ")
    )


def _clock(t: float) -> str:
    t %= 86400.0
    h = int(t // 3600)
    m = int(t % 3600 // 60)
    s = t % 60
    return f"{h:02d}:{m:02d}:{s:09.6f}"


def _ip(rng: random.Random, v6: bool) -> str:
    if v6:
        return f"2001:db8:{rng.randrange(65536):x}::{rng.randrange(1, 65536):x}"
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _pair(label: str, local: str, remote: str, comma_col: int = 43, end: int = 60) -> str:
    head = f"{label}:"
    left = head + local.rjust(comma_col - len(head)) + ","
    return left + remote.rjust(end - len(left))


def _connection(rng: random.Random, t0: float, date: str,
                packets: int | None = None) -> tuple[list[str], float, int]:  # fmt: skip
    """One summary block + packet table (about ``packets`` rows when given); returns
    (lines, end time, packet count)."""
    local_is_server = rng.random() < 0.7
    app, port = rng.choice(APPS)
    lport = port if local_is_server else rng.randrange(1025, 65535)
    rport = rng.randrange(1025, 65535) if local_is_server else port
    v6 = rng.random() < 0.1
    lip, rip = _ip(rng, v6), _ip(rng, v6)
    n_target = int(rng.paretovariate(1.2) * 20)
    n_target = max(4, min(n_target, 3000)) if packets is None else max(4, packets)
    # ---- packet table ----------------------------------------------------------------
    rows: list[tuple] = []  # (hdr, io, flag, seq, ack, win, dlen, delta)
    lseq, rseq = rng.randrange(2**32), rng.randrange(2**32)
    lwin, rwin = rng.choice((65535, 32768, 262144, 368640)), rng.choice((65535, 27768, 65535))
    inbound_first = local_is_server
    io1, io2 = ("I", "O") if inbound_first else ("O", "I")
    rows.append((_hdr(s=True), io1, " ", rseq if inbound_first else lseq, 0, 65535, 0, 0.0))
    if inbound_first:
        rows.append((_hdr(a=True, s=True), io2, " ", lseq, rseq + 1, lwin, 0, 0.0001))
        rows.append((_hdr(a=True), io1, "u" if rng.random() < 0.05 else " ", rseq + 1, lseq + 1,
                     rwin, 0, 0.0008))  # fmt: skip
    else:
        rows.append((_hdr(a=True, s=True), io2, " ", rseq, lseq + 1, rwin, 0, 0.0001))
        rows.append((_hdr(a=True), io1, " ", lseq + 1, rseq + 1, lwin, 0, 0.0008))
    lseq, rseq = lseq + 1, rseq + 1
    sends_out = rng.random() < 0.6  # which side carries the bulk data
    mss = rng.choice((1448, 8940, 1460, 536))
    while len(rows) < n_target - 2:
        u = rng.random()
        out = sends_out if rng.random() < 0.8 else not sends_out
        io = "O" if out else "I"
        back = "I" if out else "O"
        seq, ack = (lseq, rseq) if out else (rseq, lseq)
        win = rwin if out else lwin
        if u < 0.04:  # retransmission
            dlen = mss
            rows.append((_hdr(a=True, p=True), io, "r", seq - dlen, ack, win, dlen,
                         rng.uniform(0.2, 4.0)))  # fmt: skip
        elif u < 0.06:  # zero window from the receiver, then a probe
            rows.append((_hdr(a=True), back, "z", ack, seq, 0, 0, rng.uniform(0, 0.001)))
            rows.append((_hdr(a=True), io, "p", seq, ack, win, 1, rng.uniform(0.2, 1.0)))
        elif u < 0.07:  # keepalive and its ack
            rows.append((_hdr(a=True), io, "k", seq - 1, ack, win, 0, rng.uniform(60, 200)))
            rows.append((_hdr(a=True), back, "u", ack, seq, win, 0, rng.uniform(0, 0.002)))
        else:  # data and its ack
            dlen = rng.choice((mss, mss, mss, rng.randrange(1, mss)))
            flag = rng.choice((".", ".", "+", "o")) if rng.random() < 0.9 else " "
            rows.append((_hdr(a=True, p=dlen < mss), io, flag, seq, ack, win, dlen,
                         rng.expovariate(2000.0)))  # fmt: skip
            if out:
                lseq = (lseq + dlen) % 2**32
            else:
                rseq = (rseq + dlen) % 2**32
            if rng.random() < 0.5:
                a_seq, a_ack = (rseq, lseq) if out else (lseq, rseq)
                rows.append((_hdr(a=True), back, rng.choice(("a", "a", "d", "w")), a_seq, a_ack,
                             lwin if out else rwin, 0, rng.expovariate(500.0)))  # fmt: skip
    if rng.random() < 0.8:
        rows.append((_hdr(a=True, p=True, f=True), "O", "?", lseq, rseq, lwin, 0, 0.002))
        rows.append((_hdr(a=True, f=True), "I", "a", rseq, lseq + 1, rwin, 0, 0.0003))
    else:
        rows.append((_hdr(r=True), rng.choice("IO"), " ", lseq, rseq, 0, 0, rng.uniform(1, 90)))
    # ---- timestamps and counts ------------------------------------------------------
    t = t0
    lines_tbl = [HEADING]
    counts = {c: [0, 0] for c, _ in FLAG_CLASSES}
    npk = [0, 0]
    for nr, (hdr, io, flag, seq, ack, win, dlen, delta) in enumerate(rows, start=1):
        t += delta
        side = 0 if io == "O" else 1
        npk[side] += 1
        if flag in counts:
            counts[flag][side] += 1
        lines_tbl.append(
            f"{nr:<3} {hdr}  {io} {flag} {seq % 2**32:>10} {ack % 2**32:>10} {win:>6} "
            f"{dlen:>5} {delta:>10.6f} {_clock(t)}"
        )
    # ---- summary block --------------------------------------------------------------
    role_l, role_r = ("Server", "Client") if local_is_server else ("Client", "Server")
    speed = rng.choice(("10", "100", "1000", "10000"))
    block = [
        "Local Ip Address:" + lip.rjust(52 - len("Local Ip Address:")),
        "Remote Ip Address:" + rip.rjust(59 - len("Remote Ip Address:")),
        "",
        _pair("Host", "Local", "Remote"),
        _pair("Client or Server", role_l, role_r),
        _pair(" Port", str(lport), str(rport)),
        f" Application:{(app + ',,').rjust(44 - len(' Application:'))}"
        if not local_is_server or not app
        else _pair(" Application", app, app),
        _pair(" Link speed (parm)", speed, speed) + " Megabits/s",
        "",
        "Connection:",
        f" First timestamp:                 {date} {_clock(t0)}",
        f" Last timestamp:                  {date} {_clock(t)}",
        "",
        _pair("Packets", str(npk[0]), str(npk[1]), comma_col=41, end=58),
    ]
    for c, label in FLAG_CLASSES:
        lo, re_ = counts[c]
        line = _pair(f"  ({c}) {label}", str(lo), str(re_), comma_col=41, end=58)
        if c != "x":
            pl = int(lo * 10000 / npk[0]) / 100 if npk[0] else 0.0
            pr = int(re_ * 10000 / npk[1]) / 100 if npk[1] else 0.0
            line += f" ({pl:5.2f}%), ({pr:5.2f}%)"
        block.append(line)
    block.append("")
    return block + lines_tbl + [""], t, len(rows)


def header(date: str) -> list[str]:
    """IPCS report header (FORMATS.md §1) as printed for a SESSION(DETAIL) report."""
    return [
        "COMPONENT TRACE FULL FORMAT",
        " SYSNAME(MVS118)",
        " COMP(SYSTCPDA)SUBNAME((TCPCS))",
        " OPTIONS((SESSION(DETAIL)))",
        " DSNAME('IBMUSER.CTRACE1')",
        "",
        f"**** {date}",
        "",
    ]


def write(path, size: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    day = 20 + rng.randrange(8)
    date = f"2007/08/{day:02d}"
    t = rng.uniform(0, 36000)
    written = 0
    n_conn = n_pkt = n_lines = 0
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        head = "\n".join(header(date)) + "\n"
        fh.write(head)
        written += len(head)
        n_lines += head.count("\n")
        while written < size:
            lines, t_end, npk = _connection(rng, t, date)
            t += rng.uniform(0.0, 2.0)  # connections overlap in time
            text = "\n".join(lines) + "\n"
            fh.write(text)
            written += len(text.encode())
            n_conn += 1
            n_pkt += npk
            n_lines += len(lines)
    return {"bytes": written, "lines": n_lines, "sessions": n_conn, "packets": n_pkt}


def write_long(path, packets: int, seed: int = 0) -> dict:
    """A report whose middle connection has a packet table of about ``packets`` rows (one
    long transfer: no summary block for many MB), starting ten minutes before midnight so
    that its clock passes 00:00; an ordinary connection before and after it."""
    rng = random.Random(seed)
    date = "2007/08/24"
    lines = header(date)
    t = 23 * 3600 + 50 * 60.0
    n_pkt = 0
    for n in (None, packets, None):
        block, t_end, npk = _connection(rng, t, date, n)
        lines += block
        n_pkt += npk
        t = t_end + 1.0
    text = "\n".join(lines) + "\n"
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return {"bytes": len(text.encode()), "lines": len(lines), "sessions": 3, "packets": n_pkt}


register(
    Generator(
        kind="systcpda.session",
        write=write,
        row_grammar="systcpda_session",
        row_rule="packet_row",
        row_types={
            "nr": "int",
            "tcphdr": "str",
            "io": "str",
            "ibm_flag": "str",
            "seq": "int",
            "ack_num": "int",
            "window": "int",
            "data_len": "int",
            "delta": "float",
            "time": "str",
        },  # fmt: skip
        lark_start="packet_table",
    )
)
