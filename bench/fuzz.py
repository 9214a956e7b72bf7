"""Long-running fuzzing of every registered kind's parser (outside CI).

    python bench/fuzz.py                         # all kinds, 10 minutes
    python bench/fuzz.py --kind systcpda.session --minutes 60
    python bench/fuzz.py --atheris               # coverage-guided, when atheris is installed

The properties are those of ``tests/test_fuzz.py`` (which runs them with bounded examples in
the default pytest run): on random bytes and on mutations of the real samples under
``fixtures/`` (truncation, byte flips, line shuffles and duplication, NUL bytes, invalid
UTF-8, mixed and EBCDIC encodings, CRLF and tabs, very long lines, splices of two samples),
``zdiag.pipeline.parse_source`` never raises, accounts for every line and stays within the
time bound. Hypothesis runs random rounds until the time is up; a failing input is shrunk,
printed, and saved under ``bench/.fuzz-failures/`` (then the run stops with exit code 1).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

import test_fuzz as tf  # noqa: E402  (the shared properties and mutations)
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FAILURES = HERE / ".fuzz-failures"


def _save(data: bytes, kind: str | None, exc: BaseException) -> Path:
    FAILURES.mkdir(exist_ok=True)
    path = FAILURES / f"{kind or 'detect'}-{hashlib.sha256(data).hexdigest()[:16]}.bin"
    path.write_bytes(data)
    path.with_suffix(".txt").write_text("".join(traceback.format_exception(exc)))
    return path


def hypothesis_round(kind: str, examples: int, seed: int) -> None:
    samples = tf.SAMPLES[kind]

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(
        tf.mutated(samples) | st.binary(max_size=65536),
        st.sampled_from([kind, None]),
    )
    def run(data, k):
        try:
            tf.check(data, k)
        except BaseException as exc:
            _save(data, k, exc)
            raise

    random.seed(seed)
    run()


def atheris_main(kinds: list[str]) -> None:  # pragma: no cover - optional tool
    import atheris

    def one(data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        kind = kinds[fdp.ConsumeIntInRange(0, len(kinds))] if kinds else None
        base = fdp.PickValueInList(tf.SAMPLES[kind]) if kind and tf.SAMPLES[kind] else b""
        r = random.Random(fdp.ConsumeInt(4))
        body = fdp.ConsumeBytes(fdp.remaining_bytes())
        blob = tf._apply(base, [r.choice(tf.MUTATIONS)], r.randrange(2**32)) + body
        tf.check(blob, kind)

    atheris.Setup(sys.argv[:1], one)
    atheris.Fuzz()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", action="append", help="a kind (repeatable); default: all")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--examples", type=int, default=500, help="examples per round and kind")
    ap.add_argument("--atheris", action="store_true", help="coverage-guided with atheris")
    a = ap.parse_args()
    kinds = a.kind or tf.KINDS
    if a.atheris:
        atheris_main(kinds)
        return 0
    end = time.monotonic() + a.minutes * 60
    rounds = 0
    while time.monotonic() < end:
        for kind in kinds:
            seed = rounds * 7919 + len(kind)
            t0 = time.perf_counter()
            try:
                hypothesis_round(kind, a.examples, seed)
            except Exception:
                traceback.print_exc()
                print(f"FAILED on {kind}; the input is saved under {FAILURES}")
                return 1
            print(f"round {rounds} {kind}: {a.examples} inputs ok in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
            if time.monotonic() >= end:
                break
        rounds += 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
