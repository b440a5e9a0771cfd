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
from dataclasses import dataclass, field
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


@dataclass
class Coverage:
    configs: int = 0  # Axolotl-valid configs in the corpus
    refused: int = 0  # of them, not imported
    first: int = 0  # meaningful keys that became first-class answers
    raw: int = 0  # meaningful keys kept raw
    clean: int = 0  # imported configs with no raw key at all
    left_raw: collections.Counter[str] = field(default_factory=collections.Counter)

    @property
    def first_share(self) -> float:
        return self.first / (self.first + self.raw)

    @property
    def clean_share(self) -> float:
        return self.clean / self.configs


def coverage(corpus: Path) -> Coverage:
    """Import every Axolotl-valid config of the corpus and count its keys."""
    rows = [json.loads(line) for line in (corpus / "verdicts.jsonl").open()]
    valid = [row["path"] for row in rows if row["verdict"] == "valid"]
    found = Coverage(configs=len(valid))
    here = os.getcwd()
    os.chdir(corpus)  # the corpus's DeepSpeed paths are relative to Axolotl's repository root
    try:
        for path in valid:
            _count(found, Path(path), corpus)
    finally:
        os.chdir(here)
    return found


def _count(found: Coverage, path: Path, corpus: Path) -> None:
    try:
        imported = import_config(path, cwd=corpus, run_dir=Path("run"))
    except WizardError:
        found.refused += 1
        return
    cfg, values = imported.source.cfg, imported.layer.values
    claimed = set(imported.claimed) - {"datasets"}
    meaningful = {k for k, v in cfg.items() if v is not None and k != "datasets"}
    ds_first, ds_raw = dataset_counts(cfg, values)
    top_raw = meaningful - claimed
    found.first += len(meaningful & claimed) + ds_first
    found.raw += len(top_raw) + ds_raw
    found.clean += not top_raw and not ds_raw
    found.left_raw.update(top_raw)


def measure(corpus: Path) -> None:
    started = time.perf_counter()
    found = coverage(corpus)
    elapsed = time.perf_counter() - started
    print(f"corpus: {found.configs} Axolotl-valid configs, {found.refused} not imported")
    print(f"meaningful keys: {found.first + found.raw}; first-class answers: {found.first} "
          f"({found.first_share:.1%}); raw: {found.raw} ({1 - found.first_share:.1%})")
    print(f"configs with no raw key: {found.clean} of {found.configs} ({found.clean_share:.1%})")
    print(f"import time: {elapsed / found.configs * 1000:.1f} ms a config")
    print("most often raw: " + ", ".join(f"{k} ({n})" for k, n in found.left_raw.most_common(15)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests/data/axolotl-examples")
    measure(parser.parse_args().corpus.resolve())


if __name__ == "__main__":
    main()
