"""Wall time of the wizard's quick commands next to `axolotl --help`, same machine, same run.
Prints medians and ratios; asserts nothing (tests never assert wall-clock times).

    python bench/bench_new.py [--runs 9]

Every command runs once before it is timed, with byte-code caching on (PYTHONDONTWRITEBYTECODE
removed from the children's environment): without it, each run would compile the wizard's
sources again, which no installed copy does.
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


def median_seconds(argv: list[str], runs: int, cwd: Path) -> float:
    subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, check=False)  # warm the caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
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
            "floor: pydantic, one model": [sys.executable, "-c", FLOOR],
        }
        seconds = {name: median_seconds(argv, runs, cwd) for name, argv in rows.items()}
        peer = median_seconds([axolotl, "--help"], max(3, runs // 3), cwd)
    print(f"{'command':28} {'median s':>9} {'× faster than axolotl --help':>30}")
    for name, value in seconds.items():
        print(f"{name:28} {value:9.3f} {peer / value:30.1f}")
    print(f"{'axolotl --help (peer)':28} {peer:9.3f} {1.0:30.1f}")


if __name__ == "__main__":
    main()
