"""Test-only: a plain per-packet port of Wireshark's tcp_analyze_sequence_number (as tshark
4.0.17 behaves), the slow reference the vectorised zdiag.analysis.tcp is checked against
in property tests (tshark is the oracle of the other tests)."""

from __future__ import annotations

from dataclasses import dataclass, field

M = 1 << 32


def _s32(x: int) -> int:
    return ((x + (1 << 31)) % M) - (1 << 31)


def gt(a: int, b: int) -> bool:
    return _s32(b - a) < 0


@dataclass
class Flow:
    nextseq: int = 0
    nextseqtime: int = 0
    msa: int = 0
    lastack: int = 0
    lastacktime: int = 0
    window: int = M - 1
    dupacknum: int = 0
    lastflags: set = field(default_factory=set)
    seen: bool = False


def analyse(rows: list[dict]) -> list[tuple[set[str], int | None]]:
    """rows: dicts with conn, dir ('in'/'out'), seq, ack, ln, S, A, F, R, win, t (µs)."""
    conns: dict = {}
    out = []
    for r in rows:
        c = conns.setdefault(r["conn"], {"in": Flow(), "out": Flow(), "rtt": 0, "syn": None,
                                         "syn_seen": False})  # fmt: skip
        fwd = c[r["dir"]]
        rev = c["in" if r["dir"] == "out" else "out"]
        seq, ack, ln, win, t = r["seq"], r["ack"], r["ln"], r["win"], r["t"]
        S, A, F, R = r["S"], r["A"], r["F"], r["R"]
        if S and not A:
            c["syn"] = t
        if A and not S and c["rtt"] == 0 and c["syn"] is not None:
            c["rtt"] = t - c["syn"]
        if S:
            c["syn_seen"] = True
        fl: set[str] = set()
        dupnum = None
        plain = not (S or F or R)
        nset = fwd.seen and fwd.nextseq != 0
        if ln == 1 and nset and seq == fwd.nextseq and rev.window == 0:
            fl.add("zero_window_probe")
        else:
            same = ln == 0 and nset and seq == fwd.nextseq and ack == fwd.lastack and plain
            if win == 0 and plain:
                fl.add("zero_window")
            if nset and gt(seq, fwd.nextseq) and not R:
                fl.add("previous_segment_not_captured")
            if ln in (0, 1) and nset and seq == (fwd.nextseq - 1) % M and plain:
                fl.add("keepalive")
            if same and win and win != fwd.window:
                fl.add("window_update")
            if (ln > 0 and c["syn_seen"] and rev.window != M - 1 and plain
                    and (seq + ln) % M == (rev.lastack + rev.window) % M):  # fmt: skip
                fl.add("window_full")
            if same and win and win == fwd.window and "keepalive" in rev.lastflags:
                fl.add("keepalive_ack")
            elif same and win == 0 and fwd.window == 0 and "zero_window_probe" in rev.lastflags:
                fl.add("zero_window_probe_ack")
            elif same and win and win == fwd.window:
                fwd.dupacknum = 1 if fwd.dupacknum == -1 else fwd.dupacknum + 1
                fl.add("dup_ack")
                dupnum = fwd.dupacknum
        if ack != fwd.lastack:
            fwd.dupacknum = 0
        if rev.seen and rev.msa and gt(ack, rev.msa) and A:
            if gt(rev.nextseq, rev.msa):  # a hole: ACKed past it
                rev.msa = rev.nextseq
                fl.add("ack_lost_segment")
            else:
                if rev.dupacknum == 0:
                    fl.add("ack_lost_segment")
                rev.dupacknum = -1
        if (ln > 0 or S or F) and "keepalive" not in fl:
            sna = nset and gt(fwd.nextseq, seq)
            if ln > 1 and (fwd.nextseq - 1) % M == seq:
                sna = False
            thres = c["rtt"] or 3000
            many = rev.dupacknum >= 2 or rev.dupacknum == -1  # unsigned in Wireshark
            if ln > 0 and rev.lastack and not gt((seq + ln) % M, rev.lastack):
                fl |= {"spurious_retransmission", "retransmission"}
            elif sna and many and rev.lastack == seq and t - rev.lastacktime < 20000:
                fl |= {"fast_retransmission", "retransmission"}
            elif (sna and t - fwd.nextseqtime < thres
                  and fwd.nextseq != (seq + ln + (1 if (S or F) else 0)) % M):  # fmt: skip
                fl.add("out_of_order")
            elif sna:
                fl.add("retransmission")
        end = (seq + ln + (1 if (S or F) else 0)) % M
        if "zero_window_probe" not in fl:
            if not fwd.seen or gt(end, fwd.nextseq):
                fwd.nextseq, fwd.nextseqtime = end, t
            if not fwd.seen or seq == fwd.msa:
                fwd.msa = fwd.nextseq
            fwd.seen = True
        fwd.window, fwd.lastack, fwd.lastacktime = win, ack, t
        fwd.lastflags = set(fl)
        if R:
            fl.add("rst")
        out.append((fl, dupnum))
    return out
