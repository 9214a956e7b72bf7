"""Expected-output pairs: ``fixtures/<area>/<name>.txt`` ↔ ``<name>.expected.json``.

The JSON holds the detected kind, the line accounting and every table the file produces
(without the ``case``/``source`` provenance columns, which depend on where the test runs).
Regenerate after a deliberate change, then read the diff before committing it:

    python tests/tools/expected.py fixtures/systcpda/*.txt
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

#: inputs under fixtures/ that are not parser fixture pairs (reading/: templates, APAR
#: texts and annotated figures among the samples, which SPEC §3 says are not input)
NOT_PAIRS = ("rules", "demo", "clean", "scenarios", "reading")


def fixture_inputs() -> list[Path]:
    out = []
    for p in sorted((ROOT / "fixtures").rglob("*")):
        rel = p.relative_to(ROOT / "fixtures")
        if not p.is_file() or rel.parts[0] in NOT_PAIRS or p.name.endswith(".expected.json"):
            continue
        if p.suffix in (".md",):
            continue
        out.append(p)
    return out


def expected_path(p: Path) -> Path:
    return p.with_name(p.name + ".expected.json")


def _clean(v):
    import pandas as pd

    if v is None or v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return v


def drop_null_columns(recs: list[dict]) -> list[dict]:
    """Leave out columns that are null in every row: the schemas grow as kinds are added,
    and a pair should only change when what the parser fills in changes."""
    if not recs:
        return recs
    filled = {k for r in recs for k, v in r.items() if v is not None}
    return [{k: v for k, v in r.items() if k in filled} for r in recs]


def snapshot(p: Path) -> dict:
    import pandas as pd

    import zdiag

    ts = zdiag.parse([p])
    f = ts["files"].iloc[0]
    out = {
        "kind": f["kind"],
        "accounting": {k: int(f[k]) for k in ("lines", "parsed", "layout", "unrecognised")},
        "error": None if pd.isna(f["error"]) else f["error"],
        "tables": {},
    }
    for name, df in ts.items():
        if name in ("files",):
            continue
        df = df.drop(columns=[c for c in ("case", "source") if c in df.columns])
        if name == "unrecognised" and not len(df):
            continue
        recs = [{k: _clean(v) for k, v in r.items()} for r in df.astype(object).to_dict("records")]
        out["tables"][name] = drop_null_columns(recs)
    return out


def write(p: Path) -> None:
    expected_path(p).write_text(json.dumps(snapshot(p), indent=1, default=str) + "\n")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        write(Path(arg).resolve())
        print("wrote", expected_path(Path(arg)))
