"""How much of a config an import turns into first-class answers, over Axolotl's example corpus.

    python bench/bench_import.py [--corpus tests/data/axolotl-examples]

A meaningful key is one with a value (not null) that Axolotl reads (the keys it ignores are not
carried). It is first-class when it became an answer the wizard asks about, explains, estimates
with and auto-fits, and raw when it passes through under `axolotl:`. Dataset entries count key by
key. The share is the measure the next import issue raises; it prints the keys most often left
raw, which are the next answers to add.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wizard.errors import WizardError  # noqa: E402
from wizard.importer import import_config  # noqa: E402


def dataset_counts(cfg: dict[str, Any], answers: dict[str, Any]) -> tuple[int, int]:
    """(first-class, raw) keys of the dataset entries."""
    first = raw = 0
    for index, entry in enumerate(cfg.get("datasets") or []):
        own = {k for k, v in entry.items() if v is not None}
        kept = {k.split(".")[3] for k in answers if k.startswith(f"datasets.{index}.axolotl.")}
        raw += len(own & kept)
        first += len(own - kept)
    return first, raw


def measure(corpus: Path) -> None:
    rows = [json.loads(line) for line in (corpus / "verdicts.jsonl").open()]
    first = raw = refused = 0
    left_raw: collections.Counter[str] = collections.Counter()
    started = time.perf_counter()
    os.chdir(corpus)  # the corpus's DeepSpeed paths are relative to Axolotl's repository root
    valid = [row["path"] for row in rows if row["verdict"] == "valid"]
    for path in valid:
        try:
            imported = import_config(Path(path), cwd=corpus, run_dir=Path("run"))
        except WizardError:
            refused += 1
            continue
        cfg, values = imported.source.cfg, imported.layer.values
        claimed = set(imported.claimed) - {"datasets"}
        meaningful = {k for k, v in cfg.items() if v is not None and k != "datasets"}
        first += len(meaningful & claimed)
        raw += len(meaningful - claimed)
        left_raw.update(meaningful - claimed)
        ds_first, ds_raw = dataset_counts(cfg, values)
        first, raw = first + ds_first, raw + ds_raw
    elapsed = time.perf_counter() - started
    total = first + raw
    print(f"corpus: {len(valid)} Axolotl-valid configs, {refused} not imported")
    print(f"meaningful keys: {total}; first-class answers: {first} ({first / total:.1%}); "
          f"raw: {raw} ({raw / total:.1%})")
    print(f"import time: {elapsed / len(valid) * 1000:.1f} ms a config")
    print("most often raw: " + ", ".join(f"{k} ({n})" for k, n in left_raw.most_common(15)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests/data/axolotl-examples")
    measure(parser.parse_args().corpus.resolve())


if __name__ == "__main__":
    main()
