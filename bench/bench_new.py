"""Wall time of `axolotl-wizard --help` and `new --yes` next to `axolotl --help`, same machine,
same run. Prints medians and ratios; asserts nothing (tests never assert wall-clock times).

    python bench/bench_new.py [--runs 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def median_seconds(argv: list[str], runs: int, cwd: Path) -> float:
    times = []
    for index in range(runs):
        args = [a.replace("{i}", str(index)) for a in argv]
        start = time.perf_counter()
        subprocess.run(
            args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    wizard = str(BIN / "axolotl-wizard")
    axolotl = shutil.which("axolotl", path=str(BIN)) or "axolotl"
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        rows = {
            "axolotl-wizard --help": median_seconds([wizard, "--help"], runs, cwd),
            "axolotl-wizard new --yes": median_seconds(
                [
                    wizard,
                    "new",
                    "run{i}",
                    "--preset",
                    "llama-3.1-8b-qlora",
                    "--set",
                    "datasets.0.path=data/train.jsonl",
                    "--yes",
                ],
                runs,
                cwd,
            ),
            "axolotl --help (peer)": median_seconds([axolotl, "--help"], max(3, runs // 2), cwd),
        }
    peer = rows["axolotl --help (peer)"]
    print(f"{'command':28} {'median s':>9} {'× faster than axolotl --help':>30}")
    for name, seconds in rows.items():
        print(f"{name:28} {seconds:9.3f} {peer / seconds:30.1f}")


if __name__ == "__main__":
    main()
