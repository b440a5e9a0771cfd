"""The import contract over Axolotl's own example configs: nothing lost, nothing added.

Every file Axolotl 0.19.0 accepts is imported with the real `new --from --yes`; then Axolotl's
own `validate_config` (plugins registered, the corpus verdicts' capabilities) reads the original
and the written `axolotl.yml` in one child process. The two validated configs must be equal once
local paths are resolved against each file's own folder and a DeepSpeed path is replaced by the
JSON it names. The files that are not imported are listed, each with its reason, in
tests/data/import-limitations.yml, and that list must be exactly the files that fail.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TESTS, bench_module
from validated_configs import read_all

from wizard import cli
from wizard.axolotl.deepspeed_file import load_deepspeed
from wizard.axolotl.paths import FOLDER_KEYS, MAYBE_LOCAL_KEYS, is_local_path
from wizard.axolotl.schema import load_schema

ROOT = (TESTS / "data" / "axolotl-examples").resolve()
LIMITATIONS = TESTS / "data" / "import-limitations.yml"
VALID = [row["path"] for row in map(json.loads, (ROOT / "verdicts.jsonl").open())
         if row["verdict"] == "valid"]  # fmt: skip
DATASET_LISTS = ("datasets", "test_datasets", "pretraining_dataset")

pytestmark = pytest.mark.integration


def resolved(cfg: dict[str, Any], config_path: Path, cwd: Path) -> dict[str, Any]:
    """`cfg` with its local paths absolute (from the file's folder) and its DeepSpeed JSON in."""
    out, base = dict(cfg), config_path.parent

    def absolute(value: str) -> str:
        return os.path.normpath(base / os.path.expanduser(value))

    for key in FOLDER_KEYS:
        if isinstance(out.get(key), str):
            out[key] = absolute(out[key])
    for key in MAYBE_LOCAL_KEYS:
        if isinstance(out.get(key), str) and is_local_path(out[key]):
            out[key] = absolute(out[key])
    for key in DATASET_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_resolved_entry(entry, absolute) for entry in out[key]]
    if isinstance(out.get("deepspeed"), str):
        out["deepspeed"] = load_deepspeed(out["deepspeed"], config_path, cwd)
    return out


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


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    runs = tmp_path_factory.mktemp("imports")
    made: dict[str, Path] = {}
    refused: dict[str, str] = {}
    here = Path.cwd()
    os.chdir(ROOT)  # the corpus's DeepSpeed paths are relative to Axolotl's repository root
    try:
        for path in VALID:
            run = runs / path.replace("/", "__")
            code = cli.main(["new", str(run), "--from", path, "--yes"])
            if code == 0:
                made[path] = run / "axolotl.yml"
            else:
                refused[path] = "import refused"
    finally:
        os.chdir(here)
    validated = read_all([*(ROOT / p for p in made), *made.values()])
    return {"made": made, "refused": refused, "validated": validated}


def test_imports_validate_as_the_originals(
    round_trip: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    failures = dict(round_trip["refused"])
    for path, written in round_trip["made"].items():
        theirs = round_trip["validated"][str(ROOT / path)]
        ours = round_trip["validated"][str(written)]
        if "error" in theirs or "error" in ours:
            failures[path] = f"validation: {theirs.get('error') or ours.get('error')}"
            continue
        original = resolved(theirs["config"], ROOT / path, ROOT)
        imported = resolved(ours["config"], written, written.parent)
        original = without_migrated_keys(original, imported)
        differ = sorted(k for k in {*original, *imported} if original.get(k) != imported.get(k))
        if differ:
            failures[path] = f"differs: {differ[:5]}"
    listed = yaml.safe_load(LIMITATIONS.read_text())
    with capsys.disabled():
        share = 1 - len(failures) / len(VALID)
        print(f"\nimport round trip: {len(VALID) - len(failures)}/{len(VALID)} ({share:.1%})")
    assert {p: "" for p in failures} == {p: "" for p in listed}, failures
    assert all(isinstance(reason, str) and len(reason) > 20 for reason in listed.values())
    assert share >= 0.95


def test_most_of_the_corpus_imports_as_first_class_answers() -> None:
    """Issue 14's floor, measured as `python bench/bench_import.py` prints it: at least 90 % of
    the meaningful keys become answers, and at least half of the configs keep no raw key."""
    found = bench_module("bench_import").coverage(ROOT)
    assert found.first_share >= 0.90, found.left_raw.most_common(10)
    assert found.clean_share >= 0.50, found.left_raw.most_common(10)
