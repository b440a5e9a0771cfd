"""Reading Axolotl configs, bad input, rough estimates and the ranked advice."""

from __future__ import annotations

from typing import Any

import pytest

from wizard.axolotl.view import view_of
from wizard.errors import WizardError
from wizard.estimate import estimate, workload_from_config
from wizard.models import ModelArch, catalog_arch


def _arch(name: str = "meta-llama/Llama-3.1-8B") -> ModelArch:
    arch = catalog_arch(name)
    assert arch is not None
    return arch


def test_config_keys_are_read_like_axolotl() -> None:
    spec = workload_from_config(
        {
            "adapter": "qlora",
            "load_in_4bit": True,
            "lora_r": 32,
            "lora_target_modules": ["q_proj"],
            "sequence_len": 1024,
            "micro_batch_size": 2,
            "gradient_accumulation_steps": 8,
            "gradient_checkpointing": "offload",
            "optimizer": "paged_adamw_8bit",
            "bf16": "auto",
            "attn_implementation": "flash_attention_2",
            "cut_cross_entropy": True,
        }
    )
    assert (spec.method, spec.weight_bits, spec.lora_r, spec.lora_targets) == (
        "qlora",
        4,
        32,
        ("q_proj",),
    )
    assert spec.grad_ckpt and spec.activation_offload and spec.attention == "flash"
    assert spec.loss == "fused" and spec.compute_bytes == 2 and spec.grad_accum == 8


@pytest.mark.parametrize(
    ("written", "checkpointing", "offload"),
    [
        ({}, False, False),
        ({"gradient_checkpointing": "true"}, True, False),
        ({"gradient_checkpointing": "offload_disk"}, True, True),
        ({"activation_offloading": True}, True, True),  # Axolotl checkpoints to offload
        ({"activation_offloading": "legacy"}, True, True),
        ({"gradient_checkpointing": "no", "activation_offloading": "false"}, False, False),
    ],
)
def test_checkpointing_and_its_offload_forms(
    written: dict[str, Any], checkpointing: bool, offload: bool
) -> None:
    """The typed view reads the forms once; the workload takes them from it."""
    view = view_of(written)
    assert (view.gradient_checkpointing, view.activation_offload) == (checkpointing, offload)
    spec = workload_from_config(view)
    assert (spec.grad_ckpt, spec.activation_offload) == (checkpointing, offload)


def test_axolotl_defaults_and_fp32_upcast_rule() -> None:
    full_sdpa = workload_from_config({"bf16": True})
    assert full_sdpa.optimizer == "adamw_torch_fused" and full_sdpa.seq_len == 2048
    assert full_sdpa.upcast_fp32  # Axolotl leaves embeddings in fp32 without flash attention
    assert not workload_from_config({"bf16": True, "flash_attention": True}).upcast_fp32
    assert not workload_from_config({"bf16": True, "adapter": "lora"}).upcast_fp32
    assert workload_from_config({}).compute_bytes == 4


def test_deepspeed_and_fsdp_settings() -> None:
    ds = {
        "zero_optimization": {
            "stage": 3,
            "offload_optimizer": {"device": "cpu"},
            "offload_param": {"device": "cpu"},
        }
    }
    spec = workload_from_config({"deepspeed": "z.json", "bf16": True}, ds, gpus=8)
    assert (spec.zero_stage, spec.offload_optimizer, spec.offload_params) == (3, True, True)
    fsdp = workload_from_config(
        {"fsdp": ["full_shard", "auto_wrap"], "fsdp_config": {"fsdp_offload_params": True}}, gpus=2
    )
    assert fsdp.fsdp and fsdp.sharded and fsdp.offload_params


@pytest.mark.parametrize(
    ("cfg", "ds", "gpus", "match"),
    [
        ({"adapter": "ia3"}, None, 1, "not one the estimator models"),
        ({"micro_batch_size": "four"}, None, 1, "micro_batch_size"),
        ({"sequence_len": 0}, None, 1, "sequence_len"),
        ({}, None, 0, "gpus"),
        ({"deepspeed": "zero2.json"}, None, 2, "its JSON was not given"),
        ({}, {"zero_optimization": {"stage": 5}}, 2, "stage"),
        ({"fsdp": ["full_shard"]}, {"zero_optimization": {"stage": 2}}, 2, "both FSDP"),
    ],
)
def test_bad_config_values_are_clear_errors(
    cfg: dict[str, Any], ds: dict[str, Any] | None, gpus: int, match: str
) -> None:
    with pytest.raises(WizardError, match=match):
        workload_from_config(cfg, ds, gpus=gpus)


def test_moe_and_multimodal_are_marked_rough_never_silently() -> None:
    moe = estimate({"adapter": "lora", "bf16": True}, _arch("mistralai/Mixtral-8x7B-v0.1"))
    assert moe.rough_reason is not None and "mixture of experts" in moe.rough_reason
    assert moe.to_json()["rough"] is True
    vlm = estimate({"adapter": "lora", "bf16": True}, _arch("google/gemma-3-12b-it"))
    assert vlm.rough_reason is not None and "vision tower" in vlm.rough_reason
    dense = estimate({"adapter": "lora", "bf16": True}, _arch())
    assert dense.rough_reason is None and dense.to_json()["rough"] is False


def test_paged_optimizer_is_marked_rough() -> None:
    result = estimate({"optimizer": "paged_adamw_8bit", "bf16": True}, _arch())
    assert result.rough_reason is not None and "paged" in result.rough_reason


def test_advice_is_ranked_fitting_first_and_cheapest_first() -> None:
    cfg = {
        "adapter": "lora",
        "lora_target_linear": True,
        "bf16": True,
        "sequence_len": 8192,
        "micro_batch_size": 4,
        "sample_packing": True,
    }
    result = estimate(cfg, _arch(), gpu_mem_gib=80)
    assert result.verdict == "does not fit" and result.fits is False
    assert result.advice, "a run that does not fit must say what to change"
    fits_flags = [a.fits for a in result.advice]
    assert fits_flags == sorted(fits_flags, reverse=True)
    assert result.advice[0].change == "gradient_checkpointing: true"
    assert all(a.peak_gib_per_gpu < result.peak_gib_per_gpu for a in result.advice)


def test_nothing_helps_enough_gives_a_combined_nearest_option() -> None:
    result = estimate(
        {"bf16": True, "sequence_len": 4096}, _arch("meta-llama/Llama-3.1-70B"), gpu_mem_gib=24
    )
    assert not any(a.fits for a in result.advice[:-1])
    assert result.advice[-1].change.startswith("all of: ")


def test_fitting_run_gets_no_advice_and_json_has_the_contract_keys() -> None:
    result = estimate(
        {
            "adapter": "qlora",
            "load_in_4bit": True,
            "bf16": True,
            "flash_attention": True,
            "gradient_checkpointing": True,
            "sequence_len": 1024,
        },
        _arch(),
        gpu_mem_gib=80,
    )
    data = result.to_json()
    assert data["fits"] is True and data["verdict"] == "fits" and data["advice"] == []
    assert isinstance(data["peak_gib_per_gpu"], float) and isinstance(data["cpu_ram_gib"], float)
    assert set(data["breakdown_gib"]) >= {"weights", "activations", "optimizer_states"}


def test_offload_needs_cpu_ram() -> None:
    ds = {
        "zero_optimization": {
            "stage": 3,
            "offload_optimizer": {"device": "cpu"},
            "offload_param": {"device": "cpu"},
        }
    }
    on_gpu = estimate(
        {"bf16": True}, _arch(), deepspeed={"zero_optimization": {"stage": 3}}, gpus=8
    )
    offloaded = estimate({"bf16": True}, _arch(), deepspeed=ds, gpus=8)
    assert offloaded.peak_gib_per_gpu < on_gpu.peak_gib_per_gpu
    assert offloaded.cpu_ram_gib > on_gpu.cpu_ram_gib + 100  # ~16 bytes/param of 8B on the CPU
