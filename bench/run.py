"""zdiag's benchmark (SPEC §7): parse throughput per kind against baselines, peak memory, scaling.

    python bench/run.py                  # 10 MB and 100 MB per kind (add --sizes 10,100,1000)
    python bench/run.py --quick          # CI smoke: ~1 MB, asserts nothing about speed

For every kind with a generator under ``bench/gen/`` and every size, one seeded input is
generated (cached under ``--data``), then each method runs in its OWN child process, end to
end from the file to typed parquet (process start included); the parent reads the child's
peak RSS with ``os.wait4``. Methods on the same text:

- ``zdiag``: ``zdiag.stream.parse_to_parquet`` → every table → parquet;
- ``scan`` (systcpda.session, or asked for with ``--methods``): ``zdiag.scan`` end to end —
  parse, TCP analysis, every bundled rule — with a large trace's packets spilled to disk
  (its peak RSS is SPEC's "1 GB input under 2 GB" for a whole scan);
- ``lark``: Lark LALR building a full tree of each packet table, then columns → parquet (the
  naive way; smallest size only);
- ``re``: one Python ``re`` pass of the grammar's row pattern over the lines + DataFrame;
- ``pyarrow``: pyarrow line read + ``compute.extract_regex`` (RE2);
- ``polars``: polars ``scan_csv`` of the lines + ``str.extract_groups`` (Rust regex, all
  cores) — the floor.

All baselines use the row pattern derived from the grammar (``zdiag.grammar.row_regex``) and
cast to the same column types. Results go to ``bench/results.json`` and a table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

METHODS = ("zdiag", "scan", "polars", "pyarrow", "re", "lark")
LARK_MAX_MB = 10  # the naive baseline runs on the smallest size only (SPEC §7)
RULES_MAX_MB = 100  # "rules over the result" reads the tables whole (SPEC §7: ~1M packets)
TARGET_FLOOR_RATIO = 1.5
TARGET_MBPS_OTHER = 10.0
TARGET_SCALING = 110.0  # 1 GB time ≤ 110 × the 10 MB time


# ---- child side: one method, one file → parquet ---------------------------------------------
def _cast_exprs_polars(types: dict, trail: set):
    import polars as pl

    m = {"int": pl.Int64, "float": pl.Float64, "str": pl.String}

    def col(c):
        return pl.col(c + TRAIL).str.strip_chars_end(" \t").alias(c) if c in trail else pl.col(c)

    return [col(c).cast(m[t], strict=False) for c, t in types.items()]


def _cast_pandas(cols: dict, types: dict):
    import pandas as pd

    out = {}
    for c, t in types.items():
        v = cols[c]
        if t == "int":
            out[c] = pd.array(pd.to_numeric(pd.Series(v, dtype=object)), dtype="Int64")
        elif t == "float":
            out[c] = pd.array(pd.to_numeric(pd.Series(v, dtype=object)), dtype="Float64")
        else:
            out[c] = pd.array(v, dtype=pd.StringDtype("pyarrow"))
    return pd.DataFrame(out)


def _text_types(pattern: str, match_group: str) -> dict:
    """Every named group of the row pattern as a text column (kinds without typed columns)."""
    import re

    names = re.findall(r"\(\?P<(\w+)>", pattern)
    names = [n[: -len(TRAIL)] if n.endswith(TRAIL) else n for n in names]
    return {n: "str" for n in dict.fromkeys(names) if n != match_group}


#: zdiag.grammar.TRAIL: a group that also holds the blanks after its value (strip them)
TRAIL = "__t"


def _trail_columns(pattern: str, types: dict) -> set:
    return {c for c in types if f"(?P<{c}{TRAIL}>" in pattern}


def child(method: str, kind: str, path: str, outdir: str) -> dict:
    from bench.gen import all_generators

    if method == "rules":  # reads zdiag's output of an earlier run; writes nothing
        return rules_child(path)
    if method == "scan":  # zdiag.scan end to end: parse, TCP analysis, every bundled rule
        from zdiag.rules.scan import scan

        res = scan([path], kind=kind)
        rows = {n: len(df) for n, df in res.tables.items() if n not in ("files", "unrecognised")}
        spill = res.tables.spill
        if spill is not None:  # the big table stayed on disk: count its rows there
            rows.update(spill.rows)
        return {"rows": {**rows, "findings": len(res.findings)},
                "spilled": sorted(spill.tables) if spill is not None else []}  # fmt: skip
    gen = all_generators()[kind]
    out = Path(outdir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    if method == "zdiag":
        # the library's file → parquet path: large files are parsed in pieces and each
        # piece's tables are written out at once (memory bounded by a piece)
        from zdiag.stream import parse_to_parquet

        rows = parse_to_parquet([path], out, kind=kind)
        rows.pop("files", None)
        return {"rows": rows}
    # the parent derived the row pattern from the grammar (zdiag.grammar.row_regex), so that a
    # baseline pays only for its own library, not for importing zdiag and Lark
    pattern = os.environ["ZDIAG_BENCH_PATTERN"]
    MATCH_GROUP = "__m"  # noqa: N806 - zdiag.grammar.MATCH_GROUP
    types = gen.row_types or _text_types(pattern, MATCH_GROUP)
    trail = _trail_columns(pattern, types)
    if method == "polars":
        import polars as pl

        lf = pl.scan_csv(path, has_header=False, separator="\x1f", quote_char=None,
                         new_columns=["line"], schema={"line": pl.String})  # fmt: skip
        df = (
            lf.select(pl.col("line").str.extract_groups(pattern))
            .unnest("line")
            .filter(pl.col(MATCH_GROUP).is_not_null())
            .select(_cast_exprs_polars(types, trail))
            .collect()
        )
        df.write_parquet(out / "rows.parquet")
        rows["rows"] = df.height
    elif method == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        tbl = pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(column_names=["line"], block_size=1 << 24),
            parse_options=pcsv.ParseOptions(
                delimiter="\x1f", quote_char=False, escape_char=False
            ),  # fmt: skip
            convert_options=pcsv.ConvertOptions(
                column_types={"line": pa.string()}, strings_can_be_null=False
            ),  # fmt: skip
        )
        st = pc.extract_regex(tbl["line"], pattern)
        st = st.filter(pc.is_valid(st))
        m = {"int": pa.int64(), "float": pa.float64(), "str": pa.string()}
        arrays, names = [], []
        for c, t in types.items():
            col = pc.struct_field(st, c + TRAIL if c in trail else c)
            if c in trail:
                col = pc.utf8_rtrim(col, characters=" \t")
            if t != "str":
                col = pc.cast(pc.if_else(pc.equal(col, ""), None, col), m[t])
            else:
                col = pc.if_else(pc.equal(col, ""), None, col)
            arrays.append(col)
            names.append(c)
        res = pa.table(arrays, names=names)
        pq.write_table(res, out / "rows.parquet")
        rows["rows"] = res.num_rows
    elif method == "re":
        import re

        rx = re.compile(pattern)
        names = list(types)
        cols: dict[str, list] = {c: [] for c in names}
        appends = [cols[c].append for c in names]
        groups = [c + TRAIL if c in trail else c for c in names]
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                mt = rx.match(line.rstrip("\n"))
                if mt is not None:
                    g = mt.groupdict()
                    for c, ap in zip(groups, appends, strict=True):
                        v = g[c]
                        ap(v.rstrip(" \t") if v is not None and c.endswith(TRAIL) else v)
        df = _cast_pandas(cols, types)
        df.to_parquet(out / "rows.parquet", index=False)
        rows["rows"] = len(df)
    elif method == "lark":
        from lark import Token

        from zdiag.grammar import lark_parser

        parser = lark_parser(gen.row_grammar, start=gen.lark_start)
        names = list(types)
        cols = {c: [] for c in names}
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        # the naive way: cut the report into its tables, let Lark build a full tree of each
        for part in text.split("\n\n"):
            body = part.split("\n", 1)
            if len(body) < 2 or "TcpHdr" not in body[0]:
                continue
            tree = parser.parse(body[1].strip("\n") + "\n")
            for row in tree.iter_subtrees_topdown():
                if row.data != "packet_row":
                    continue
                got = {t.type.lower(): t.value for t in row.children if isinstance(t, Token)}
                for c in names:
                    cols[c].append(got.get(c))
        df = _cast_pandas(cols, types)
        df.to_parquet(out / "rows.parquet", index=False)
        rows["rows"] = len(df)
    else:
        raise SystemExit(f"unknown method {method}")
    return {"rows": rows}


def rules_child(table_dir: str) -> dict:
    """All bundled rules over the tables zdiag wrote (parquet): read, TCP analysis (the
    pipeline's own step, ``pipeline.collect``), then the rules; seconds per phase."""
    import pandas as pd

    from zdiag.analysis.tcp import add_to_tables
    from zdiag.rules import load_rules
    from zdiag.rules.scan import scan_tables
    from zdiag.tables import TableSet

    t0 = time.perf_counter()
    tables = {d.name: pd.read_parquet(d) for d in sorted(Path(table_dir).iterdir()) if d.is_dir()}
    t1 = time.perf_counter()
    tables = add_to_tables(tables)
    t2 = time.perf_counter()
    ruleset = load_rules()
    t3 = time.perf_counter()
    res = scan_tables(TableSet(tables), ruleset)
    t4 = time.perf_counter()
    return {
        "rows": {n: len(df) for n, df in tables.items() if n != "files"},
        "phases": {
            "read_parquet": round(t1 - t0, 3),
            "tcp_analysis": round(t2 - t1, 3),
            "load_rules": round(t3 - t2, 3),
            "rules": round(t4 - t3, 3),
        },  # fmt: skip
        "rules": len(ruleset.rules),
        "findings": len(res.findings),
        "rule_errors": len(res.rule_errors),
    }


def _own_peak_kb() -> int | None:
    """This process's own peak RSS (Linux: VmHWM, of the memory made at exec). getrusage's
    ru_maxrss keeps the peak of the process it was forked from across exec, so a child
    smaller than the bench's parent would report the parent's size."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


# ---- parent side ------------------------------------------------------------------------------
def measure(method: str, kind: str, path: Path, outdir: Path, timeout: float) -> dict:
    from bench.gen import all_generators
    from zdiag.grammar import row_regex

    gen = all_generators()[kind]
    env = dict(os.environ)
    if gen.row_rule:
        env["ZDIAG_BENCH_PATTERN"] = row_regex(gen.row_grammar, gen.row_rule)
    cmd = [sys.executable, str(HERE / "run.py"), "--child", method, "--kind", kind,
           "--input", str(path), "--outdir", str(outdir)]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"method": method, "error": f"timeout after {timeout:.0f} s"}
    # the child reports its own peak RSS (VmHWM) and CPU time (getrusage) at exit
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"method": method, "error": (stderr.strip().splitlines() or ["failed"])[-1]}
    info = json.loads(stdout.strip().splitlines()[-1])
    size = path.stat().st_size
    rows = info["rows"]
    total_rows = sum(rows.values())
    return {
        "method": method,
        "seconds": round(wall, 3),
        "mb_per_s": round(size / 1e6 / wall, 2),
        "rows": rows,
        "rows_per_s": round(total_rows / wall),
        "peak_rss_mb": round(info["peak_rss_kb"] / 1024, 1),
        "cpu_seconds": round(info["cpu_s"], 3),
        **{
            k: info[k]
            for k in ("phases", "rules", "findings", "rule_errors", "spilled")
            if k in info
        },  # fmt: skip
    }


def _gen_file(kind: str, size_mb: float, data: Path, seed: int) -> tuple[Path, dict]:
    from bench.gen import all_generators

    data.mkdir(parents=True, exist_ok=True)
    path = data / f"{kind}-{size_mb:g}MB-seed{seed}.txt"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return path, json.loads(meta.read_text())
    t0 = time.perf_counter()
    facts = all_generators()[kind].write(path, int(size_mb * 1e6), seed=seed)
    facts["generate_seconds"] = round(time.perf_counter() - t0, 2)
    meta.write_text(json.dumps(facts))
    return path, facts


def run(
    sizes: list[float],
    kinds: list[str] | None,
    data: Path,
    seed: int,
    quick: bool,
    only: list[str] | None = None,
) -> dict:
    from bench.gen import all_generators
    from zdiag.kinds import registry

    _byte_compiled()
    known = {k.name for k in registry.all_kinds()}
    gens = {k: g for k, g in all_generators().items() if k in known}
    if kinds:
        gens = {k: g for k, g in gens.items() if k in kinds}
    results: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },  # fmt: skip
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "load_average_at_start": os.getloadavg(),
        "quick": quick,
        "sizes_mb": sizes,
        "kinds": {},
    }
    for kind, gen in gens.items():
        per_kind: dict = {"sizes": {}}
        for size in sizes:
            path, facts = _gen_file(kind, size, data, seed)
            entry = {"input": facts, "methods": {}}
            methods = ["zdiag"]
            if kind == "systcpda.session" or (only and "scan" in only):
                methods.append("scan")  # whole scan, big tables spilled to disk when large
            if gen.row_rule:
                methods += ["polars", "pyarrow", "re"]
                if gen.lark_start and (size <= LARK_MAX_MB):
                    methods.append("lark")
            for m in methods:
                if only and m not in only:
                    continue
                outdir = data / "out" / f"{kind}-{size:g}-{m}"
                r = measure(m, kind, path, outdir, timeout=3600)
                entry["methods"][m] = r
                _print_row(kind, size, r)
            _time_over(entry)
            per_kind["sizes"][f"{size:g}"] = entry
        per_kind["targets"] = _targets(gen, per_kind["sizes"])
        results["kinds"][kind] = per_kind
    results["rules"] = _rules_over_result(results, data, only)
    return results


def _time_over(entry: dict) -> None:
    """zdiag's time over each baseline's, for one size of one kind."""
    z = entry["methods"].get("zdiag", {})
    entry.pop("zdiag_time_over", None)
    if "seconds" in z:
        for m, r in entry["methods"].items():
            if m not in ("zdiag", "scan") and "seconds" in r:
                entry.setdefault("zdiag_time_over", {})[m] = round(z["seconds"] / r["seconds"], 2)


def _byte_compiled() -> None:
    """Write zdiag's ``.pyc`` files as ``pip install`` does, so that every child starts as an
    installed zdiag would. Run from a source tree with ``PYTHONDONTWRITEBYTECODE`` set (as
    on this machine), each child would otherwise compile zdiag's modules again (~0.07 s a
    process, the same in every method that imports zdiag)."""
    import compileall

    import zdiag

    compileall.compile_dir(Path(zdiag.__file__).parent, quiet=1)


def _rules_over_result(results: dict, data: Path, only) -> dict:
    """SPEC §7 "rules over the result": every bundled rule over the packets and connection
    tables of the largest systcpda.session run up to 100 MB (its parquet output, read whole
    into memory), in a child process. A larger run is measured by the ``scan`` method,
    which keeps its tables on disk (reading 1 GB of output whole takes ~10 GB)."""
    sess = results["kinds"].get("systcpda.session", {}).get("sizes", {})
    done = [s for s, e in sess.items()
            if "seconds" in e["methods"].get("zdiag", {}) and float(s) <= RULES_MAX_MB]  # fmt: skip
    if not done or (only and "rules" not in only and "zdiag" not in only):
        return _rules_note()
    size = max(done, key=float)
    tables = data / "out" / f"systcpda.session-{size}-zdiag"
    r = measure("rules", "systcpda.session", tables, tables, timeout=3600)
    r["over"] = f"systcpda.session {size} MB run"
    r.pop("mb_per_s", None)
    if "error" not in r:
        print(f"rules over the result ({r['over']}): {r['seconds']:.2f} s wall, "
              f"{r['cpu_seconds']:.2f} s CPU, phases {r['phases']}, rows {r['rows']}, "
              f"{r['rules']} rules, {r['findings']} findings, peak {r['peak_rss_mb']:.0f} MB",
              flush=True)  # fmt: skip
    return {"measured": "error" not in r, **r}


def _targets(gen, sizes: dict) -> dict:
    out: dict = {}
    for size, e in sizes.items():
        z = e["methods"].get("zdiag", {})
        if "seconds" not in z:
            continue
        floor = e["methods"].get("polars", {})
        if gen.row_rule and "seconds" in floor:
            ratio = z["seconds"] / floor["seconds"]
            cpu = z["cpu_seconds"] / floor["cpu_seconds"] if floor.get("cpu_seconds") else None
            # the 1.5x floor target is the packet table's (systcpda.session); for the other
            # kinds the floor extracts only one of their row tables, so it is a reference
            target = TARGET_FLOOR_RATIO if gen.lark_start else None
            out[f"{size}MB_vs_floor"] = {"ratio": round(ratio, 2),
                                         "cpu_ratio": round(cpu, 2) if cpu else None,
                                         "target": target,
                                         "met": ratio <= target if target else None}  # fmt: skip
        if not gen.lark_start:
            out[f"{size}MB_mb_per_s"] = {"value": z["mb_per_s"], "target": TARGET_MBPS_OTHER,
                                         "met": z["mb_per_s"] >= TARGET_MBPS_OTHER}  # fmt: skip
        out[f"{size}MB_peak_rss_mb"] = z["peak_rss_mb"]
    secs = {float(s): e["methods"].get("zdiag", {}).get("seconds") for s, e in sizes.items()}
    if 10.0 in secs and 1000.0 in secs and secs[10.0] and secs[1000.0]:
        r = secs[1000.0] / secs[10.0]
        out["scaling_1000_over_10"] = {"ratio": round(r, 1), "target": TARGET_SCALING,
                                       "met": r <= TARGET_SCALING}  # fmt: skip
    if 10.0 in secs and 100.0 in secs and secs[10.0] and secs[100.0]:
        out["scaling_100_over_10"] = round(secs[100.0] / secs[10.0], 1)
    return out


def _merge(old: dict, new: dict) -> dict:
    """Results of an earlier run with this run's sizes added (targets recomputed)."""
    from bench.gen import all_generators

    gens = all_generators()
    for kind, k in new["kinds"].items():
        into = old["kinds"].setdefault(kind, {"sizes": {}})
        for size, entry in k["sizes"].items():  # a size measured again keeps its other methods
            have = into["sizes"].get(size)
            if have is None:
                into["sizes"][size] = entry
            else:
                have["methods"].update(entry["methods"])
                have["input"] = entry["input"]
                _time_over(have)
        into["sizes"] = dict(sorted(into["sizes"].items(), key=lambda kv: float(kv[0])))
        into["targets"] = _targets(gens[kind], into["sizes"])
    old["sizes_mb"] = sorted(set(old.get("sizes_mb", [])) | set(new["sizes_mb"]))
    old["notes"] = old.get("notes", []) + new.get("notes", [])
    old.setdefault("runs", []).append(
        {
            "when": new["when"],
            "sizes_mb": new["sizes_mb"],
            "load_average_at_start": new["load_average_at_start"],
        }  # fmt: skip
    )
    return old


def _rules_note() -> dict:
    try:
        import importlib

        importlib.import_module("zdiag.rules")
    except ImportError:
        return {"measured": False, "why": "no rules engine in this build (zdiag.rules absent)"}
    return {"measured": False, "why": "rules benchmark lives in bench/rules_engine.py"}


def _print_row(kind: str, size: float, r: dict) -> None:
    if "error" in r:
        print(f"{kind:20s} {size:>7g} MB  {r['method']:8s}  ERROR {r['error']}", flush=True)
        return
    rows = sum(r["rows"].values())
    print(
        f"{kind:20s} {size:>7g} MB  {r['method']:8s} {r['seconds']:8.2f} s {r['mb_per_s']:8.1f} MB/s "
        f"{r['rows_per_s']:>10,d} rows/s  {rows:>11,d} rows  peak {r['peak_rss_mb']:7.0f} MB",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="CI smoke: ~1 MB per kind")
    ap.add_argument("--sizes", default="10,100", help="sizes in MB, comma separated")
    ap.add_argument("--kinds", default="", help="only these kinds (comma separated)")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--methods", default="", help="only these methods (comma separated)")
    ap.add_argument("--data", default=str(HERE / ".data"), help="generated inputs (cache)")
    ap.add_argument("--out", default=None, help="results JSON (default bench/results.json)")
    ap.add_argument(
        "--merge",
        action="store_true",
        help="add these sizes (and methods) to the existing results file instead of replacing it",
    )
    ap.add_argument(
        "--note",
        action="append",
        default=[],
        help="a remark recorded in the results (why a method was left out, ...)",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--kind", help=argparse.SUPPRESS)
    ap.add_argument("--input", help=argparse.SUPPRESS)
    ap.add_argument("--outdir", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        import resource

        info = child(a.child, a.kind, a.input, a.outdir)
        ru = resource.getrusage(resource.RUSAGE_SELF)
        info["peak_rss_kb"] = _own_peak_kb() or ru.ru_maxrss
        info["cpu_s"] = ru.ru_utime + ru.ru_stime
        print(json.dumps(info))
        return 0
    sizes = [1.0] if a.quick else [float(s) for s in a.sizes.split(",") if s]
    data = Path(a.data)
    kinds = [k for k in a.kinds.split(",") if k] or None
    only = [m for m in a.methods.split(",") if m] or None
    res = run(sizes, kinds, data, a.seed, a.quick, only)
    out = (
        Path(a.out)
        if a.out
        else (data / "results-quick.json" if a.quick else HERE / "results.json")
    )
    res["notes"] = list(a.note)
    if a.merge and out.exists():
        res = _merge(json.loads(out.read_text()), res)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {out}")
    for kind, k in res["kinds"].items():
        for name, t in k["targets"].items():
            print(f"{kind:20s} {name:24s} {t}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
