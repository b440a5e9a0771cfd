"""`check --fix` on the import corpus's 60 configs that Axolotl 0.19.0 refuses.

`refusals.yml` classifies each: the reason, whether a fix keeps what the config meant
(mechanical), why, and whether `check --fix` makes it a config Axolotl accepts here (fixed).
The fixed copies go through Axolotl's own validate_config, all in one child process; the list of
fixed files is exact, so a fix that stops working (or starts to) fails here.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TESTS
from validated_configs import read_all

from wizard.cli import main

ROOT = TESTS / "data" / "import-corpus"
REFUSALS: list[dict[str, Any]] = yaml.safe_load((ROOT / "refusals.yml").read_text())
VERDICTS = [json.loads(line) for line in (ROOT / "verdicts.jsonl").open()]
MACHINE = ("--gpu-arch", "sm_90", "--gpus", "8")  # the verdicts' capabilities
MECHANICAL = [r["file"] for r in REFUSALS if r["mechanical"]]
FIXED = {r["file"] for r in REFUSALS if r["fixed"]}


@pytest.fixture(scope="module")
def fixed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, dict[str, Any]]]:
    """Each refused config fixed in a copy of the corpus, from the corpus folder (where the
    verdicts were made): its exit status and --json report."""
    folder = tmp_path_factory.mktemp("corpus")
    shutil.copytree(ROOT / "configs", folder / "configs")
    results = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for row in REFUSALS:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = main(["check", f"configs/{row['file']}", "--fix", "--json", *MACHINE])
            report = json.loads(out.getvalue())
            written = report["fix"]["written"]
            report["fix"]["written"] = str(folder / written) if written else None
            results[row["file"]] = (code, report)
    return results


def test_every_refused_config_is_classified() -> None:
    refused = {v["path"].removeprefix("configs/") for v in VERDICTS if v["verdict"] != "valid"}
    assert [r["file"] for r in REFUSALS] == sorted(refused)
    assert all(r["reason"] and r["why"] and isinstance(r["mechanical"], bool) for r in REFUSALS)
    assert set(MECHANICAL) >= FIXED


def test_exit_status_says_whether_the_fixed_copy_is_clean(
    fixed: dict[str, tuple[int, dict[str, Any]]],
) -> None:
    clean = {name for name, (code, _) in fixed.items() if code == 0}
    assert clean == FIXED
    for name, (code, report) in fixed.items():
        assert report["exit_code"] == code
        assert report["fix"]["ok"] is (True if code == 0 else report["fix"]["ok"])
        if code == 1 and report["fix"]["written"]:
            assert report["fix"]["errors_left"], name


@pytest.mark.integration
def test_axolotl_accepts_the_fixed_copies(fixed: dict[str, tuple[int, dict[str, Any]]]) -> None:
    copies = {n: Path(r["fix"]["written"]) for n, (_, r) in fixed.items() if r["fix"]["written"]}
    verdicts = read_all(list(copies.values()))
    accepted = {n for n, path in copies.items() if "error" not in verdicts[str(path)]}
    mechanical = accepted & set(MECHANICAL)
    share = len(mechanical) / len(MECHANICAL)
    print(f"\ncheck --fix: Axolotl accepts {len(accepted)} of {len(REFUSALS)} refused configs; "
          f"{len(mechanical)} of {len(MECHANICAL)} mechanical ({share:.0%})")  # fmt: skip
    for name in sorted(set(MECHANICAL) - accepted):
        print(f"  not accepted: {name}: {verdicts.get(str(copies.get(name)), {}).get('error')}")
    assert accepted == FIXED
    assert share >= 0.85
