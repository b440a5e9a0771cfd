"""Wall time of the wizard's quick commands next to `axolotl --help` and the floor under them,
same machine, same run. Prints medians and ratios; asserts nothing (tests never assert times).

    python bench/bench_new.py [--runs 9] [--instructions]

Every command runs once before it is timed, with byte-code caching on (PYTHONDONTWRITEBYTECODE
removed from the children's environment): without it, each run would compile the wizard's
sources again, which no installed copy does.

Wall times on a small shared machine drift by 20% between runs, so the commands take turns (one
run of each, over and over) and a slow spell falls on every row alike; `--instructions` also
counts the instructions each command runs under `valgrind --tool=callgrind` (PYTHONHASHSEED=0,
the second of two runs), a figure that repeats to the last digit, so a change can be judged by
it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
# The floor under any verb that validates answers: the interpreter, PyYAML, Pydantic imported
# the usual way (on Python before 3.13 that brings asyncio, through typing_extensions), and one
# strict model built and validated; with the collector off, plugins off and `os._exit`, as the
# quick verbs run.
FLOOR = """\
import gc, os
gc.disable()
os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"
import yaml
from pydantic import BaseModel, ConfigDict
class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    micro_batch_size: int = 1
Answer(micro_batch_size=2)
os._exit(0)
"""
QLORA = ["--preset", "llama-3.1-8b-qlora", "--set", "datasets.0.path=data/train.jsonl"]
FLOOR_ROW = "floor: pydantic, one model"


def median_seconds(commands: dict[str, list[str]], runs: int, cwd: Path) -> dict[str, float]:
    """Each command's median wall time. The commands take turns (one run of each, `runs` times
    over), so a slow spell of this shared machine falls on all of them, not on one row."""
    for argv in commands.values():  # warm the caches
        subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, check=False)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            start = time.perf_counter()
            subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, check=True)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def instructions(argv: list[str], cwd: Path) -> float:
    """Instructions the command runs, counted by callgrind on the second of two runs (the first
    leaves the byte code cached)."""
    out = cwd / "callgrind.out"
    env = {**ENV, "PYTHONHASHSEED": "0"}
    for _ in range(2):
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv]
        subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=True)
    totals = [line for line in out.read_text().splitlines() if line.startswith("summary:")]
    return float(totals[0].split()[1])


def instruction_table(rows: dict[str, list[str]], cwd: Path) -> None:
    counts = {name: instructions(argv, cwd) for name, argv in rows.items()}
    print(f"{'command':28} {'M instructions':>15} {'× floor':>8}")
    for name, count in counts.items():
        print(f"{name:28} {count / 1e6:15,.0f} {count / counts[FLOOR_ROW]:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--instructions", action="store_true", help="count them (valgrind)")
    options = parser.parse_args()
    wizard = str(BIN / "axolotl-wizard")
    axolotl = shutil.which("axolotl", path=str(BIN)) or "axolotl"
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        subprocess.run([wizard, "new", "made", *QLORA, "--yes"], cwd=cwd, env=ENV, check=True)
        rows = {
            "axolotl-wizard --help": [wizard, "--help"],
            "axolotl-wizard new --yes": [wizard, "new", "run", *QLORA, "--yes", "--force"],
            "axolotl-wizard check": [wizard, "check", "made/axolotl.yml"],
            "axolotl-wizard estimate": [wizard, "estimate", "made"],
            FLOOR_ROW: [sys.executable, "-c", FLOOR],
        }
        seconds = median_seconds(rows, options.runs, cwd)
        peer = median_seconds({"peer": [axolotl, "--help"]}, max(3, options.runs // 3), cwd)["peer"]
        floor = seconds[FLOOR_ROW]
        print(f"{'command':28} {'median s':>9} {'× faster than axolotl --help':>30} {'× floor':>8}")
        for name, value in seconds.items():
            print(f"{name:28} {value:9.3f} {peer / value:30.1f} {value / floor:8.2f}")
        print(f"{'axolotl --help (peer)':28} {peer:9.3f} {1.0:30.1f} {peer / floor:8.2f}")
        if options.instructions:
            print()
            instruction_table(rows, cwd)


if __name__ == "__main__":
    main()
