"""Every family estimates with its own layer names; unknown ones are rough, never Llama-named;
and each estimate carries the checked runs it resembles."""

from __future__ import annotations

import pytest
import yaml
from conftest import REPO

from wizard.errors import WizardError
from wizard.estimate import estimate
from wizard.estimate.confidence import checked_rows, confidence
from wizard.estimate.workload import Workload
from wizard.models import arch_from_config, catalog_arch

MODELS = yaml.safe_load(
    (REPO / "tests" / "data" / "models" / "published_params.yaml").read_text(encoding="utf-8")
)["models"]
LORA = {"adapter": "lora", "lora_r": 16, "sequence_len": 2048, "bf16": True,
        "gradient_checkpointing": True, "sample_packing": True}  # fmt: skip


def test_starcoder_gets_its_own_names_and_lora_on_them() -> None:
    arch = catalog_arch("bigcode/starcoder")
    assert arch is not None and arch.model_type == "gpt_bigcode" and arch.num_kv_heads == 1
    named = estimate({**LORA, "lora_target_modules": ["c_attn", "c_proj", "c_fc"]}, arch)
    every = estimate({**LORA, "lora_target_linear": True}, arch)
    assert named.trainable_params == every.trainable_params > 0  # c_proj is in attn and mlp
    with pytest.raises(WizardError, match="match no linear layer") as err:
        estimate({**LORA, "lora_target_modules": ["q_proj"]}, arch)
    assert "its layers are c_attn, c_fc, c_proj" in (err.value.hint or "")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_published_family_estimates_with_all_linear_lora(name: str) -> None:
    arch = arch_from_config(MODELS[name]["config"], name)
    result = estimate({**LORA, "lora_target_linear": True}, arch, advise=False)
    assert result.trainable_params > 0 and result.allocated_gib > 0


def test_unknown_model_type_is_rough_and_counts_every_layer() -> None:
    config = {"model_type": "acme_lm", "hidden_size": 256, "num_hidden_layers": 4,
              "num_attention_heads": 4, "intermediate_size": 512, "vocab_size": 1000}  # fmt: skip
    arch = arch_from_config(config, "acme")
    result = estimate({**LORA, "lora_target_modules": ["whatever_proj"]}, arch)
    assert result.rough_reason is not None and "not in the family table" in result.rough_reason
    assert result.trainable_params == estimate({**LORA, "lora_target_linear": True}, arch)\
        .trainable_params  # fmt: skip


def test_fused_experts_follow_transformers_and_peft() -> None:
    oss = catalog_arch("openai/gpt-oss-20b")
    assert oss is not None
    attention = estimate({**LORA, "lora_target_linear": True}, oss)
    experts = estimate({**LORA, "lora_target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"],
                        "lora_target_parameters": ["mlp.experts.gate_up_proj",
                                                   "mlp.experts.down_proj"]}, oss)  # fmt: skip
    assert experts.trainable_params > 10 * attention.trainable_params
    mixtral = catalog_arch("mistralai/Mixtral-8x7B-v0.1")
    assert mixtral is not None
    legacy = estimate({**LORA, "lora_target_modules": ["q_proj", "w1", "w2", "w3"]}, mixtral)
    linear = estimate({**LORA, "lora_target_linear": True}, mixtral)
    assert legacy.trainable_params > linear.trainable_params  # all-linear skips fused experts


def test_qlora_leaves_fused_experts_16_bit_unless_quantize_moe_experts() -> None:
    mixtral = catalog_arch("mistralai/Mixtral-8x7B-v0.1")
    assert mixtral is not None
    qlora = {**LORA, "adapter": "qlora", "load_in_4bit": True, "lora_target_linear": True}
    plain = estimate(qlora, mixtral, advise=False).breakdown_gib["weights"]
    packed = estimate({**qlora, "quantize_moe_experts": True}, mixtral, advise=False)
    assert plain > 80 > 30 > packed.breakdown_gib["weights"]


def test_confidence_names_similar_checked_rows_and_their_error() -> None:
    arch = catalog_arch("meta-llama/Llama-2-7b-hf")
    assert arch is not None
    cfg = {"adapter": "lora", "lora_r": 8, "lora_target_modules": ["q_proj", "v_proj"],
           "sequence_len": 1304, "bf16": True}  # fmt: skip
    conf = estimate(cfg, arch).confidence
    assert conf is not None and conf.rows[0].row == "LR09"
    assert all(r.method == "lora" and not r.grad_ckpt for r in conf.rows)
    assert "LR09 Llama-2-7b-hf" in conf.line() and "median error" in conf.line()
    far = confidence(Workload(method="lora", grad_ckpt=True, zero_stage=3, gpus=64), 1)
    assert far.rows == () and "allow about +-25%" in far.line()
    assert len(checked_rows()) == 32
