"""`check --fix` on refusals that are about values: each case's fixed copy says what the config
meant in the form Axolotl 0.19 accepts (Axolotl's own validate_config judges every copy), and
`check --fix` exits 0 only when the copy it wrote has no error left."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from validated_configs import read_all

from wizard.cli import main

BASE = """base_model: m
learning_rate: 0.0002
micro_batch_size: 2
gradient_accumulation_steps: 4
"""
ALPACA = "datasets:\n  - path: a/b\n    type: alpaca\n"
GRPO = (
    "rl: grpo\ntrl:\n  num_generations: 16\n  use_vllm: true\n"
    "datasets:\n  - path: a/b\n    split: train\n"
)
GPUS = ("--gpus", "8")
# name: (config text, extra check arguments, texts the copy holds, texts it does not, exit)
CASES: dict[str, tuple[str, tuple[str, ...], list[str], list[str], int]] = {
    "unsloth-checkpointing": (
        BASE + ALPACA + "gradient_checkpointing: unsloth\n",
        (),
        ["gradient_checkpointing: true\nactivation_offloading: legacy\n"],
        ["unsloth"],
        0,
    ),
    "resume-latest": (
        BASE + ALPACA + "resume_from_checkpoint: true\n",
        (),
        ["auto_resume_from_checkpoints: true\n"],
        ["\nresume_from_checkpoint"],
        0,
    ),
    "save-safetensors": (
        BASE + ALPACA + "save_safetensors: false  # a habit\n",
        (),
        [],
        ["save_safetensors"],
        0,
    ),
    "empty-strings": (
        BASE + ALPACA + 'local_rank: ""\nsave_steps: ""  # unset\nlora_model_dir: ""\n',
        (),
        ["local_rank:\n", "save_steps:  # unset\n", 'lora_model_dir: ""\n'],
        [],
        0,
    ),
    "one-dataset": (
        BASE + "datasets:\n  path: a/b  # the data\n  type: alpaca\n",
        (),
        ["datasets:\n  - path: a/b  # the data\n    type: alpaca\n"],
        [],
        0,
    ),
    "pretraining-split": (
        BASE + "max_steps: 10\npretraining_dataset:\n  path: a/b\n  type: completion\n"
        "val_set_size: 0.1\nseed: 1\nval_set_size: 0.05  # written twice\n",
        (),
        ["pretraining_dataset:\n  - path: a/b\n    type: completion\nseed: 1\n"],
        ["val_set_size"],
        0,
    ),
    "nothing-held-out": (
        BASE + ALPACA + "val_set_size: 0\neval_steps: 50\nevals_per_epoch: 2\n",
        (),
        ["evals_per_epoch: 2\n"],
        ["eval_steps"],
        0,
    ),
    "rl-packing": (
        BASE + "rl: dpo\ndatasets:\n  - path: a/b\n    type: chatml.intel\nsample_packing: true\n",
        (),
        ["sample_packing: false\n"],
        [],
        0,
    ),
    "attention-flag": (
        BASE + ALPACA + "flash_attention: true\nattn_implementation: flash_attention_2\n",
        (),
        ["attn_implementation: flash_attention_2\n"],
        ["flash_attention: true"],
        0,
    ),
    "attention-flag-off": (
        BASE + ALPACA + "flash_attention: false  # no flash-attn here\nsdp_attention: false\n",
        (),
        [],
        ["flash_attention", "sdp_attention"],
        0,
    ),
    "packed-length": (
        BASE + ALPACA + "sequence_len: 2048\nmax_packed_sequence_len: 2048\n",
        (),
        ["sequence_len: 2048\nsample_packing: true\n"],
        ["max_packed"],
        0,
    ),
    "special-tokens-first-name": (
        BASE + ALPACA + "tokens:\n  bos_token: <s>\n  eos_token: </s>\nspecial_tokens:\n",
        (),
        ["special_tokens:\n  bos_token: <s>\n  eos_token: </s>\n"],
        ["\ntokens:"],
        0,
    ),
    "warmup-fraction": (
        BASE + ALPACA + "warmup_steps: 0.1\n",
        (),
        ["warmup_ratio: 0.1\n"],
        ["warmup_steps"],
        0,
    ),
    "empty-output-dir": (BASE + ALPACA + "output_dir:\nseed: 1\n", (), [], ["output_dir"], 0),
    "fsdp2-8bit-adamw": (
        BASE + ALPACA + "optimizer: adamw_bnb_8bit\nfsdp_version: 2\nfsdp_config:\n"
        "  reshard_after_forward: true\n",
        ("--gpus", "2"),
        ["optimizer: adamw_torch_8bit\n"],
        [],
        0,
    ),
    "grpo-on-8-gpus": (
        BASE.replace("size: 2", "size: 8").replace("steps: 4", "steps: 3") + GRPO,
        GPUS,
        ["  num_generations: 16\n  generation_batch_size: 192\n  use_vllm: true\n"],
        [],
        0,
    ),
    # A copy is written (save_safetensors), but GRPO's batch needs the GPU count: exit 1.
    "grpo-gpus-unknown": (
        BASE.replace("size: 2", "size: 8").replace("steps: 4", "steps: 3")
        + GRPO
        + "save_safetensors: false\n",
        (),
        ["  num_generations: 16\n  use_vllm: true\n"],
        ["generation_batch_size", "save_safetensors"],
        1,
    ),
}
# Decisions: listed, not made, and no copy written.
DECISIONS: dict[str, tuple[str, int]] = {
    "two-backends": (BASE + ALPACA + "sdp_attention: true\nattn_implementation: eager\n", 1),
    "packed-length-differs": (
        BASE + ALPACA + "sequence_len: 2048\nmax_packed_sequence_len: 4096\n",
        1,
    ),
    # Two keys that would both become wandb_run_id, a value eot_tokens does not take; a
    # deprecated key set to 0 is off (Axolotl carries only a set value to neftune_noise_alpha).
    "guessed-renames": (
        BASE + ALPACA + "wandb_run: a\nwandb_runid: b\neos_token: </s>\nnoisy_embedding_alpha: 0\n",
        0,
    ),
}


def check_fix(path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["check", str(path), "--fix", "--json", "--gpu-arch", "sm_90", *args])
    return code, json.loads(out.getvalue())


@pytest.fixture(scope="module")
def fixed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("successors")
    results = {}
    for name, (text, args, *_) in CASES.items():
        (folder / f"{name}.yml").write_text(text)
        results[name] = check_fix(folder / f"{name}.yml", *args)
    for name, (text, _) in DECISIONS.items():
        (folder / f"{name}.yml").write_text(text)
        results[name] = check_fix(folder / f"{name}.yml")
    return results


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_copy_says_it_in_the_new_form(
    name: str, fixed: dict[str, tuple[int, dict[str, Any]]]
) -> None:
    _, _, present, absent, exit_code = CASES[name]
    code, report = fixed[name]
    text = Path(report["fix"]["written"]).read_text()
    assert [p for p in present if p not in text] == [], text
    assert [a for a in absent if a in text] == [], text
    assert code == exit_code and report["exit_code"] == exit_code
    assert report["fix"]["ok"] is (exit_code == 0)


def test_exit_1_names_the_errors_left_in_the_copy(
    fixed: dict[str, tuple[int, dict[str, Any]]],
) -> None:
    code, report = fixed["grpo-gpus-unknown"]
    assert code == 1 and report["ok"] is False  # `ok` is the original's, as before
    assert [e["code"] for e in report["fix"]["errors_left"]] == ["grpo-batch"]
    assert any("--gpus N" in c["change"] for c in report["fix"]["left"])


@pytest.mark.parametrize("name", sorted(DECISIONS))
def test_decisions_are_listed_and_not_made(
    name: str, fixed: dict[str, tuple[int, dict[str, Any]]]
) -> None:
    code, report = fixed[name]
    assert report["fix"]["written"] is None and report["fix"]["made"] == []
    assert report["fix"]["left"] and all(c["decision"] for c in report["fix"]["left"])
    assert code == DECISIONS[name][1]  # no copy: the original's exit status


def test_a_guessed_rename_is_not_made(fixed: dict[str, tuple[int, dict[str, Any]]]) -> None:
    left = [c["change"] for c in fixed["guessed-renames"][1]["fix"]["left"]]
    assert sorted(c.split(" ")[0] for c in left) == ["`eos_token`", "`wandb_run`", "`wandb_runid`"]


@pytest.mark.integration
def test_axolotl_accepts_each_copy_that_checks_clean(
    fixed: dict[str, tuple[int, dict[str, Any]]],
) -> None:
    copies = {name: Path(fixed[name][1]["fix"]["written"]) for name in CASES}
    verdicts = read_all(list(copies.values()))
    refused = {name for name, path in copies.items() if "error" in verdicts[str(path)]}
    assert refused == {name for name, case in CASES.items() if case[4] == 1}


@pytest.mark.integration
def test_a_legacy_flag_that_is_off_sets_nothing(tmp_path: Path) -> None:
    """Why `check` calls `flash_attention: false` a no-op and an import drops it: Axolotl's
    validated config is the same with and without it."""
    off, bare = tmp_path / "off.yml", tmp_path / "bare.yml"
    off.write_text(BASE + ALPACA + "flash_attention: false\n")
    bare.write_text(BASE + ALPACA)
    seen = read_all([off, bare])
    assert seen[str(off)]["config"] == seen[str(bare)]["config"]
