"""How well `new --from` imports a corpus of Axolotl configs: issue 29's three figures.

    python bench/bench_import.py [--corpus tests/data/axolotl-examples] [--no-round-trip]

Over the configs Axolotl 0.19.0 accepts (the corpus's `verdicts.jsonl`), it prints:
- the share imported at all (no refusal);
- the share that round-trips exactly: `new --from --yes`, then Axolotl's own `validate_config`
  on the original and the written `axolotl.yml` gives equal settings (as
  `tests/importer/test_import_corpus.py` checks it; needs Axolotl installed, one child process);
- the share of imported configs that carry no raw key;
- the share of meaningful keys that became first-class answers;
- and, for a corpus whose `refusals.yml` classifies the configs Axolotl refuses, the share of
  the mechanical ones that `check --fix` turns into configs Axolotl accepts (as
  `tests/lint/test_fix_corpus.py` checks it; needs Axolotl installed).

A meaningful key is one with a value (not null) that Axolotl reads (the keys it ignores are not
carried). It is first-class when it became an answer the wizard asks about, explains, estimates
with and auto-fits, and raw when it passes through under `axolotl:`. Dataset entries count key by
key. The keys left raw in more than two configs, the next answers to add, are listed.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "importer")]

from wizard.axolotl import keys as K  # noqa: E402
from wizard.errors import WizardError  # noqa: E402
from wizard.importer import import_config  # noqa: E402

DATASET_RAW = re.compile(r"^datasets\.\d+\.axolotl\.")


def dataset_counts(cfg: dict[str, Any], answers: dict[str, Any]) -> tuple[int, int]:
    """(first-class, raw) keys of the dataset entries."""
    first = raw = 0
    for index, entry in enumerate(cfg.get(K.DATASETS) or []):
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
    def imported(self) -> int:
        return self.configs - self.refused

    @property
    def imported_share(self) -> float:
        return self.imported / self.configs

    @property
    def first_share(self) -> float:
        return self.first / (self.first + self.raw)

    @property
    def clean_share(self) -> float:
        """Of the imported configs, those with no raw key."""
        return self.clean / self.imported


def valid_configs(corpus: Path) -> list[str]:
    rows = [json.loads(line) for line in (corpus / "verdicts.jsonl").open(encoding="utf-8")]
    return [row["path"] for row in rows if row["verdict"] == "valid"]


def coverage(corpus: Path) -> Coverage:
    """Import every Axolotl-valid config of the corpus and count its keys."""
    valid = valid_configs(corpus)
    found = Coverage(configs=len(valid))
    here = os.getcwd()
    os.chdir(corpus)  # the corpus's DeepSpeed paths are relative to its folder
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
    claimed = set(imported.claimed) - {K.DATASETS}
    meaningful = {k for k, v in cfg.items() if v is not None and k != K.DATASETS}
    ds_first, ds_raw = dataset_counts(cfg, values)
    top_raw = meaningful - claimed
    found.first += len(meaningful & claimed) + ds_first
    found.raw += len(top_raw) + ds_raw
    found.clean += not top_raw and not ds_raw
    found.left_raw.update(top_raw)
    found.left_raw.update({f"datasets[].{k.split('.')[3]}" for k in values if DATASET_RAW.match(k)})


def round_trip(corpus: Path) -> tuple[int, dict[str, str]]:
    """(Axolotl-valid configs, those not reproduced exactly with why), through the corpus test's
    own round trip: `new --from --yes`, then Axolotl's `validate_config` on both files."""
    from round_trip import Corpus, failures, files_to_validate, import_all
    from validated_configs import read_all

    case = Corpus(corpus)
    with tempfile.TemporaryDirectory() as runs:
        imports = import_all(case, Path(runs))
        validated = read_all(files_to_validate(case, imports))
        return len(case.valid), failures(case, imports, validated)


def fixed_by_check(corpus: Path) -> tuple[int, int, int]:
    """(mechanical refusals, those whose `check --fix` copy Axolotl accepts, all refusals), with
    the verdicts' machine (an H100 node of 8), in a copy of the corpus."""
    import contextlib
    import io
    import shutil

    import yaml
    from validated_configs import read_all

    from wizard.cli import main as wizard

    refusals = yaml.safe_load((corpus / "refusals.yml").read_text(encoding="utf-8"))
    mechanical = [row["file"] for row in refusals if row["mechanical"]]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(shutil.copytree(corpus, Path(tmp) / "corpus"))
        here, copies = os.getcwd(), []
        os.chdir(folder / "configs")  # where the verdicts were made
        try:
            for path in mechanical:
                out = io.StringIO()
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                    wizard(["check", path, "--fix", "--json", "--gpu-arch", "sm_90", "--gpus", "8"])
                written = json.loads(out.getvalue())["fix"]["written"]
                copies += [folder / "configs" / written] if written else []
        finally:
            os.chdir(here)
        verdicts = read_all(copies)
        accepted = sum("error" not in verdicts[str(path)] for path in copies)
    return len(mechanical), accepted, len(refusals)


def share(part: int, whole: int) -> str:
    return f"{part} of {whole} ({part / whole:.1%})"


def measure(corpus: Path, with_round_trip: bool) -> None:
    started = time.perf_counter()
    found = coverage(corpus)
    elapsed = time.perf_counter() - started
    print(f"corpus: {corpus.name}, {found.configs} configs Axolotl 0.19.0 accepts")
    print(f"imported (not refused): {share(found.imported, found.configs)}")
    if with_round_trip:
        valid, failed = round_trip(corpus)
        print(f"round trip exact (Axolotl's validated settings equal): "
              f"{share(valid - len(failed), valid)}")  # fmt: skip
        for path, why in sorted(failed.items()):
            print(f"  not exact: {path}: {why[:160]}")
    else:
        print("round trip exact: not measured (needs Axolotl installed; --no-round-trip)")
    print(f"imported configs with no raw key: {share(found.clean, found.imported)}")
    print(f"first-class keys: {share(found.first, found.first + found.raw)} of the meaningful "
          f"keys; raw: {found.raw}")  # fmt: skip
    print(f"import time: {elapsed / found.configs * 1000:.1f} ms a config")
    common = [f"{k} ({n})" for k, n in found.left_raw.most_common() if n > 2]
    print("raw in more than two configs: " + (", ".join(common) or "none"))
    if with_round_trip and (corpus / "refusals.yml").exists():
        mechanical, accepted, refused = fixed_by_check(corpus)
        print(
            f"check --fix: {share(accepted, mechanical)} of the configs Axolotl refuses for "
            f"a mechanical reason become configs it accepts ({refused} refused in all)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests/data/axolotl-examples")
    parser.add_argument("--no-round-trip", action="store_true", help="skip Axolotl's validation")
    args = parser.parse_args()
    installed = importlib.util.find_spec("axolotl") is not None
    measure(args.corpus.resolve(), installed and not args.no_round_trip)


if __name__ == "__main__":
    main()
