"""TCP sequence analysis with Wireshark's ``tcp.analysis`` semantics, vectorised.

For every TCP packet of the ``packets`` table, in trace order within its connection, zdiag
computes the classes Wireshark's TCP dissector (``tcp_analyze_sequence_number``, 4.0) flags,
one boolean column each (``tables.ANALYSIS_CLASSES``), plus ``reset`` (the RST segment; the
table's own ``rst`` column is the raw TCP flag and is left alone), ``dup_ack_num`` (the
duplicate-ACK number), ``missing_segments_est`` (gap bytes / typical segment size of that
side) and ``analysis``: the highest-precedence class (``PRECEDENCE``), "" when none.

How the history is kept without a loop per packet: rows are put in (connection, direction,
trace order) order, where each direction's sequence numbers are unwrapped by a cumulative
sum of signed 32-bit differences. "Next expected sequence number" is a cumulative maximum of
segment ends (zero-window probes excluded, found by a short fixed-point iteration); the
state of the other direction (its last window, last ACK, its time, its duplicate-ACK run,
whether its last segment was a keepalive or a probe) is a forward fill of "the last row of
that direction" indexes (``np.maximum.accumulate``); duplicate-ACK counters are counts since
the last reset. The one piece of state that is neither -- "max seq to be ACKed", which stays
at the start of a capture hole until the hole is filled or ACKed past -- is found with
sorted look-ups and a max sparse table for all candidate holes at once; only choosing which
candidates really open a hole walks the (few) candidates, not the packets.

The semantics follow Wireshark's packet-tcp.c as tshark 4.0.17 (Debian 12) behaves; the
rules for "ACKed unseen segment" and the duplicate-ACK counter it resets to -1 (unsigned in
Wireshark, hence "many" for the fast-retransmission test) were settled by experiment
against that tshark. Checked packet by packet against tshark on scenario and random traces
(tests/test_tcp_analysis.py).

Where zdiag differs from Wireshark on purpose, see ``DIFFERENCES``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from zdiag.tables import ANALYSIS_CLASSES, STR, conform

M32 = 1 << 32
H31 = 1 << 31
#: window value standing for "not yet seen" (Wireshark starts a flow with G_MAXUINT32)
NO_WINDOW = M32 - 1
#: out-of-order threshold while the handshake RTT is unknown (Wireshark: 3 ms), in µs
OOO_DEFAULT_US = 3000
#: a retransmission within this time (µs) of the peer's duplicate ACKs is a fast one
FAST_RETRANS_US = 20000

#: ``analysis`` names the first class of this list a packet has (most specific first)
PRECEDENCE = (
    "fast_retransmission", "spurious_retransmission", "retransmission", "out_of_order",
    "previous_segment_not_captured", "ack_lost_segment", "zero_window_probe",
    "zero_window_probe_ack", "keepalive", "keepalive_ack", "dup_ack", "zero_window",
    "window_full", "window_update", "rst",
)  # fmt: skip

#: analysis class -> boolean column (only ``rst`` differs: the packets table's ``rst`` is
#: the raw flag)
CLASS_COLUMN = {**{c: c for c in ANALYSIS_CLASSES}, "rst": "reset"}

#: IBM formatter letter (F column) -> zdiag classes that mean the same thing
IBM_LETTER_CLASSES = {
    "r": ("retransmission", "fast_retransmission", "spurious_retransmission"),
    "o": ("out_of_order",),
    "u": ("dup_ack",),
    "w": ("window_update",),
    "z": ("zero_window",),
    "p": ("zero_window_probe",),
    "k": ("keepalive",),
}

DIFFERENCES = """\
- rst: not a tcp.analysis flag in Wireshark; zdiag's class is Wireshark's expert item
  tcp.connection.rst (every segment with RST). Its column is ``reset`` because ``rst`` is
  the raw flag of the packets table.
- window_full: zdiag compares with the peer's window as stored (IPCS prints windows already
  scaled; the pcap reader scales them when both SYNs offer a scale) and treats the scale as
  known once any SYN of the connection was seen. Wireshark also waits for a SYN, but with a
  window-scale option on the only SYN seen it stays unknown, and its first-ACK rule differs.
- Wireshark starts a new TCP stream when a 4-tuple is reused after a close; zdiag keeps one
  connection per 4-tuple and file (tcp.analysis.reused_ports is not computed).
- Wireshark tests a raw value of 0 for "no sequence number seen yet"; zdiag keeps an
  explicit flag, so a real sequence number 0 is ordinary here.
- A connection spread over several files is analysed per file.
"""


def _s32(x: np.ndarray) -> np.ndarray:
    """Signed 32-bit difference of int64 values."""
    return ((x + H31) % M32) - H31


def _gt32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Wireshark's GT_SEQ(a, b): a is after b in 32-bit sequence space."""
    return _s32(b - a) < 0


class _Groups:
    """Contiguous groups over an ordered array: starts and 'last row with mask' lookups."""

    def __init__(self, gid: np.ndarray):
        n = len(gid)
        self.n = n
        self.ar = np.arange(n, dtype=np.int64)
        self.new = np.r_[True, gid[1:] != gid[:-1]] if n else np.zeros(0, bool)
        self.start = np.maximum.accumulate(np.where(self.new, self.ar, 0)) if n else self.ar
        ends = np.r_[np.flatnonzero(self.new)[1:], n] if n else self.ar
        self.end = np.repeat(ends, np.diff(np.r_[np.flatnonzero(self.new), n])) if n else self.ar

    def last(self, mask: np.ndarray, strict: bool = False) -> np.ndarray:
        """Index of the last row j <= i (j < i if strict) of i's group with mask[j]; -1."""
        idx = np.maximum.accumulate(np.where(mask, self.ar, -1)) if self.n else self.ar
        if strict and self.n:
            idx = np.r_[-1, idx[:-1]]
        return np.where(idx >= self.start, idx, -1)

    def shift(self, x: np.ndarray, fill) -> np.ndarray:
        """Previous row's value in the group (fill at a group start)."""
        if not self.n:
            return x.copy()
        out = np.r_[x[:1], x[:-1]].astype(np.result_type(x, np.asarray(fill)))
        out[self.new] = fill
        return out

    def cummax(self, x: np.ndarray, gid_rank: np.ndarray) -> np.ndarray:
        """Cumulative maximum within groups (values must lie in (-2**37, 2**38))."""
        big = np.int64(1) << 39
        return np.maximum.accumulate(x + gid_rank * big) - gid_rank * big


def _take(x: np.ndarray, idx: np.ndarray, fill) -> np.ndarray:
    out = x[np.clip(idx, 0, None)] if len(x) else x.copy()
    out = out.astype(np.result_type(out, np.asarray(fill)))
    out[idx < 0] = fill
    return out


def _micros(df: pd.DataFrame, key: np.ndarray) -> np.ndarray:
    """Packet time in integer microseconds (exact comparisons, as Wireshark's nanoseconds);
    where a connection lacks timestamps, the running sum of its printed deltas."""
    ts = df["ts"] if "ts" in df else pd.Series(pd.NaT, index=df.index)
    nat = ts.isna().to_numpy()
    t = pd.to_datetime(ts).astype("datetime64[us]").to_numpy().astype("int64")
    if nat.any():
        delta = (
            pd.to_numeric(df["delta_s"], errors="coerce").fillna(0).to_numpy(dtype=float)
            if "delta_s" in df
            else np.zeros(len(df))
        )
        dus = np.round(delta * 1e6).astype(np.int64)
        dsum = pd.Series(dus).groupby(key).cumsum().to_numpy()
        bad = pd.Series(nat).groupby(key).transform("any").to_numpy()
        t = np.where(bad, dsum, t)
    return t


def _is(s: pd.Series, value: str) -> np.ndarray:
    return (s == value).fillna(False).to_numpy(dtype=bool)


def _flag(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df:
        return np.zeros(len(df), bool)
    return df[col].fillna(False).to_numpy(dtype=bool)


def _int(df: pd.DataFrame, col: str, fill: int = 0) -> np.ndarray:
    if col not in df:
        return np.full(len(df), fill, np.int64)
    return pd.to_numeric(df[col], errors="coerce").fillna(fill).to_numpy(dtype=np.int64)


def _conn_key(df: pd.DataFrame) -> np.ndarray:
    """One integer per (case, source, conn), numbered in order of first appearance."""
    key = np.zeros(len(df), np.int64)
    for c in ("case", "source", "conn"):
        if c in df:
            codes, uniq = pd.factorize(df[c], sort=False)
            key = key * (len(uniq) + 1) + (codes + 1)
            key = pd.factorize(key, sort=False)[0].astype(np.int64)
    return key


def analysable(df: pd.DataFrame) -> np.ndarray:
    """Rows the analysis covers: TCP packets with a sequence number."""
    ok = df["seq"].notna().to_numpy().copy() if "seq" in df else np.zeros(len(df), bool)
    if "protocol" in df:  # judged once per distinct value (a missing one counts as TCP)
        codes, uniq = pd.factorize(df["protocol"], use_na_sentinel=False)
        tcp = np.array([str("TCP" if pd.isna(u) else u).upper() == "TCP" for u in uniq], bool)
        ok &= tcp[codes] if len(uniq) else np.ones(len(df), bool)
    if "conn" in df:
        ok &= df["conn"].notna().to_numpy()
    return ok


_INPUT_COLUMNS = ("case", "source", "conn", "direction", "seq", "ack_num", "window",
                  "data_len", "syn", "ack", "fin", "rst", "ts", "delta_s")  # fmt: skip


def analyse(packets: pd.DataFrame) -> pd.DataFrame:
    """``packets`` with the analysis columns added (a new frame; the input is not changed).

    Existing analysis columns (a second run) are replaced."""
    n = len(packets)
    cols = {CLASS_COLUMN[c]: np.zeros(n, bool) for c in (*ANALYSIS_CLASSES, "rst")}
    dupnum = np.zeros(n, np.int64)
    missing = np.full(n, -1, np.int64)
    ok = analysable(packets) if n else np.zeros(0, bool)
    rows = np.flatnonzero(ok)
    if len(rows):
        need = [c for c in _INPUT_COLUMNS if c in packets.columns]
        sub = packets[need]
        got = _analyse_rows(sub.iloc[rows] if len(rows) < n else sub)
        for name, arr in got.items():
            if name == "dup_ack_num":
                dupnum[rows] = arr
            elif name == "missing_segments_est":
                missing[rows] = arr
            else:
                cols[name][rows] = arr
    # the label of each row as a code into ("", *PRECEDENCE), text built by Arrow's take
    code = np.zeros(n, np.int64)
    for k in range(len(PRECEDENCE), 0, -1):
        code[cols[CLASS_COLUMN[PRECEDENCE[k - 1]]]] = k
    label = pa.array(["", *PRECEDENCE], type=pa.large_string()).take(pa.array(code))
    new = {name: pd.array(arr, dtype="boolean") for name, arr in cols.items()}
    dn = pd.array(dupnum, dtype="Int64")
    dn[~cols["dup_ack"]] = pd.NA
    ms = pd.array(missing, dtype="Int64")
    ms[missing < 0] = pd.NA
    new.update({"dup_ack_num": dn, "missing_segments_est": ms,
                "analysis": pd.array(label, dtype=STR)})  # fmt: skip
    base = packets.drop(columns=[c for c in new if c in packets.columns])
    return pd.concat([base, pd.DataFrame(new, index=packets.index)], axis=1)


def _analyse_rows(df: pd.DataFrame) -> dict[str, np.ndarray]:
    m = len(df)
    g = _conn_key(df)
    # c-order: by connection, then trace order
    corder = np.argsort(g, kind="stable")
    inv = np.empty(m, np.int64)
    inv[corder] = np.arange(m)

    def c(x):
        return x[corder]

    gc = c(g)
    dr = c(_is(df["direction"], "in").astype(np.int64))
    seq = c(_int(df, "seq") % M32)
    ack = c(_int(df, "ack_num") % M32)
    win = c(_int(df, "window", NO_WINDOW))
    ln = c(np.maximum(_int(df, "data_len"), 0))
    S, A, F, R = (c(_flag(df, f)) for f in ("syn", "ack", "fin", "rst"))
    t = c(_micros(df, g))
    G = _Groups(gc)
    ar = G.ar

    # last row of each direction at or before i, and strictly before i
    last_d = [G.last(dr == d) for d in (0, 1)]
    prev_d = [G.last(dr == d, strict=True) for d in (0, 1)]
    prev_same = np.where(dr == 0, prev_d[0], prev_d[1])
    rev_last = np.where(dr == 0, last_d[1], last_d[0])

    # k-order: by connection, direction, trace order (each direction contiguous)
    kgid = gc * 2 + dr
    korder = np.lexsort((ar, kgid))
    kinv = np.empty(m, np.int64)
    kinv[korder] = ar
    K = _Groups(kgid[korder])
    krank = np.cumsum(K.new) - 1
    seqk = seq[korder]
    d = _s32(seqk - K.shift(seqk, 0))
    d[K.new] = 0
    cs = np.cumsum(d)
    seq_u_k = seqk[K.start] + cs - cs[K.start]
    sf_k = (S | F)[korder].astype(np.int64)
    end_u_k = seq_u_k + ln[korder] + sf_k
    tk = t[korder]

    win_rev = _take(win, rev_last, NO_WINDOW)
    cand_k = (ln[korder] == 1) & (win_rev[korder] == 0)
    neg = -(np.int64(1) << 37)

    def nextseq(excl):
        e = np.where(excl, neg, end_u_k)
        after = K.cummax(e, krank)
        before = K.shift(after, neg)
        nset = (before > neg) & (before % M32 != 0)
        return before, after, nset

    excl = cand_k.copy()
    for _ in range(64):
        n_before, n_after, nset_k = nextseq(excl)
        zwp_k = cand_k & nset_k & (seq_u_k == n_before)
        if np.array_equal(zwp_k, excl):
            break
        excl = zwp_k
    n_before, n_after, nset_k = nextseq(zwp_k)
    raised = ~zwp_k & (~nset_k | (end_u_k > n_before))
    last_raise = K.last(raised, strict=True)
    nst_k = _take(tk, last_raise, np.iinfo(np.int64).min // 2)

    # back to c-order
    def kc(x):
        return x[kinv]

    seq_u, N, Nset, Nafter = kc(seq_u_k), kc(n_before), kc(nset_k), kc(n_after)
    zwp, nst = kc(zwp_k), kc(nst_k)
    noSFR = ~(S | F | R)

    win_f = _take(win, prev_same, NO_WINDOW)
    lastack_f = _take(ack, prev_same, 0)

    zero_window = (win == 0) & noSFR & ~zwp
    lost = Nset & (seq_u > N) & ~R & ~zwp
    keepalive = (ln <= 1) & Nset & (seq_u == N - 1) & noSFR & ~zwp
    base = (ln == 0) & Nset & (seq_u == N) & noSFR & ~zwp
    same_ack = ack == lastack_f
    window_update = base & same_ack & (win != 0) & (win != win_f)
    lastack_r = _take(ack, rev_last, 0)
    # the peer's window scale is known once a SYN was seen (text traces print no options;
    # Wireshark: a SYN without the option settles "no scaling" for both sides)
    rev_syn = G.last(S) >= 0
    window_full = (
        (ln > 0) & rev_syn & (win_rev != NO_WINDOW)
        & ((seq + ln) % M32 == (lastack_r + win_rev) % M32) & noSFR & ~zwp
    )  # fmt: skip
    ka_r = _take(keepalive, rev_last, False)
    zwp_r = _take(zwp, rev_last, False)
    keepalive_ack = base & same_ack & (win != 0) & (win == win_f) & ka_r
    zwp_ack = base & same_ack & (win == 0) & (win == win_f) & zwp_r & ~keepalive_ack
    dup = base & same_ack & (win != 0) & (win == win_f) & ~keepalive_ack & ~zwp_ack

    trigger, hole_acked = _ack_beyond_msa(G, dr, A, ack, seq_u, N, Nset, Nafter, zwp,
                                          rev_last, gc, korder)  # fmt: skip
    counters = _dup_counters(G, dr, dup, ack != lastack_f, trigger)
    own_cnt = np.where(dr == 0, counters[0], counters[1])
    rev_cnt = np.where(dr == 0, counters[1], counters[0])
    # beyond a hole: always flagged; otherwise only while the other side's dup-ACK counter
    # is 0 (the counter then becomes -1, an unsigned 'many' for the fast-retransmit test)
    rev_before = np.where(dr == 0, G.shift(counters[1], 0), G.shift(counters[0], 0))
    ack_lost = hole_acked | (trigger & (rev_before == 0))
    dupcnt = np.where(dup, own_cnt, 0)

    # retransmission family (Wireshark's order: spurious, fast, out-of-order, plain)
    blk = ((ln > 0) | S | F) & ~keepalive
    sna = Nset & (seq_u < N) & ~((ln > 1) & (seq_u == N - 1))
    t_rev = _take(t, rev_last, np.iinfo(np.int64).min // 2)
    spurious = (
        blk & (ln > 0) & (lastack_r != 0) & ~_gt32((seq + ln) % M32, lastack_r)
    )  # fmt: skip
    fast = (
        blk & ~spurious & sna & ((rev_cnt >= 2) | (rev_cnt == -1)) & (lastack_r == seq)
        & ((t - t_rev) < FAST_RETRANS_US)
    )  # fmt: skip
    thres = _ooo_threshold(G, S, A, t)
    ooo = blk & ~spurious & ~fast & sna & ((t - nst) < thres) & (N != seq_u + ln + (S | F))
    retrans = blk & sna & ~spurious & ~fast & ~ooo

    missing = np.full(m, -1, np.int64)
    if lost.any():
        seg = _typical_segment(kgid, ln)
        gap = seq_u - N
        missing = np.where(lost, -(-gap // np.maximum(seg, 1)), -1)

    res = {
        "retransmission": retrans | fast | spurious,
        "fast_retransmission": fast,
        "spurious_retransmission": spurious,
        "out_of_order": ooo,
        "previous_segment_not_captured": lost,
        "ack_lost_segment": ack_lost,
        "dup_ack": dup,
        "zero_window": zero_window,
        "zero_window_probe": zwp,
        "zero_window_probe_ack": zwp_ack,
        "window_update": window_update,
        "window_full": window_full,
        "keepalive": keepalive,
        "keepalive_ack": keepalive_ack,
        "reset": R.copy(),
        "dup_ack_num": np.where(dup, dupcnt, 0),
        "missing_segments_est": missing,
    }
    # back to the input's row order
    return {k: v[inv] for k, v in res.items()}


def _typical_segment(kgid: np.ndarray, ln: np.ndarray) -> np.ndarray:
    """Median payload of the packet's direction (of its connection when that sent none)."""
    s = pd.Series(np.where(ln > 0, ln, np.nan))
    med = s.groupby(kgid).transform("median")
    conn_med = s.groupby(kgid // 2).transform("median")
    return med.fillna(conn_med).fillna(1).to_numpy().astype(np.int64)


def _ooo_threshold(G: _Groups, S, A, t) -> np.ndarray:
    """Per packet: the connection's handshake RTT once known, else 3 ms."""
    syn_only = G.last(S & ~A)
    first_ack = A & ~S & (syn_only >= 0)
    idx = np.where(first_ack, G.ar, G.n)
    # first such row per group: minimum over the group, broadcast
    gmin = np.minimum.reduceat(idx, np.flatnonzero(G.new)) if G.n else idx
    fa = np.repeat(gmin, np.diff(np.r_[np.flatnonzero(G.new), G.n]))
    has = fa < G.n
    fa_c = np.clip(fa, 0, G.n - 1)
    rtt = np.where(has, t[fa_c] - _take(t, syn_only[fa_c], 0), 0)
    known = has & (G.ar >= fa) & (rtt > 0)
    return np.where(known, rtt, OOO_DEFAULT_US)


def _ack_beyond_msa(G, dr, A, ack, seq_u, N, Nset, Nafter, zwp, rev_last, gc, korder):
    """Rows whose ACK goes beyond the other direction's 'max seq to be ACKed' (msa).

    Without a capture hole a direction's msa equals its next expected sequence number
    (``trigger``: an ACK beyond it). A segment that does not start at msa but raises the
    next expected number leaves msa at the old value h (a hole) until a segment starting
    exactly at h arrives or the peer ACKs beyond h (``hole_acked``: flagged, and msa jumps
    to the next expected number). Where each possible hole would close is found for all
    candidates at once (sorted look-ups and a max sparse table); only the choice of which
    candidates open a hole (those after the previous hole closed) walks the candidates.
    """
    m = G.n
    n_rev = _take(Nafter, rev_last, 0)
    msa = n_rev.copy()
    hole_acked = np.zeros(m, bool)
    opens = np.flatnonzero(~zwp & Nset & (seq_u != N) & (Nafter > N))
    if len(opens):
        kgid = gc * 2 + dr
        h = N[opens]
        q_same = _first_same_seq(kgid, ~zwp, seq_u, opens, h)
        ack_u = n_rev + _s32(ack - n_rev % M32)
        val = np.where(A & (rev_last >= 0), ack_u, np.iinfo(np.int64).min)
        q_ack = _first_above(kgid, korder, val, opens, kgid[opens] ^ 1, h)
        q = np.minimum(np.minimum(q_same, q_ack), G.end[opens])
        acc = _accepted(kgid[opens], opens, q)
        p_a, q_a, h_a = opens[acc], q[acc], h[acc]
        end_a = G.end[p_a]
        for d in (0, 1):
            sel = dr[p_a] == d
            if not sel.any():
                continue
            starts, stops = p_a[sel] + 1, np.minimum(q_a[sel] + 1, end_a[sel])
            mark = np.zeros(m + 1, np.int64)
            np.add.at(mark, starts, 1)
            np.add.at(mark, stops, -1)
            inside = np.cumsum(mark)[:m] > 0
            hid = np.full(m + 1, -1, np.int64)
            hid[starts] = np.arange(len(starts))
            hid = np.maximum.accumulate(hid)[:m]
            peer = inside & (dr != d)
            msa[peer] = h_a[sel][hid[peer]]
            qs = q_a[sel]
            closed_by_ack = (qs < end_a[sel]) & (dr[np.minimum(qs, m - 1)] != d)
            hole_acked[qs[closed_by_ack]] = True
    msa_set = (rev_last >= 0) & (msa % M32 != 0)
    trigger = A & msa_set & _gt32(ack, msa % M32) & ~hole_acked
    return trigger, hole_acked


def _first_same_seq(kgid, ok, seq_u, opens, h) -> np.ndarray:
    """Per candidate p: the first row q > p of p's direction (``ok``) whose sequence number
    is h; len(kgid) when there is none."""
    m = len(kgid)
    rows = np.flatnonzero(ok)
    off = np.int64(1) << 40
    comp = (kgid[rows] << 41) | (seq_u[rows] + off)
    uc, inv = np.unique(comp, return_inverse=True)
    key2 = np.sort(inv.astype(np.int64) * (m + 1) + rows)
    cq = (kgid[opens] << 41) | (h + off)
    idx = np.searchsorted(uc, cq)
    exists = (idx < len(uc)) & (uc[np.minimum(idx, len(uc) - 1)] == cq)
    r = np.searchsorted(key2, idx * (m + 1) + opens + 1)
    rc = np.minimum(r, len(key2) - 1)
    ok_r = exists & (r < len(key2)) & (key2[rc] // (m + 1) == idx)
    return np.where(ok_r, key2[rc] % (m + 1), m)


def _first_above(kgid, korder, val, opens, kg_q, h) -> np.ndarray:
    """Per candidate p: the first row q > p of group ``kg_q`` (the peer direction) with
    val[q] > h; len(kgid) when there is none. Binary lifting over a max sparse table."""
    m = len(kgid)
    ck = kgid[korder] * (m + 1) + korder  # sorted: k-order is (group, trace order)
    vk = val[korder]
    s = np.searchsorted(ck, kg_q * (m + 1) + opens + 1)
    gend = np.searchsorted(ck, (kg_q + 1) * (m + 1))
    longest = int((gend - s).max()) if len(s) else 0
    levels = [vk]
    while (1 << len(levels)) <= max(longest, 1):
        prev, step = levels[-1], 1 << (len(levels) - 1)
        nxt = prev.copy()
        nxt[:-step] = np.maximum(prev[:-step], prev[step:])
        levels.append(nxt)
    pos = s.copy()
    for j in range(len(levels) - 1, -1, -1):
        step = 1 << j
        room = pos + step <= m
        lv = levels[j][np.minimum(pos, m - 1)]
        move = room & (pos < m) & (lv <= h)
        pos = np.where(move, pos + step, pos)
    found = (pos < gend) & (vk[np.minimum(pos, m - 1)] > h)
    return np.where(found, korder[np.minimum(pos, m - 1)], m)


def _accepted(kg, opens, q) -> np.ndarray:
    """Candidates that open a hole: the first of their direction, then the first after the
    previous hole closed (a walk over candidates, not packets)."""
    order = np.lexsort((opens, kg))
    kg_l, p_l, q_l = kg[order].tolist(), opens[order].tolist(), q[order].tolist()
    keep = []
    last, until = -1, -1
    for i, (k, p, qq) in enumerate(zip(kg_l, p_l, q_l, strict=True)):
        if k != last:
            last, until = k, -1
        if p <= until:
            continue
        keep.append(i)
        until = qq
    acc = order[np.asarray(keep, dtype=np.int64)]
    return np.sort(acc)


def _dup_counters(G, dr, dup, ack_change, trigger) -> list[np.ndarray]:
    """Each direction's duplicate-ACK counter after every row (Wireshark's dupacknum).

    It counts duplicate ACKs since the last anchor: the direction's ACK number changing
    (back to 0), or the other side ACKing beyond this side's msa (to -1, which the next
    duplicate ACK turns into 1).
    """
    out = []
    for d in (0, 1):
        own = dr == d
        anchor = (own & ack_change) | (~own & trigger)
        dd = (own & dup).astype(np.int64)
        cs = np.cumsum(dd)
        la = G.last(anchor)
        before_group = cs[G.start] - dd[G.start]
        base = np.where(la >= 0, cs[np.clip(la, 0, None)], before_group)
        cnt = cs - base
        neg = np.where(la >= 0, (~own & trigger)[np.clip(la, 0, None)], False)
        out.append(np.where(cnt > 0, cnt, np.where(neg, -1, 0)))
    return out


# ---- per-connection summary and IBM comparison -------------------------------------------


def conn_analysis(packets: pd.DataFrame) -> pd.DataFrame:
    """One row per connection: class counts per side, RTT, times, idle gap, who reset."""
    ok = analysable(packets)
    if not ok.any():
        return pd.DataFrame()
    need = [*_INPUT_COLUMNS, "line", "nr", "local_ip", "local_port", "remote_ip",
            "remote_port", *CLASS_COLUMN.values()]  # fmt: skip
    sub = packets[[c for c in need if c in packets.columns]].loc[ok]
    g0 = _conn_key(sub)
    order = np.argsort(g0, kind="stable")
    df = sub.iloc[order].reset_index(drop=True)
    g = g0[order].astype(np.int64)
    n, ng = len(df), int(g.max()) + 1
    G = _Groups(g)
    starts = np.flatnonzero(G.new)
    t = _micros(df, g)
    out_side = _is(df["direction"], "out")
    cols: dict[str, object] = {}
    for col in ("case", "source", "line", "conn", "local_ip", "local_port", "remote_ip",
                "remote_port"):  # fmt: skip
        if col in df:
            cols[col] = df[col].iloc[starts].reset_index(drop=True)
    counted = {"packets": np.ones(n), "bytes": _int(df, "data_len").astype(float)}
    for cls in (*ANALYSIS_CLASSES, "rst"):
        counted[cls] = _flag(df, CLASS_COLUMN[cls]).astype(float)
    g_side = g * 2 + (~out_side)  # 0: local sent it, 1: remote
    for name, v in counted.items():
        both = np.bincount(g_side, weights=v, minlength=2 * ng).reshape(ng, 2)
        both = np.round(both).astype(np.int64)
        cols[f"{name}_local"] = pd.array(both[:, 0], dtype="Int64")
        cols[f"{name}_remote"] = pd.array(both[:, 1], dtype="Int64")
    ts = df["ts"] if "ts" in df else pd.Series(pd.NaT, index=df.index)
    cols["first_ts"] = ts.groupby(g).min().reset_index(drop=True)
    cols["last_ts"] = ts.groupby(g).max().reset_index(drop=True)
    cols["duration_s"] = (np.maximum.reduceat(t, starts) - np.minimum.reduceat(t, starts)) / 1e6
    gap = np.r_[-1, np.diff(t)]
    gap[G.new] = -1
    idle_at = np.lexsort((-gap, g))[starts] if n else starts  # row of each group's max gap
    has_gap = gap[idle_at] >= 0
    cols["longest_idle_s"] = np.where(has_gap, gap[idle_at] / 1e6, np.nan)
    for name, col in (("longest_idle_before_nr", "nr"), ("longest_idle_before_line", "line")):
        vals = _int(df, col, -1)[idle_at]
        cols[name] = pd.array(np.where(has_gap, vals, -1), dtype="Int64")
        cols[name][~has_gap] = pd.NA
    cols["handshake_rtt_s"] = _handshake_rtt(G, _flag(df, "syn"), _flag(df, "ack"), t)
    for flag, name in (("rst", "first_rst_by"), ("fin", "first_fin_by")):
        idx = np.minimum.reduceat(np.where(_flag(df, flag), G.ar, n), starts)
        who = np.where(out_side[np.clip(idx, 0, n - 1)], "local", "remote").astype(object)
        who[idx >= n] = None
        cols[name] = pd.array(who, dtype=STR)
    cols["final_state"] = _final_state(df, out_side, starts)
    return pd.DataFrame(cols)


def _handshake_rtt(G: _Groups, syn, ackf, t) -> np.ndarray:
    """Seconds from the last SYN (no ACK) to the first ACK (no SYN) after it."""
    last_syn = G.last(syn & ~ackf)
    first_ack = ackf & ~syn & (last_syn >= 0)
    starts = np.flatnonzero(G.new)
    fa = np.minimum.reduceat(np.where(first_ack, G.ar, G.n), starts)
    fa_c = np.clip(fa, 0, G.n - 1)
    return np.where(fa < G.n, (t[fa_c] - t[np.clip(last_syn[fa_c], 0, None)]) / 1e6, np.nan)


def _final_state(df: pd.DataFrame, out_side: np.ndarray, starts: np.ndarray) -> pd.Series:
    def per(mask):
        return np.logical_or.reduceat(mask, starts)

    syn, ackf = _flag(df, "syn"), _flag(df, "ack")
    fin, rst = _flag(df, "fin"), _flag(df, "rst")
    fin_l, fin_r = per(fin & out_side), per(fin & ~out_side)
    syn_only, synack, plain = per(syn & ~ackf), per(syn & ackf), per(~syn & ackf)
    state = np.full(len(starts), "ESTABLISHED", dtype=object)
    state[syn_only & ~synack] = "SYN_SENT (no SYN-ACK seen)"
    state[synack & ~plain] = "SYN_RECEIVED (handshake not completed)"
    state[fin_l & ~fin_r] = "FIN_WAIT (local sent FIN)"
    state[fin_r & ~fin_l] = "CLOSE_WAIT (remote sent FIN)"
    state[fin_l & fin_r] = "CLOSED (FIN both ways)"
    state[per(rst)] = "CLOSED (reset)"
    return pd.array(state, dtype=STR)


#: report kinds whose packet rows carry the formatter's own flag letter
IBM_FLAG_KINDS = frozenset({"systcpda.session"})


def ibm_disagreements(packets: pd.DataFrame, text_sources=None) -> pd.DataFrame:
    """Per file and IBM letter: packets IBM flags, packets zdiag flags, and both.

    Only files whose packets come from IBM's formatter text count (``text_sources``; by
    default those with at least one F letter): there a blank F column is IBM saying
    "nothing", which is a disagreement when zdiag flags the packet.

    Counted with integer codes (factorised file keys, bincount), not string keys, so that
    a million packets cost milliseconds; rows come letter by letter, files in the order
    they first appear.
    """
    if "ibm_flag" not in packets or not len(packets):
        return pd.DataFrame()
    n = len(packets)
    if "source" in packets:
        s_codes, s_uniq = pd.factorize(packets["source"], use_na_sentinel=False)
        s_names = pd.Index(s_uniq).astype(str).to_numpy(dtype=object)
    else:
        s_codes, s_names = np.zeros(n, np.int64), np.array([""], dtype=object)
    if text_sources is None:
        flagged = np.unique(s_codes[packets["ibm_flag"].notna().to_numpy()])
        text_sources = set(s_names[flagged])
    keep = np.isin(s_codes, np.flatnonzero(pd.Index(s_names).isin(list(text_sources))))
    if not keep.any():
        return pd.DataFrame()
    df = packets.loc[keep]
    f_codes, f_uniq = pd.factorize(df["ibm_flag"], use_na_sentinel=False)
    f_letters = np.array(
        [str(u).strip() if not pd.isna(u) else "" for u in f_uniq], dtype=object
    )  # few distinct values
    if "case" in df:
        c_codes, c_uniq = pd.factorize(df["case"], use_na_sentinel=False)
        c_names = pd.Index(c_uniq).astype(str).to_numpy(dtype=object)
    else:
        c_codes, c_names = np.zeros(len(df), np.int64), np.array([""], dtype=object)
    sk = s_codes[keep]
    g_codes, g_uniq = pd.factorize(c_codes.astype(np.int64) * len(s_names) + sk)
    n_groups = len(g_uniq)
    g_case = c_names[g_uniq // len(s_names)]
    g_source = s_names[g_uniq % len(s_names)]
    parts = {k: [] for k in ("case", "source", "ibm_letter", "class", "ibm_count",
                             "zdiag_count", "both")}  # fmt: skip
    for let, classes in IBM_LETTER_CLASSES.items():
        ibm = np.isin(f_codes, np.flatnonzero(f_letters == let))
        mine = np.zeros(len(df), bool)
        for cls in classes:
            mine |= df[CLASS_COLUMN[cls]].fillna(False).to_numpy(dtype=bool)
        parts["case"].append(g_case)
        parts["source"].append(g_source)
        parts["ibm_letter"].append(np.full(n_groups, let, dtype=object))
        parts["class"].append(np.full(n_groups, "|".join(classes), dtype=object))
        for col, v in (("ibm_count", ibm), ("zdiag_count", mine), ("both", ibm & mine)):
            parts[col].append(np.bincount(g_codes, weights=v, minlength=n_groups).astype(int))
    res = pd.DataFrame({k: np.concatenate(v) for k, v in parts.items()})
    res["ibm_only"] = res["ibm_count"] - res["both"]
    res["zdiag_only"] = res["zdiag_count"] - res["both"]
    res["disagreements"] = res["ibm_only"] + res["zdiag_only"]
    return res


def _ibm_disagreements_reference(packets: pd.DataFrame, text_sources=None) -> pd.DataFrame:
    """The string-keyed group-by that :func:`ibm_disagreements` replaced (tests compare)."""

    if "ibm_flag" not in packets or not len(packets):
        return pd.DataFrame()
    src = (
        packets["source"].astype(str) if "source" in packets else pd.Series("", index=packets.index)
    )
    if text_sources is None:
        text_sources = set(src[packets["ibm_flag"].notna()])
    keep = src.isin(text_sources).to_numpy()
    if not keep.any():
        return pd.DataFrame()
    df = packets.loc[keep]
    letter = df["ibm_flag"].astype(object).fillna("").astype(str).str.strip().to_numpy()
    case = df["case"].astype(str) if "case" in df else pd.Series("", index=df.index)
    keys = (case + "\x00" + src[keep]).to_numpy()
    frames = []
    for let, classes in IBM_LETTER_CLASSES.items():
        ibm = letter == let
        mine = np.zeros(len(df), bool)
        for cls in classes:
            mine |= df[CLASS_COLUMN[cls]].fillna(False).to_numpy(dtype=bool)
        frames.append(
            pd.DataFrame(
                {
                    "_k": keys,
                    "ibm_letter": let,
                    "class": "|".join(classes),
                    "ibm_count": ibm.astype(int),
                    "zdiag_count": mine.astype(int),
                    "both": (ibm & mine).astype(int),
                }
            )  # fmt: skip
        )
    allf = pd.concat(frames, ignore_index=True)
    res = allf.groupby(["_k", "ibm_letter", "class"], sort=False).sum().reset_index()
    parts = res["_k"].astype(str).str.split("\x00", n=1, expand=True)
    res.insert(0, "case", parts[0])
    res.insert(1, "source", parts[1])
    res["ibm_only"] = res["ibm_count"] - res["both"]
    res["zdiag_only"] = res["zdiag_count"] - res["both"]
    res["disagreements"] = res["ibm_only"] + res["zdiag_only"]
    return res.drop(columns="_k")


_DISAGREEMENT_KEYS = ["case", "source", "ibm_letter", "class"]


def merge_disagreements(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """:func:`ibm_disagreements` of the whole table from those of its parts (buckets of
    connections): the counts of the same file, letter and class add up."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame()
    df = pd.concat(parts, ignore_index=True)
    return df.groupby(_DISAGREEMENT_KEYS, sort=False, dropna=False).sum().reset_index()


def add_to_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Pipeline step: analysis columns on ``packets``, plus ``conn_analysis`` and
    ``ibm_disagreements`` tables (only when a packets table exists)."""
    pk = tables.get("packets")
    if pk is None:
        return tables
    out = dict(tables)
    out["packets"] = analyse(pk)
    ca = conn_analysis(out["packets"])
    if len(ca):
        out["conn_analysis"] = conform("conn_analysis", ca)
    files = tables.get("files")
    text_sources = None
    if files is not None and len(files) and "kind" in files:
        # only the SESSION DETAIL table prints IBM's flag letter (its F column)
        text = files.loc[files["kind"].astype(str).isin(IBM_FLAG_KINDS), "source"].astype(str)
        text_sources = set(text)
    dis = ibm_disagreements(out["packets"], text_sources)
    if len(dis):
        out["ibm_disagreements"] = conform("ibm_disagreements", dis)
    return out
