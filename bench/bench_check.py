"""Bench `check` against Axolotl's own validate_config over the example corpus.

    .venv/bin/python bench/bench_check.py

Prints: the median wall time of one `axolotl-wizard check` (a fresh process, as a user runs it);
the time of `check` over all 252 files in one process; Axolotl's validate_config over the same
files in one process (import once, then each file), and the ratio. Target: >= 20x, single < 0.3 s.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "axolotl-examples"


def single_check(path: Path, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "wizard", "check", str(path)],
                       capture_output=True, check=False, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def corpus_check(paths: list[Path]) -> float:
    from wizard.lint import Env, check_file

    start = time.perf_counter()
    for path in paths:
        check_file(path, env=Env.for_gpu("sm_90", n_gpu=8, cwd=CORPUS))
    return time.perf_counter() - start


def corpus_axolotl(paths: list[Path]) -> float:
    from wizard.lint import Env
    from wizard.lint.axolotl_check import validate_with_axolotl

    start = time.perf_counter()
    validate_with_axolotl(paths, Env.for_gpu("sm_90", n_gpu=8))
    return time.perf_counter() - start


def main() -> int:
    sys.path.insert(0, str(ROOT))
    paths = sorted((CORPUS / "examples").rglob("*.y*ml"))
    one = single_check(paths[0])
    ours = corpus_check(paths)
    theirs = corpus_axolotl(paths)
    print(f"files: {len(paths)}")
    print(f"single `axolotl-wizard check` (new process, median of 7): {one:.3f} s")
    print(f"check over the corpus (one process):            {ours:.2f} s "
          f"({ours / len(paths) * 1000:.1f} ms a file)")
    print(f"Axolotl validate_config over the corpus:        {theirs:.2f} s "
          f"({theirs / len(paths) * 1000:.1f} ms a file, import included)")
    print(f"ratio: check is {theirs / ours:.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
