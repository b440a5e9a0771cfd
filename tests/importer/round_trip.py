"""The import round trip over a corpus of Axolotl configs, for the corpus test and the bench.

Every file Axolotl 0.19.0 accepts (the corpus's `verdicts.jsonl`) is imported with the real
`new --from --yes`; Axolotl's own `validate_config` then reads the original and the written
`axolotl.yml` (`validated_configs.read_all`, one child process for every file), and the two
validated configs must be equal once local paths are resolved against each file's own folder and
a DeepSpeed path is replaced by the JSON it names. A DeepSpeed file that is not there is the JSON
Axolotl ships under that name (read from `tests/data/axolotl-examples/deepspeed_configs`, Axolotl's
own files, not the wizard's copy), else it is compared as the path written.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import yaml

from wizard import cli
from wizard.axolotl import keys as K
from wizard.axolotl.deepspeed_file import find_deepspeed, read_deepspeed
from wizard.axolotl.paths import FOLDER_KEYS, MAYBE_LOCAL_KEYS, is_local_path
from wizard.axolotl.schema import load_schema

DATA = Path(__file__).resolve().parent.parent / "data"
SHIPPED_DEEPSPEED = DATA / "axolotl-examples" / "deepspeed_configs"
DATASET_LISTS = (K.DATASETS, K.TEST_DATASETS, K.PRETRAINING_DATASET)


@dataclass
class Corpus:
    """A folder of configs with Axolotl's verdicts, imported from that folder (the corpus's
    DeepSpeed paths are relative to it), and the files it is known not to reproduce."""

    root: Path
    limitations: Path | None = None

    @property
    def valid(self) -> list[str]:
        rows = map(json.loads, (self.root / "verdicts.jsonl").open(encoding="utf-8"))
        return [row["path"] for row in rows if row["verdict"] == "valid"]


@dataclass
class Imports:
    made: dict[str, Path] = field(default_factory=dict)  # config -> the axolotl.yml written
    refused: dict[str, str] = field(default_factory=dict)  # config -> the import's error


def import_all(corpus: Corpus, runs: Path) -> Imports:
    """`new RUN --from CONFIG --yes` for every Axolotl-valid config, from the corpus folder."""
    done, here = Imports(), Path.cwd()
    os.chdir(corpus.root)
    try:
        for path in corpus.valid:
            run = runs / path.replace("/", "__")
            errors = io.StringIO()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(errors):
                code = cli.main(["new", str(run), "--from", path, "--yes"])
            if code == 0:
                done.made[path] = run / "axolotl.yml"
            else:
                said = [line for line in errors.getvalue().splitlines() if line.startswith("error")]
                done.refused[path] = f"import refused: {(said or ['?'])[0][:300]}"
    finally:
        os.chdir(here)
    return done


def files_to_validate(corpus: Corpus, imports: Imports) -> list[Path]:
    return [*(corpus.root / p for p in imports.made), *imports.made.values()]


def failures(
    corpus: Corpus, imports: Imports, validated: dict[str, dict[str, Any]]
) -> dict[str, str]:
    """Each Axolotl-valid config not reproduced exactly, with why."""
    found = dict(imports.refused)
    for path, written in imports.made.items():
        theirs, ours = validated[str(corpus.root / path)], validated[str(written)]
        if "error" in theirs or "error" in ours:
            found[path] = f"validation: {theirs.get('error') or ours.get('error')}"
            continue
        original = resolved(theirs["config"], corpus.root / path, corpus.root)
        imported = resolved(ours["config"], written, written.parent)
        original = without_migrated_keys(original, imported)
        differ = sorted(k for k in {*original, *imported} if original.get(k) != imported.get(k))
        if differ:
            found[path] = f"differs: {differ[:5]}"
    return found


def resolved(cfg: dict[str, Any], config_path: Path, cwd: Path) -> dict[str, Any]:
    """`cfg` with its local paths absolute (from the file's folder) and its DeepSpeed JSON in.
    A folder the file leaves to Axolotl's default (`./model-out`) stays as it is: it is where
    the run starts, wherever that is."""
    out, base = dict(cfg), config_path.parent
    written = yaml.safe_load(config_path.read_text(encoding="utf-8"))

    def absolute(value: str) -> str:
        return os.path.normpath(base / os.path.expanduser(value))

    for key in FOLDER_KEYS:
        if isinstance(out.get(key), str) and written.get(key) is not None:
            out[key] = absolute(out[key])
    for key in MAYBE_LOCAL_KEYS:
        if isinstance(out.get(key), str) and is_local_path(out[key]):
            out[key] = absolute(out[key])
    for key in DATASET_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_resolved_entry(entry, absolute) for entry in out[key]]
    if isinstance(out.get(K.DEEPSPEED), str):
        out[K.DEEPSPEED] = deepspeed_json(out[K.DEEPSPEED], config_path, cwd)
    return out


def deepspeed_json(value: str, config_path: Path, cwd: Path) -> Any:
    """What Axolotl reads for `deepspeed: value`: the file, else Axolotl's own file of that
    name (`deepspeed_configs/zero2.json`), else the path as written."""
    found = find_deepspeed(value, config_path.parent, cwd)
    shipped = SHIPPED_DEEPSPEED / PurePath(value).name
    if found is None and PurePath(value).parent.name == "deepspeed_configs" and shipped.is_file():
        found = shipped
    return value if found is None else read_deepspeed(found).data


def _resolved_entry(entry: Any, absolute: Any) -> Any:
    path = entry.get("path") if isinstance(entry, dict) else None
    if isinstance(path, str) and is_local_path(path):
        return {**entry, "path": absolute(path)}
    return entry


def without_migrated_keys(original: dict[str, Any], imported: dict[str, Any]) -> dict[str, Any]:
    """A deprecated key Axolotl copies to its current name but also keeps (evaluation_strategy,
    sequence_parallel_degree): the import carries only the current name, with the same value."""
    kept = dict(original)
    for old, new in load_schema().renames.items():
        moved = imported.get(old) is None and imported.get(new) == original.get(new)
        if original.get(old) is not None and moved:
            kept.pop(old)
    return kept
