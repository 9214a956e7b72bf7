"""The ``zdiag`` command line: a thin layer of click commands over the library."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path

import click
import pandas as pd

from zdiag import __version__
from zdiag.kinds import registry
from zdiag.kinds.base import FAILURES
from zdiag.pipeline import collect, parse_sources
from zdiag.report.terminal import accounting_line, disagreement_lines, render, use_colour
from zdiag.sources import iter_sources

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INPUT, EXIT_BUG = 0, 1, 2, 3, 4


class Ctx:
    def __init__(self, quiet: bool, verbose: bool, progress: bool):
        self.quiet, self.verbose = quiet, verbose
        self.progress = progress and sys.stderr.isatty() and not os.environ.get("CI")


def _guard(fn):
    """Turn an unexpected exception into exit code 4 with a one-line message."""

    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        try:
            return fn(*args, **kwargs)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except FAILURES as exc:  # a bug (or a polars panic): one line, traceback with --verbose
            obj = ctx.find_object(Ctx)
            if obj is not None and obj.verbose:
                traceback.print_exc()
            click.echo(f"zdiag: internal error: {type(exc).__name__}: {exc}", err=True)
            ctx.exit(EXIT_BUG)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="zdiag")
@click.option("--quiet", "-q", is_flag=True, help="Print only errors and the results asked for.")
@click.option("--verbose", "-v", is_flag=True, help="More detail; tracebacks for internal errors.")
@click.option("--no-progress", is_flag=True, help="Never show a progress bar.")
@click.pass_context
def main(ctx: click.Context, quiet: bool, verbose: bool, no_progress: bool) -> None:
    """Read z/OS Communications Server diagnosis reports and find known problems."""
    ctx.obj = Ctx(quiet, verbose, not no_progress)


def run() -> None:
    """The `zdiag` program (console script and `python -m zdiag`): :func:`main` with SIGTERM
    ending it as Ctrl-C does."""
    _exit_on_sigterm()
    main()


def _exit_on_sigterm() -> None:
    """A SIGTERM (a service stopping the command, `timeout`) ends the command as Ctrl-C
    does: through the `finally` blocks and finalizers, so a spill folder is removed. Only
    the program sets this (:func:`run`); the library, and `main` called from another
    program, leave the process's signals alone."""
    import signal
    import threading

    def stop(signum, frame):  # noqa: ARG001 - the signal handler's signature
        raise SystemExit(128 + signal.SIGTERM)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


@main.command()
@click.option("--verbose", "-v", "detail", is_flag=True, help="Also tables and parse path.")
@click.pass_obj
@_guard
def kinds(obj: Ctx, detail: bool) -> None:
    """List the report kinds zdiag reads."""
    for k in registry.all_kinds():
        click.echo(f"{k.name:<18} {k.description}")
        if obj.verbose or detail:
            click.echo(f"{'':<18} tables: {', '.join(k.tables)}")
            if k.samples:
                click.echo(f"{'':<18} sample: {k.samples[0]}")
            if k.path:
                click.echo(f"{'':<18} path: {k.path}")
        elif k.samples:
            click.echo(f"{'':<18} sample: {k.samples[0]}")


def problem_lines(row: dict) -> list[str]:
    out = []
    if row.get("error"):
        line = row.get("error_line")
        where = f"{row['source']}:{line}" if line and not pd.isna(line) else row["source"]
        out.append(f"ERROR {where}: {row['error']}")
    if row.get("notes") and not pd.isna(row["notes"]):
        out.append(f"NOTE {row['source']}: {row['notes']}")
    return out


def _run_parse(paths, kind, obj: Ctx, case: str = "", spill=None):
    results = []
    for res in _with_progress(obj, parse_sources(iter_sources(paths), kind=kind, case=case,
                                                 spill=spill)):  # fmt: skip
        results.append(res)
        if not obj.quiet:
            click.echo(accounting_line(res.file_row), err=True)
        for msg in problem_lines(res.file_row):
            click.echo(msg, err=True)
        if res.traceback and obj.verbose:
            click.echo(res.traceback, err=True)
    return collect(results, spill=spill), results


def _with_progress(obj: Ctx, results):
    """Files and bytes done, on a terminal only (never when piped or with CI set)."""
    if not obj.progress:
        yield from results
        return
    from tqdm import tqdm

    with tqdm(desc="parsing", unit="B", unit_scale=True, file=sys.stderr, leave=False) as bar:
        for n, res in enumerate(results, start=1):
            bar.update(int(res.file_row.get("bytes") or 0))
            bar.set_postfix(files=n, refresh=False)
            yield res


def _readable(results) -> bool:
    return any(r.file_row["kind"] not in ("unknown", "") and not r.file_row["error"]
               for r in results)  # fmt: skip


FORMATS = ("table", "csv", "json", "parquet", "xlsx")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--kind", "kind", help="Report kind (see `zdiag kinds`); default: detect.")
@click.option("--table", "table_names", multiple=True, help="Only this table (repeatable).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(), help="File (csv/json/xlsx) or folder.")
@click.option(
    "--strict", is_flag=True, help="Exit 3 if any line is unrecognised or any file failed."
)
@click.pass_obj
@_guard
def parse(obj: Ctx, files, kind, table_names, fmt, output, strict) -> None:
    """Parse FILES into tables and print or write them.

    A large input's big tables (packets, connections, routes, ARP, messages) are kept on
    disk while it is parsed and streamed to the output a piece at a time, in the same
    order and form as a small input's, so memory stays bounded (SPEC §7)."""
    if kind:
        try:
            registry.get(kind)
        except KeyError as exc:
            raise click.BadParameter(str(exc.args[0]), param_hint="--kind") from None
    if fmt in ("parquet", "xlsx") and not output:
        what = "FOLDER" if fmt == "parquet" else "FILE.xlsx"
        raise click.UsageError(f"--format {fmt} needs -o {what}")
    from zdiag.spill import Spill

    spill = Spill()  # removed in any case (error, Ctrl-C): finally below, and at exit
    try:
        tables, results = _run_parse(files, kind, obj, spill=spill)
        shown = _parse_tables(tables, results)
        if not obj.quiet:
            for line in disagreement_lines(shown.get("ibm_disagreements")):
                click.echo(line, err=True)
        names = list(table_names) or [n for n in shown if n not in ("files",)]
        missing = [n for n in names if n not in shown]
        chosen = {n: shown[n] for n in names if n in shown}
        if table_names and missing:
            for n in missing:
                click.echo(f"zdiag: no table {n!r} in this input", err=True)
        write_tables(chosen, fmt, output)
    finally:
        spill.close()
    ctx = click.get_current_context()
    if not _readable(results):
        click.echo("zdiag: no readable input", err=True)
        ctx.exit(EXIT_INPUT)
    if strict and any(r.file_row["unrecognised"] or r.file_row["error"] for r in results):
        ctx.exit(EXIT_INPUT)
    ctx.exit(EXIT_OK)


ANALYSIS_TABLES = ("conn_analysis", "ibm_disagreements")


def _parse_tables(tables, results) -> dict:
    """Table name → DataFrame, or :class:`~zdiag.report.tables_dir.SpilledTable` for a
    table kept on disk, in the order the tables have when all are in memory."""
    if tables.spill is None or not tables.spill.tables:
        return dict(tables)
    from zdiag.report.tables_dir import spilled_tables

    small, big = spilled_tables(tables)
    both = {**small, **big}
    # as pipeline.collect joins them: files, unrecognised (when it has rows), each file's
    # tables as they first appear, the empty unrecognised table, then the TCP analysis's
    unrec = "unrecognised" if len(small.get("unrecognised", ())) else None
    order = ["files", *([unrec] if unrec else [])]
    for res in results:  # the order in which the files' tables first appear
        source = res.file_row["source"]
        # a file read in pieces into the spill: its tables as they first came, spilled or not
        listed = tables.spill.order.get(str(source)) or list(res.tables)
        order += [n for n in listed if n not in order]
    order += [n for n in big if n not in order]  # (spilled without a file to say where)
    order += [n for n in small if n not in order and n not in ANALYSIS_TABLES]
    order += [n for n in ANALYSIS_TABLES if n in small]
    return {n: both[n] for n in order if n in both}


LEVEL_CHOICE = click.Choice(["info", "low", "medium", "high", "critical"], case_sensitive=False)
#: --fail-on also takes "never": report findings, exit 0 unless the input itself failed
FAIL_ON_CHOICE = click.Choice([*LEVEL_CHOICE.choices, "never"], case_sensitive=False)

#: options shared by scan, batch and the rules commands
RULES_OPTION = click.option(
    "--rules",
    "rule_dirs",
    multiple=True,
    type=click.Path(),
    help="A folder of site rules (repeatable); same id as a bundled rule: site wins.",
)
FAIL_ON_OPTION = click.option(
    "--fail-on",
    "fail_on",
    type=FAIL_ON_CHOICE,
    default="high",
    show_default=True,
    help="Exit 1 when a finding (in batch: any case's) is at or above this level; never: exit 0.",
)


def _load_ruleset(rule_dirs):
    from zdiag.rules import RuleLoadError, load_rules

    try:
        return load_rules(list(rule_dirs))
    except RuleLoadError as exc:
        for p in exc.problems:
            click.echo(str(p), err=True)
        raise click.UsageError(f"{len(exc.problems)} problem(s) in the rules (see above)") from None


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@RULES_OPTION
@click.option(
    "--level",
    "level",
    type=LEVEL_CHOICE,
    default="info",
    show_default=True,
    help="Show findings at or above this level.",
)
@FAIL_ON_OPTION
@click.option("--kind", "kind", help="Report kind for every file (default: detect).")
@click.option("--xlsx", type=click.Path(), help="Write the Excel workbook here.")
@click.option("--sarif", type=click.Path(), help="Write SARIF 2.1.0 here.")
@click.option("--junit", type=click.Path(), help="Write JUnit XML here.")
@click.option(
    "--json", "json_out", type=click.Path(allow_dash=True), help="Write JSON here (- for stdout)."
)
@click.option(
    "--tables", "tables_dir", type=click.Path(), help="Also write every table to this folder."
)
@click.option(
    "--strict", is_flag=True, help="Exit 3 if any line is unrecognised or any file failed."
)
@click.pass_obj
@_guard
def scan(obj: Ctx, paths, rule_dirs, level, fail_on, kind, xlsx, sarif, junit, json_out,
         tables_dir, strict) -> None:  # fmt: skip
    """Parse PATHS, run the rules and report findings."""
    from zdiag.report import write_reports
    from zdiag.rules.scan import scan_tables

    level, fail_on = level.lower(), fail_on.lower()
    ruleset = _load_ruleset(rule_dirs)
    for ov in ruleset.overrides:
        if not obj.quiet:
            click.echo(
                f"rule {ov['id']}: site rule {ov['site']} overrides {ov['bundled']}", err=True
            )
    from zdiag.spill import Spill

    results = []
    spill = Spill()  # a large trace's packets stay on disk, read back a bucket at a time
    for res in _with_progress(obj, parse_sources(iter_sources(paths), kind=kind, spill=spill)):
        results.append(res)
        for msg in problem_lines(res.file_row):
            click.echo(msg, err=True)
        if res.traceback and obj.verbose:
            click.echo(res.traceback, err=True)
    result = scan_tables(collect(results, spill=spill), ruleset, fail_on)
    for err in result.rule_errors:
        click.echo(f"RULE ERROR {err}", err=True)
    if not obj.quiet:
        # with --json - the findings go to stdout as JSON; the table then goes to stderr
        to_err = json_out == "-"
        stream = sys.stderr if to_err else sys.stdout
        text = render(result.findings, result.tables["files"], min_level=level,
                      colour=use_colour(stream))  # fmt: skip
        click.echo(text, nl=False, err=to_err)
    write_reports(result, xlsx=xlsx, sarif=sarif, junit=junit, json=json_out,
                  tables_dir=tables_dir, fail_on=fail_on)  # fmt: skip
    spill.close()
    ctx = click.get_current_context()
    code = result.exit_code(fail_on)
    if code == EXIT_INPUT:
        click.echo("zdiag: no readable input", err=True)
    elif strict and any(r.file_row["unrecognised"] or r.file_row["error"] for r in results):
        code = EXIT_INPUT
    ctx.exit(code)


@main.command()
@click.argument("inbox", type=click.Path(file_okay=False))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False),
    help="Output folder: DIR/<case>/ reports, DIR/index.xlsx and DIR/index.json.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Cases run at once on this machine (default: the number of cores).",
)
@click.option(
    "--scheduler",
    metavar="ADDR",
    help="Run the cases on a dask distributed scheduler (tcp://host:8786); "
    "needs the [distributed] extra, and DIR on a file system the workers share.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=600.0,
    show_default=True,
    help="Seconds one case may take before it is killed and failed.",
)
@click.option(
    "--memory",
    "memory_mb",
    type=click.IntRange(min=0),
    default=4096,
    show_default=True,
    help="MB of address space a case child may grow by (0: no limit).",
)
@click.option("--tables", is_flag=True, help="Also write every table as parquet per case.")
@RULES_OPTION
@FAIL_ON_OPTION
@click.option("--kind", "kind", help="Report kind for every file (default: detect).")
@click.option("--watch", is_flag=True, help="Keep polling INBOX for new entries until Ctrl-C.")
@click.option(
    "--poll",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="--watch: seconds between polls.",
)
@click.option("--retry-failed", is_flag=True, help="Run again the cases recorded as failed.")
@click.pass_obj
@_guard
def batch(obj: Ctx, inbox, out, jobs, scheduler, timeout, memory_mb, tables, rule_dirs, fail_on,
          kind, watch, poll, retry_failed) -> None:  # fmt: skip
    """Run every entry of INBOX (file, folder or archive) as a case; resumable."""
    from zdiag.batch import BatchOptions, run_batch

    if not Path(inbox).is_dir():
        raise click.BadParameter(f"{inbox}: not a folder", param_hint="INBOX")
    if kind:
        try:
            registry.get(kind)
        except KeyError as exc:
            raise click.BadParameter(str(exc.args[0]), param_hint="--kind") from None
    _load_ruleset(rule_dirs)  # bad rules fail before any case runs
    if scheduler:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise click.UsageError(
                "--scheduler needs dask distributed: pip install 'zdiag[distributed]'"
            ) from None
    opts = BatchOptions(jobs=jobs, scheduler=scheduler, timeout=timeout,
                        memory_mb=memory_mb or None, tables=tables,
                        rules=tuple(str(Path(d).resolve()) for d in rule_dirs) or None,
                        fail_on=fail_on.lower(), kind=kind, watch=watch, poll=poll,
                        retry_failed=retry_failed, progress=obj.progress)  # fmt: skip

    def on_row(row: dict) -> None:
        if row["status"] == "failed" and not obj.quiet:
            click.echo(f"FAILED {row['name']} ({row['case']}): {row['error']}", err=True)
        elif obj.verbose:
            click.echo(f"done {row['name']} ({row['case']}): {row['findings']} finding(s)",
                       err=True)  # fmt: skip

    summary = run_batch(inbox, out, opts, on_row=on_row)
    if not obj.quiet:
        click.echo(
            f"batch: {summary.done} done, {summary.failed} failed, {summary.skipped} skipped"
            f" ({summary.adopted} recovered) in {summary.seconds:.1f} s"
            f" ({summary.cases_per_minute:.1f} cases/min); index: {summary.index_json}",
            err=True,
        )
    ctx = click.get_current_context()
    if summary.interrupted and not watch:
        click.echo("zdiag: interrupted; run the same command again to finish", err=True)
        ctx.exit(130)
    rows = summary.rows
    if not rows or all(r["status"] == "failed" for r in rows):
        click.echo("zdiag: no case could be read", err=True)
        ctx.exit(EXIT_INPUT)
    from zdiag.rules.model import LEVEL_RANK

    rank = LEVEL_RANK[fail_on.lower()]
    hit = any(int(r.get(lv) or 0) for r in rows for lv in LEVEL_RANK if LEVEL_RANK[lv] >= rank)
    ctx.exit(EXIT_FINDINGS if hit else EXIT_OK)


@main.group()
def rules() -> None:
    """List, show, lint and test rules."""


@rules.command("list")
@RULES_OPTION
@_guard
def rules_list(rule_dirs) -> None:
    """List the rules (bundled, and site rules with --rules)."""
    ruleset = _load_ruleset(rule_dirs)
    overridden = {o["id"] for o in ruleset.overrides}
    for r in sorted(ruleset.rules, key=lambda r: r.id):
        mark = (
            " (site, overrides bundled)"
            if r.id in overridden
            else (" (site)" if not r.bundled else "")
        )
        click.echo(f"{r.id:<40} {r.level:<8} {r.source:<12} {r.title}{mark}")


@rules.command("show")
@click.argument("rule_id")
@RULES_OPTION
@_guard
def rules_show(rule_id, rule_dirs) -> None:
    """Show one rule's YAML and where it comes from."""
    ruleset = _load_ruleset(rule_dirs)
    rule = ruleset.get(rule_id)
    if rule is None:
        raise click.BadParameter(f"no rule {rule_id!r} (see `zdiag rules list`)", param_hint="ID")
    click.echo(f"# {rule.file}")
    click.echo(Path(rule.file).read_text(encoding="utf-8"), nl=False)


@rules.command("lint")
@click.argument("dirs", nargs=-1, type=click.Path())
@_guard
def rules_lint(dirs) -> None:
    """Check rules in DIRS (default: the bundled rules); each problem as file:line:col."""
    from zdiag.rules.model import lint

    problems = lint(list(dirs) or None)
    for p in problems:
        click.echo(str(p))
    ctx = click.get_current_context()
    if problems:
        click.echo(f"{len(problems)} problem(s)", err=True)
        ctx.exit(EXIT_FINDINGS)
    click.echo("rules ok", err=True)
    ctx.exit(EXIT_OK)


@rules.command("test")
@click.argument("dirs", nargs=-1, type=click.Path())
@_guard
def rules_test(dirs) -> None:
    """Run each rule's examples: `match` must give a finding of the rule, `nomatch` none."""
    from zdiag.rules.testing import run_examples

    outcomes = run_examples(list(dirs) or None)
    failed = [o for o in outcomes if not o.ok]
    for o in outcomes:
        click.echo(str(o))
    ctx = click.get_current_context()
    click.echo(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed", err=True)
    ctx.exit(EXIT_FINDINGS if failed else EXIT_OK)


def _frames(table) -> Iterator[pd.DataFrame]:
    """A table's rows a piece at a time (a table in memory: one piece)."""
    if isinstance(table, pd.DataFrame):
        yield table
    else:
        yield from table.frames()


def write_tables(tables: Mapping, fmt: str, output: str | None) -> None:
    """Write tables in one of FORMATS to a file, a folder, or standard output.

    A table is a DataFrame or a table kept on disk
    (:class:`~zdiag.report.tables_dir.SpilledTable`), which is written a piece at a time."""
    if fmt == "table":
        with _Out(output) as out:
            for i, (name, df) in enumerate(tables.items()):
                out.write(("\n" if i else "") + f"== {name} ({len(df)} rows)")
                if len(df):
                    out.write("\n" + _shown(df))
            out.write("\n")
    elif fmt == "csv":
        if output and (len(tables) > 1 or Path(output).is_dir()):
            Path(output).mkdir(parents=True, exist_ok=True)
            for name, df in tables.items():
                with _Out(Path(output) / f"{name}.csv") as out:
                    _csv(df, out)
        else:
            with _Out(output) as out:
                for name, df in tables.items():
                    if len(tables) > 1:
                        out.write(f"# table: {name}\n")
                    _csv(df, out)
    elif fmt == "json":
        # json.dumps(indent=1) of {table: records}, one piece of records at a time
        with _Out(output) as out:
            out.write("{" if tables else "{}")
            for i, (name, df) in enumerate(tables.items()):
                out.write(("," if i else "") + f"\n {json.dumps(name)}: ")
                first = True
                for frame in _frames(df):
                    if not len(frame):
                        continue
                    recs = json.loads(frame.to_json(orient="records", date_format="iso"))
                    text = json.dumps(recs, indent=1, default=str)[2:-2]  # no [ and ]
                    out.write(("[\n" if first else ",\n") + " " + text.replace("\n", "\n "))
                    first = False
                out.write("[]" if first else "\n ]")
            out.write("\n}\n" if tables else "\n")
    elif fmt == "parquet":
        if not output:
            raise click.UsageError("--format parquet needs -o FOLDER")
        from zdiag.report.tables_dir import append_parquet, write_parquet_tables

        write_parquet_tables({n: df for n, df in tables.items() if isinstance(df, pd.DataFrame)},
                             output)  # fmt: skip
        for name, df in tables.items():
            if not isinstance(df, pd.DataFrame):
                append_parquet(df.frames(), Path(output) / f"{name}.parquet")
    elif fmt == "xlsx":
        if not output:
            raise click.UsageError("--format xlsx needs -o FILE.xlsx")
        from zdiag.report.tables_xlsx import write_tables_xlsx

        write_tables_xlsx(dict(tables), output)  # a table kept on disk: read piece by piece


def _shown(table) -> str:
    """``to_string(max_rows=60)`` of a table: its first and last 30 rows."""
    with pd.option_context("display.width", 200, "display.max_columns", 50):
        if isinstance(table, pd.DataFrame):
            return table.to_string(max_rows=60)
        n = len(table)
        if n <= 60:
            return pd.concat(list(table.frames()), ignore_index=True).to_string(max_rows=60)
        head, tail = table.head(30), table.tail(30)
        # 61 rows, the middle one never shown: pandas cuts it as it cuts the whole table
        df = pd.concat([head, head.iloc[-1:], tail], ignore_index=True)
        df.index = [*range(31), *range(n - 30, n)]
        return df.to_string(max_rows=60)


def _csv(table, out) -> None:
    """A table as CSV: the header once, rows a piece at a time (date-times written at the
    precision of the whole column, as pandas writes a table in memory)."""
    header = True
    pins = {} if isinstance(table, pd.DataFrame) else table.datetime_pins()
    for frame in _frames(table):
        if len(frame) or header:
            out.write(_pinned(frame, pins).to_csv(index=False, header=header))
            header = False


def _pinned(frame: pd.DataFrame, pins: dict) -> pd.DataFrame:
    """``frame`` with each date-time column in ``pins`` as the text ``to_csv`` writes for
    it next to the pin (a value as fine as the finest of the whole column)."""
    if not pins:
        return frame
    frame = frame.copy(deep=False)
    for col, pin in pins.items():
        s = frame[col]
        both = pd.concat([pd.Series([pin]).astype(s.dtype), s], ignore_index=True)
        # a second column: a lone empty field would be written as ""
        text = pd.DataFrame({"v": both, "x": 0}).to_csv(index=False, header=False)
        lines = pd.Series(text.split("\n")[1:-1], index=frame.index, dtype=object)
        frame[col] = lines.str.slice(0, -2)
    return frame


class _Out:
    """Text to a file (``output``), or standard output when ``output`` is None or ``-``."""

    def __init__(self, output) -> None:
        self.output = output

    def __enter__(self):
        if self.output and str(self.output) != "-":
            self.fh = open(self.output, "w", encoding="utf-8")  # noqa: SIM115
        else:
            self.fh = None
        return self

    def write(self, text: str) -> None:
        if self.fh is not None:
            self.fh.write(text)
        else:
            click.echo(text, nl=False)

    def __exit__(self, *exc) -> None:
        if self.fh is not None:
            self.fh.close()


if __name__ == "__main__":  # pragma: no cover
    main()
