"""`check --fix` on the configs Axolotl 0.19.0 refuses: the import corpus's 60 and the 25 of
Axolotl's own examples.

`refusals.yml` classifies the corpus's: the reason, whether a fix keeps what the config meant
(mechanical), why, and whether `check --fix` makes it a config Axolotl accepts here (fixed).
The fixed copies go through Axolotl's own validate_config, all in one child process; the lists
of fixed files are exact, so a fix that stops working (or starts to) fails here.
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
EXAMPLES = TESTS / "data" / "axolotl-examples"
EXAMPLE_VERDICTS = [json.loads(line) for line in (EXAMPLES / "verdicts.jsonl").open()]
# The refused examples --fix makes acceptable; the others need a decision (early stopping's
# cadence, save_strategy: best's metric, ...), are templates without datasets, or need a package.
EXAMPLES_FIXED = {
    "examples/archived/jeopardy-bot/config.yml",  # tokens: {bos_token, ...} -> special_tokens
    "examples/archived/mpt-7b/config.yml",
    "examples/archived/redpajama/config-3b.yml",
    "examples/archived/pythia-12b/config.yml",  # max_packed_sequence_len -> sample_packing
    "examples/archived/stablelm-2/1.6b/fft.yml",  # flash_attn_rms_norm dropped
    "examples/archived/stablelm-2/1.6b/lora.yml",
    "examples/expert_parallel/qwen3_30ba3b_ep_fft_4gpu.yaml",  # warmup_steps: 0.1 -> warmup_ratio
    "examples/expert_parallel/qwen3_30ba3b_ep_fsdp_fft_4gpu.yaml",
    "examples/expert_parallel/qwen3_30ba3b_ep_lora_4gpu.yaml",
    "examples/mistral-medium-3_5/qlora-text.yml",  # output_dir: (empty) -> Axolotl's default
    "examples/mistral-medium-3_5/qlora-vision.yml",
    "examples/mistral4/fft-text.yml",  # FSDP2: adamw_bnb_8bit -> adamw_torch_8bit
    "examples/mistral4/fft-vision.yml",
}


def fix_all(folder: Path, paths: list[str]) -> dict[str, tuple[int, dict[str, Any]]]:
    """`check --fix` on each of `paths` (relative to `folder`, the working directory the
    verdicts were made in): its exit status and --json report."""
    results = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for path in paths:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = main(["check", path, "--fix", "--json", *MACHINE])
            report = json.loads(out.getvalue())
            written = report["fix"]["written"]
            report["fix"]["written"] = str(folder / written) if written else None
            results[path] = (code, report)
    return results


def accepted_copies(fixed: dict[str, tuple[int, dict[str, Any]]]) -> tuple[set[str], Any]:
    """The configs whose fixed copy Axolotl accepts, and every copy's verdict."""
    copies = {n: Path(r["fix"]["written"]) for n, (_, r) in fixed.items() if r["fix"]["written"]}
    verdicts = read_all(list(copies.values()))
    return {n for n, path in copies.items() if "error" not in verdicts[str(path)]}, verdicts


@pytest.fixture(scope="module")
def fixed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, dict[str, Any]]]:
    """Each refused corpus config fixed in a copy of the corpus, keyed by its file name."""
    folder = tmp_path_factory.mktemp("corpus")
    shutil.copytree(ROOT / "configs", folder / "configs")
    done = fix_all(folder, [f"configs/{row['file']}" for row in REFUSALS])
    return {path.removeprefix("configs/"): result for path, result in done.items()}


@pytest.fixture(scope="module")
def fixed_examples(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[int, dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("examples")
    for part in ("examples", "deepspeed_configs"):
        shutil.copytree(EXAMPLES / part, folder / part)
    return fix_all(folder, [v["path"] for v in EXAMPLE_VERDICTS if v["verdict"] != "valid"])


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


def test_exit_status_on_the_examples(
    fixed_examples: dict[str, tuple[int, dict[str, Any]]],
) -> None:
    assert {name for name, (code, _) in fixed_examples.items() if code == 0} == EXAMPLES_FIXED


@pytest.mark.integration
def test_axolotl_accepts_the_fixed_examples(
    fixed_examples: dict[str, tuple[int, dict[str, Any]]],
) -> None:
    assert accepted_copies(fixed_examples)[0] == EXAMPLES_FIXED


@pytest.mark.integration
def test_axolotl_accepts_the_fixed_copies(fixed: dict[str, tuple[int, dict[str, Any]]]) -> None:
    accepted, verdicts = accepted_copies(fixed)
    copies = {n: r["fix"]["written"] for n, (_, r) in fixed.items()}
    mechanical = accepted & set(MECHANICAL)
    share = len(mechanical) / len(MECHANICAL)
    print(f"\ncheck --fix: Axolotl accepts {len(accepted)} of {len(REFUSALS)} refused configs; "
          f"{len(mechanical)} of {len(MECHANICAL)} mechanical ({share:.0%})")  # fmt: skip
    for name in sorted(set(MECHANICAL) - accepted):
        print(f"  not accepted: {name}: {verdicts.get(str(copies[name]), {}).get('error')}")
    assert accepted == FIXED
    assert share >= 0.85
