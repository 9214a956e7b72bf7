"""Test-only: zdiag's TCP analysis of the seed004 SESSION DETAIL samples, one line per packet
with IBM's F letter beside zdiag's classes (the expected-output fixture
fixtures/scenarios/seed004_analysis.expected.txt). Regenerate after a deliberate change and
read the diff:

    python tests/tools/seed_table.py > fixtures/scenarios/seed004_analysis.expected.txt
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

SAMPLES = sorted((ROOT / "fixtures" / "systcpda").glob("seed004_session_detail_*.txt"))
EXPECTED = ROOT / "fixtures" / "scenarios" / "seed004_analysis.expected.txt"


def render(paths=SAMPLES) -> str:
    import zdiag
    from zdiag.analysis.tcp import CLASS_COLUMN

    out = []
    for path in paths:
        p = zdiag.parse([path])["packets"]
        out.append(f"== {Path(path).name}")
        out.append(f"{'nr':>3} {'io':3} {'hdr':4} {'seq':>10} {'ack':>10} {'win':>6} "
                   f"{'len':>5} IBM zdiag")  # fmt: skip
        for r in p.to_dict("records"):
            classes = [c for c, col in CLASS_COLUMN.items() if r[col] is True]
            extra = ""
            if r["dup_ack_num"] is not None and str(r["dup_ack_num"]) != "<NA>":
                extra = f" #{r['dup_ack_num']}"
            letter = r["ibm_flag"] if isinstance(r["ibm_flag"], str) else " "
            out.append(
                f"{r['nr']:>3} {r['direction']:3} {r['tcp_flags']:4} {r['seq']:>10} "
                f"{r['ack_num']:>10} {r['window']:>6} {r['data_len']:>5}  {letter}  "
                f"{','.join(classes) or '-'}{extra}"
            )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
