"""Each cross-file rule and gotcha: one failing and one passing fixture."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wizard.axolotl.view import view_of
from wizard.lint import Env, Rename, lint_dict

BASE: dict[str, Any] = {
    "base_model": "m",
    "learning_rate": 2e-4,
    "datasets": [{"path": "a/b", "type": "alpaca"}],
    "micro_batch_size": 2,
    "gradient_accumulation_steps": 4,
    "bf16": True,
}
ZERO3 = {
    "zero_optimization": {"stage": 3},
    "bf16": {"enabled": "auto"},
    "train_micro_batch_size_per_gpu": "auto",
    "gradient_accumulation_steps": "auto",
}
GPU = Env.for_gpu("sm_90", n_gpu=8, packages={"flash_attn": True, "ring_flash_attn": True})


def codes(cfg: dict[str, Any], ds: dict[str, Any] | None = None, env: Env = GPU) -> set[str]:
    return {f.code for f in lint_dict({**BASE, **cfg}, deepspeed=ds, env=env)}


# (code, failing (cfg, deepspeed, env), passing (cfg, deepspeed, env))
CASES: list[tuple[str, tuple[Any, ...], tuple[Any, ...]]] = [
    (
        "qlora-zero3-dtype",
        ({"adapter": "qlora", "load_in_4bit": True, "bf16": False, "fp16": True}, ZERO3, GPU),
        ({"adapter": "qlora", "load_in_4bit": True}, ZERO3, GPU),
    ),
    ("zero3-precision", ({}, {"zero_optimization": {"stage": 3}}, GPU), ({}, ZERO3, GPU)),
    (
        "precision-mismatch",
        ({"bf16": False}, {"bf16": {"enabled": True}}, GPU),
        ({}, {"bf16": {"enabled": True}}, GPU),
    ),
    # The YAML says nothing about fp16: the trainer reads that as false and refuses the file.
    (
        "precision-mismatch",
        ({}, {"fp16": {"enabled": True}}, GPU),
        ({}, {"fp16": {"enabled": "auto"}, "bf16": {"enabled": "auto"}}, GPU),
    ),
    (
        "precision-mismatch",
        ({"fp16": True, "bf16": False}, {"bf16": {"enabled": True}}, GPU),
        ({"bf16": "auto"}, {"bf16": {"enabled": True}}, GPU),
    ),
    (
        "unknown-dataset-type",
        ({"datasets": [{"path": "a/b", "type": "oasst2"}]}, None, GPU),
        ({}, None, GPU),
    ),
    (
        "unknown-dataset-type",
        ({"datasets": [{"path": "a/b", "type": "alpacha"}]}, None, GPU),
        ({"datasets": [{"path": "a/b", "type": "alpaca:chatml"}]}, None, GPU),
    ),
    (
        "deprecated-key",
        (
            {"datasets": [{"path": "a/b", "type": "chat_template", "message_field_role": "from"}]},
            None,
            GPU,
        ),
        (
            {
                "datasets": [
                    {
                        "path": "a/b",
                        "type": "chat_template",
                        "message_property_mappings": {"role": "from"},
                    }
                ]
            },
            None,
            GPU,
        ),
    ),
    (
        "deepspeed-overrides-yaml",
        ({}, {**ZERO3, "optimizer": {"type": "AdamW"}}, GPU),
        ({}, ZERO3, GPU),
    ),
    (
        "zero2-offload",
        ({}, {"zero_optimization": {"stage": 2, "offload_optimizer": {"device": "cpu"}}}, GPU),
        ({}, {"zero_optimization": {"stage": 2}}, GPU),
    ),
    (
        "compile-in-deepspeed",
        ({}, {**ZERO3, "compile": {"disable": False}}, GPU),
        ({"torch_compile": True}, ZERO3, GPU),
    ),
    (
        "batch-mismatch",
        ({}, {**ZERO3, "train_micro_batch_size_per_gpu": 4}, GPU),
        ({}, {**ZERO3, "train_micro_batch_size_per_gpu": 2}, GPU),
    ),
    (
        "deepspeed-unknown-key",
        ({}, {"zero_optimization": {"stage": 3, "overlap_com": True}}, GPU),
        ({}, {"zero_optimization": {"stage": 3, "overlap_comm": True}}, GPU),
    ),
    ("deepspeed-stage", ({}, {"zero_optimization": {"stage": 4}}, GPU), ({}, ZERO3, GPU)),
    (
        "deepspeed-offload",
        ({}, {"zero_optimization": {"stage": 3, "offload_param": {"device": "nvme"}}}, GPU),
        ({}, {"zero_optimization": {"stage": 3, "offload_param": {"device": "cpu"}}}, GPU),
    ),
    (
        "missing-package",
        (
            {"attn_implementation": "flash_attention_2"},
            None,
            Env.for_gpu("sm_90", packages={"flash_attn": False}),
        ),
        ({"attn_implementation": "flash_attention_2"}, None, GPU),
    ),
    ("bf16-unsupported", ({}, None, Env.for_gpu("sm_75")), ({}, None, Env.for_gpu("sm_80"))),
    (
        "cpu-precision",
        ({"bf16": "auto"}, None, Env.for_cpu()),
        ({"bf16": False}, None, Env.for_cpu()),
    ),
    (
        "fsdp-on-cpu",
        ({"fsdp_version": 2, "fsdp_config": {"reshard_after_forward": True}}, None, Env.for_cpu()),
        ({"fsdp_version": 2, "fsdp_config": {"reshard_after_forward": True}}, None, GPU),
    ),
    (
        "fsdp-on-cpu",
        ({"fsdp": ["full_shard", "auto_wrap"]}, None, Env.for_cpu()),
        ({}, None, Env.for_cpu()),
    ),
    (
        "packing-attention",
        ({"sample_packing": True}, None, GPU),
        ({"sample_packing": True, "attn_implementation": "sdpa"}, None, GPU),
    ),
    (
        "packing-attention",
        ({"sample_packing": True, "attn_implementation": "bogus"}, None, GPU),
        ({"sample_packing": True, "attn_implementation": "eager"}, None, GPU),
    ),
    ("batch-size", ({"batch_size": 8}, None, GPU), ({}, None, GPU)),
    ("eval-batch-size", ({"eval_batch_size": 8}, None, GPU), ({"eval_batch_size": 2}, None, GPU)),
    (
        "early-stopping",
        ({"early_stopping_patience": 3}, None, GPU),
        ({"early_stopping_patience": 3, "eval_steps": 10, "save_steps": 20}, None, GPU),
    ),
    (
        "attention-name",
        ({"attn_implementation": "flash"}, None, GPU),
        ({"attn_implementation": "flash_attention_2"}, None, GPU),
    ),
    ("removed-key", ({"max_packed_sequence_len": 2048}, None, GPU), ({}, None, GPU)),
    ("type-error", ({"warmup_steps": 0.1}, None, GPU), ({"warmup_steps": 10}, None, GPU)),
    ("no-datasets", ({"datasets": None}, None, GPU), ({}, None, GPU)),
    (
        "full-learning-rate",
        ({"learning_rate": "2e-4"}, None, GPU),
        ({"learning_rate": 2e-5}, None, GPU),
    ),
    (
        "full-learning-rate",
        ({"learning_rate": 1e-4}, None, GPU),
        ({"adapter": "lora", "learning_rate": 1e-4}, None, GPU),
    ),
]


@pytest.mark.parametrize(("code", "failing", "passing"), CASES, ids=[c[0] for c in CASES])
def test_rule_fails_and_passes(
    code: str, failing: tuple[Any, ...], passing: tuple[Any, ...]
) -> None:
    assert code in codes(*failing)
    assert code not in codes(*passing)


def test_missing_local_dataset(tmp_path: Path) -> None:
    (tmp_path / "have.jsonl").write_text("{}\n")
    env = Env(cwd=tmp_path)
    missing = {"datasets": [{"path": "./nope.jsonl", "type": "alpaca"}]}
    present = {"datasets": [{"path": "./have.jsonl", "type": "alpaca"}]}
    assert "dataset-missing" in codes(missing, env=env)
    assert "dataset-missing" not in codes(present, env=env)


def test_deepspeed_file_is_found_next_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "zero3_bf16.json").write_text(json.dumps(ZERO3))
    (tmp_path / "ds" / "stage3.json").write_text(json.dumps(ZERO3))
    source = tmp_path / "axolotl.yml"
    env = Env(cwd=tmp_path / "elsewhere")
    good = lint_dict({**BASE, "deepspeed": "ds/zero3_bf16.json"}, source=source, env=env)
    assert not [f for f in good if f.severity == "error"]
    renamed = lint_dict({**BASE, "deepspeed": "ds/stage3.json"}, source=source, env=env)
    assert "zero3-name" in {f.code for f in renamed}
    missing = lint_dict({**BASE, "deepspeed": "ds/zero9.json"}, source=source, env=env)
    assert "deepspeed-missing" in {f.code for f in missing}


def test_unknown_gpu_stays_silent() -> None:
    assert "bf16-unsupported" not in codes({}, env=Env())
    assert "missing-package" not in codes({"attn_implementation": "flash_attention_2"}, env=Env())


def test_lint_dict_does_not_mutate_its_input() -> None:
    cfg = {**BASE, "fsdp_config": {"fsdp_offload_params": True}}
    before = json.dumps(cfg, sort_keys=True)
    lint_dict(cfg)
    assert json.dumps(cfg, sort_keys=True) == before


def test_rules_read_fsdp_config_as_axolotl_renames_it() -> None:
    """The deprecated `fsdp_` prefixes are reported once, with their rename, and every rule reads
    the config as Axolotl's before-validator leaves it (so FSDP2's 4-bit check sees the key)."""
    prefixed = {"fsdp_version": 2, "fsdp_config": {"fsdp_cpu_ram_efficient_loading": True}}
    findings = lint_dict({**BASE, **prefixed, "adapter": "qlora", "load_in_4bit": True})
    renames = [f.rename for f in findings if f.code == "deprecated-key"]
    assert renames == [
        Rename(("fsdp_config", "fsdp_cpu_ram_efficient_loading"), "cpu_ram_efficient_loading")
    ]
    assert "unknown-key" not in {f.code for f in findings}
    assert "fsdp2-4bit-loading" in {f.code for f in findings}


def test_lint_dict_takes_the_typed_view() -> None:
    cfg = {**BASE, "sample_packing": True, "rl": "dpo", "warmup_steps": 5, "warmup_ratio": 0.1}
    assert lint_dict(view_of(cfg)) == lint_dict(cfg)
    assert {"rl-packing", "warmup"} <= {f.code for f in lint_dict(view_of(cfg))}
