"""Cross-checks against the real libraries: peft's LoRA counts on the meta device, DeepSpeed's
model-state estimator, transformers' parameter counts. These import torch; the estimator never does.
"""

from __future__ import annotations

import pytest

from wizard.estimate import Workload
from wizard.estimate.states import model_states
from wizard.estimate.terms import base_weight_bytes, lora_params
from wizard.models import ModelArch, catalog_arch, total_params

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
peft = pytest.importorskip("peft")


def _arch(name: str) -> ModelArch:
    arch = catalog_arch(name)
    assert arch is not None
    return arch


def _hf_config(arch: ModelArch) -> object:
    """A transformers config with the catalog's shapes."""
    common = dict(
        hidden_size=arch.hidden_size,
        num_hidden_layers=arch.num_layers,
        num_attention_heads=arch.num_heads,
        num_key_value_heads=arch.num_kv_heads,
        intermediate_size=arch.intermediate_size,
        vocab_size=arch.vocab_size,
        tie_word_embeddings=arch.tied_embeddings,
    )
    if arch.model_type in ("llama", "mistral", "qwen2"):
        common["head_dim"] = arch.head_dim
    return transformers.AutoConfig.for_model(arch.model_type, **common)


def _meta_model(arch: ModelArch) -> object:
    with torch.device("meta"):
        return transformers.AutoModelForCausalLM.from_config(_hf_config(arch))


@pytest.mark.integration
@pytest.mark.parametrize(
    "name",
    [
        "meta-llama/Llama-3.1-8B",
        "Qwen/Qwen2.5-7B",
        "microsoft/Phi-3-mini-4k-instruct",
        "meta-llama/Llama-3.2-1B",
    ],
)
def test_total_params_equal_transformers_on_meta(name: str) -> None:
    arch = _arch(name)
    model = _meta_model(arch)
    counted = sum(dict((id(p), p.numel()) for p in model.parameters()).values())
    assert total_params(arch) == counted


@pytest.mark.integration
@pytest.mark.parametrize(
    ("name", "rank", "targets"),
    [
        ("meta-llama/Llama-3.1-8B", 16, None),
        ("meta-llama/Llama-3.1-8B", 8, ("q_proj", "v_proj")),
        ("Qwen/Qwen2.5-7B", 32, ("q_proj", "k_proj", "v_proj", "o_proj")),
        ("microsoft/Phi-3-mini-4k-instruct", 16, None),
    ],
)
def test_lora_count_equals_peft(name: str, rank: int, targets: tuple[str, ...] | None) -> None:
    arch = _arch(name)
    model = _meta_model(arch)
    config = peft.LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        target_modules="all-linear" if targets is None else list(targets),
    )
    peft_model = peft.get_peft_model(model, config)
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    ours = lora_params(arch, Workload(method="lora", lora_r=rank, lora_targets=targets))
    assert ours == trainable


@pytest.mark.integration
@pytest.mark.parametrize("gpus", [1, 8])
def test_zero2_model_states_equal_deepspeed_estimator(gpus: int) -> None:
    from deepspeed.runtime.zero.stage_1_and_2 import estimate_zero2_model_states_mem_needs

    arch = _arch("meta-llama/Llama-3.1-8B")
    psi = total_params(arch)
    spec = Workload(zero_stage=2, gpus=gpus, optimizer="adamw_torch_fused")
    states = model_states(arch, spec)
    ours = base_weight_bytes(arch, spec) + states.grads_full + states.optimizer + states.master
    _cpu, theirs = estimate_zero2_model_states_mem_needs(psi, gpus, 1, cpu_offload=False)
    assert ours == pytest.approx(theirs, rel=1e-6)
    offload = spec._replace(offload_optimizer=True)
    _cpu, theirs_off = estimate_zero2_model_states_mem_needs(psi, gpus, 1, cpu_offload=True)
    states_off = model_states(arch, offload)
    assert base_weight_bytes(arch, offload) + states_off.optimizer == pytest.approx(theirs_off)
