"""Each rule that mirrors an Axolotl validator: a failing and a passing fixture, checked by the
rule and by Axolotl's own validate_config (one child process for all of them), so the two cannot
drift apart. The inventory test requires a case here for every rule code the inventory names."""

from __future__ import annotations

from typing import Any

import pytest
from real_validators import run_validators

from wizard.lint import Env, lint_dict
from wizard.lint.env import probe_packages

BASE: dict[str, Any] = {
    "base_model": "m",
    "learning_rate": 2e-4,
    "datasets": [{"path": "a/b", "type": "alpaca"}],
    "micro_batch_size": 2,
    "gradient_accumulation_steps": 4,
    "bf16": True,
}
SHAREGPT = {"path": "a/b", "type": "sharegpt", "conversation": "chatml"}
CHAT = {
    "path": "a/b",
    "type": "chat_template",
    "field_messages": "conversations",
    "message_property_mappings": {"role": "from", "content": "value"},
}
PRETRAIN = {"datasets": None, "pretraining_dataset": [{"path": "a/b"}], "max_steps": 10}
STREAMED = {"streaming": True, "max_steps": 10,
            "datasets": [{"path": "a/b", "type": "alpaca"}, {"path": "c/d", "type": "alpaca"}]}
GRPO = {"rl": "grpo", "micro_batch_size": 1, "gradient_accumulation_steps": 1}
FSDP2 = {"fsdp_version": 2, "fsdp_config": {"reshard_after_forward": True}}
FSDP1 = {"fsdp": ["full_shard", "auto_wrap"], "fsdp_config": {"offload_params": True}}
DPO = {"rl": "dpo", "datasets": [{"path": "a/b", "type": "chatml.intel"}]}
KTO = {"rl": "kto", "datasets": [{"path": "a/b", "type": "chatml.argilla"}]}
QLORA = {"adapter": "qlora", "load_in_4bit": True}
CP = {"context_parallel_size": 2, "attn_implementation": "flash_attention_2"}
# (code, failing overrides, passing overrides, GPUs); a None value deletes the key from BASE.
CASES: list[tuple[str, dict[str, Any], dict[str, Any], int]] = [
    ("removed-dataset-type", {"datasets": [SHAREGPT]}, {"datasets": [CHAT]}, 1),
    (
        "removed-dataset-type",
        {"datasets": [{**SHAREGPT, "type": "sharegpt.load_role"}]},
        {"datasets": [{**CHAT, "type": "chat_template"}]},
        1,
    ),
    (
        "eval-packing",
        {"sample_packing": True, "eval_table_size": 5},
        {"sample_packing": True, "eval_table_size": 5, "eval_sample_packing": False},
        1,
    ),
    (
        "eval-packing",
        {"sample_packing": True, "do_causal_lm_eval": True},
        {"sample_packing": True, "do_causal_lm_eval": True, "eval_sample_packing": False},
        1,
    ),
    ("val-set-size", {**PRETRAIN, "val_set_size": 0.1}, PRETRAIN, 1),
    (
        "val-set-size",
        {"val_set_size": 0.1, "test_datasets": [{"path": "c/d", "type": "alpaca"}]},
        {"val_set_size": 0, "test_datasets": [{"path": "c/d", "type": "alpaca"}]},
        1,
    ),
    (
        "val-set-size",
        {"streaming": True, "max_steps": 10, "val_set_size": 0.1},
        {"streaming": True, "max_steps": 10},
        1,
    ),
    (
        "cadence",
        {"val_set_size": 0, "eval_steps": 10},
        {"val_set_size": 0, "eval_steps": 10, "test_datasets": [{"path": "c/d", "type": "alpaca"}]},
        1,
    ),
    (
        "cadence",
        {"val_set_size": 0, "eval_strategy": "steps"},
        {"val_set_size": 0, "eval_strategy": "no"},
        1,
    ),
    ("cadence", {"save_steps": 10, "saves_per_epoch": 2}, {"save_steps": 10}, 1),
    ("cadence", {"eval_steps": 10, "evals_per_epoch": 2}, {"evals_per_epoch": 2}, 1),
    (
        "cadence",
        {"save_strategy": "epoch", "save_steps": 10},
        {"save_strategy": "steps", "save_steps": 10},
        1,
    ),
    (
        "grpo-batch",
        {**GRPO, "trl": {"num_generations": 8}},
        {**GRPO, "trl": {"num_generations": 8}, "micro_batch_size": 8},
        1,
    ),
    (
        "grpo-batch",
        {**GRPO, "trl": {"num_generations": 4}, "micro_batch_size": 4},
        {
            **GRPO,
            "trl": {"num_generations": 4},
            "micro_batch_size": 4,
            "gradient_accumulation_steps": 8,
        },
        8,
    ),
    ("grpo-batch", {**GRPO, "trl": {"num_generations": 1}}, {**GRPO, "trl": {}}, 1),
    (
        "rl-packing",
        {
            "rl": "dpo",
            "sample_packing": True,
            "datasets": [{"path": "a/b", "type": "chatml.intel"}],
        },
        {"rl": "dpo", "datasets": [{"path": "a/b", "type": "chatml.intel"}]},
        1,
    ),
    (
        "attention-flags",
        {"flash_attention": True, "attn_implementation": "sdpa"},
        {"attn_implementation": "sdpa"},
        1,
    ),
    (
        "attention-name",
        {"attn_implementation": "flash"},
        {"attn_implementation": "flash_attention_2"},
        1,
    ),
    ("removed-key", {"unsloth_lora_mlp": True}, {"unsloth_lora_mlp": False}, 1),
    ("removed-key", {"flash_attn_rms_norm": True}, {"flash_attn_rms_norm": False}, 1),
    ("removed-key", {"max_packed_sequence_len": 2048}, {}, 1),
    (
        "early-stopping",
        {"early_stopping_patience": 3, "save_steps": 0.25, "eval_steps": 0.1},
        {"early_stopping_patience": 3, "save_steps": 0.2, "eval_steps": 0.1},
        1,
    ),
    (
        "early-stopping",
        {"early_stopping_patience": 3},
        {"early_stopping_patience": 3, "save_steps": 20, "eval_steps": 10},
        1,
    ),
    ("type-error", {"wandb_project": 123}, {"wandb_project": "123"}, 1),
    ("type-error", {"wandb_watch": False}, {"wandb_watch": "false"}, 1),
    (
        "type-error",
        {"datasets": [{**CHAT, "roles": {"user": "human"}}]},
        {"datasets": [{**CHAT, "roles": {"user": ["human"]}}]},
        1,
    ),
    (
        "save-best-metric",
        {"save_strategy": "best"},
        {"save_strategy": "best", "metric_for_best_model": "eval_loss"},
        1,
    ),
    ("no-datasets", {"datasets": None}, {}, 1),
    ("streamed-max-steps", {**PRETRAIN, "max_steps": None}, PRETRAIN, 1),
    ("streamed-max-steps", {"streaming": True}, {"streaming": True, "max_steps": 10}, 1),
    (
        "streamed-packing",
        {**STREAMED, "sample_packing": True},
        {**STREAMED, "sample_packing": False},
        1,
    ),
    ("batch-size", {"batch_size": 8}, {}, 1),
    ("warmup", {"warmup_steps": 10, "warmup_ratio": 0.1}, {"warmup_steps": 10}, 1),
    (
        "fsdp2-optimizer",
        {**FSDP2, "optimizer": "adamw_8bit"},
        {**FSDP2, "optimizer": "adamw_torch_8bit"},
        2,
    ),
    (
        "fsdp2-4bit-loading",
        {
            **FSDP2,
            "adapter": "qlora",
            "load_in_4bit": True,
            "fsdp_config": {"cpu_ram_efficient_loading": True},
        },
        {
            **FSDP2,
            "adapter": "qlora",
            "load_in_4bit": True,
            "fsdp_config": {"cpu_ram_efficient_loading": False},
        },
        2,
    ),
    (
        "fsdp-pin-memory",
        {**FSDP2, "fsdp_config": {"cpu_offload_pin_memory": False}},
        {**FSDP2, "fsdp_config": {"offload_params": True, "cpu_offload_pin_memory": False}},
        2,
    ),
    (
        "fsdp-pin-memory",
        {"fsdp_config": {"offload_params": True, "cpu_offload_pin_memory": False}},
        {**FSDP2, "fsdp_config": {"offload_params": True, "cpu_offload_pin_memory": False}},
        2,
    ),
    ("fsdp-offload-8bit", {**FSDP1, "optimizer": "adamw_8bit"}, FSDP1, 2),
    ("fsdp2-quantised-rl", {**FSDP2, **DPO, **QLORA}, {**DPO, **QLORA}, 2),
    ("falcon-fsdp", {**FSDP1, "base_model": "tiiuae/falcon-7b"},
     {**FSDP2, "base_model": "tiiuae/falcon-7b"}, 2),
    ("simpo-warmup", {**DPO, "rl": "simpo", "warmup_ratio": 0.1},
     {**DPO, "rl": "simpo", "warmup_steps": 10}, 1),
    ("kto-columns", KTO, {**KTO, "remove_unused_columns": False}, 1),
    (
        "ebft-compile",
        {
            "rl": "ebft",
            "ebft": {"mode": "strided"},
            "torch_compile": True,
            "gradient_checkpointing": True,
        },
        {"rl": "ebft", "ebft": {"mode": "strided"}, "gradient_checkpointing": True},
        1,
    ),
    (
        "missing-package",
        {"context_parallel_size": 2, "attn_implementation": "flash_attention_2"},
        {"context_parallel_size": 1},
        2,
    ),
    ("cp-attention", {**CP, "attn_implementation": "sdpa"}, CP, 2),
    ("cp-micro-batch", {**CP, "sample_packing": True}, {**CP, "micro_batch_size": 1}, 2),
    ("grpo-liger-cp", {**GRPO, **CP, "trl": {"use_liger_loss": True}},
     {**GRPO, **CP, "trl": {"use_liger_loss": False}}, 2),
    ("save-safetensors", {"save_safetensors": False}, {"save_safetensors": True}, 1),
    (
        "lora-kernels-remote-code",
        {"adapter": "lora", "lora_mlp_kernel": True, "trust_remote_code": True},
        {"adapter": "lora", "lora_mlp_kernel": False, "trust_remote_code": True},
        1,
    ),
]
CODES = {case[0] for case in CASES}


def config(overrides: dict[str, Any]) -> dict[str, Any]:
    merged = {**BASE, **overrides}
    return {k: v for k, v in merged.items() if v is not None}


def ring_stand_in(code: str, overrides: dict[str, Any]) -> bool:
    """A context-parallel case about anything but the package itself: Axolotl's validator only
    imports ring_flash_attn, which needs CUDA's flash-attn to install, so the child gets an
    importable stand-in and the lint a training machine that has it."""
    return code != "missing-package" and (config(overrides).get("context_parallel_size") or 1) > 1


@pytest.fixture(scope="module")
def axolotl() -> dict[str, dict[str, Any]]:
    cases = []
    for i, c in enumerate(CASES):
        for side in ("fail", "pass"):
            overrides = c[1 if side == "fail" else 2]
            stand_in = ["ring_flash_attn"] if ring_stand_in(c[0], overrides) else []
            cases.append({"id": f"{i}-{side}", "config": config(overrides), "gpus": c[3],
                          "stand_in": stand_in})  # fmt: skip
    return run_validators(cases)


def lint_codes(overrides: dict[str, Any], gpus: int, code: str = "") -> set[str]:
    packages = {**probe_packages(), "ring_flash_attn": ring_stand_in(code, overrides)}
    env = Env.for_gpu("sm_90", n_gpu=gpus, packages=packages)
    return {f.code for f in lint_dict(config(overrides), env=env) if f.severity == "error"}


@pytest.mark.integration
@pytest.mark.parametrize(
    "index", range(len(CASES)), ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_rule_and_axolotl_agree(index: int, axolotl: dict[str, dict[str, Any]]) -> None:
    code, failing, passing, gpus = CASES[index]
    refused, accepted = axolotl[f"{index}-fail"]["axolotl"], axolotl[f"{index}-pass"]["axolotl"]
    assert refused != "ok", "Axolotl accepts the failing fixture"
    assert accepted == "ok", accepted
    assert code in lint_codes(failing, gpus, code)
    assert lint_codes(passing, gpus, code) == set()
