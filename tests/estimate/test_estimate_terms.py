"""One test per memory term, against a hand calculation from the shapes."""

from __future__ import annotations

import pytest

from wizard.errors import WizardError
from wizard.estimate import GIB, Workload, compose, verdict_for, workload_from_config
from wizard.estimate.activations import (
    activation_peak,
    attention_bytes,
    layer_bytes,
    logits_bytes,
    lora_bytes,
    mlp_bytes,
    norm_bytes,
)
from wizard.estimate.states import model_states
from wizard.estimate.terms import (
    base_weight_bytes,
    lora_params,
    optimizer_info,
    quant_bytes_per_param,
    trainable_params,
)
from wizard.models import ModelArch, catalog_arch, embedding_params, linear_params, total_params


def _arch(name: str = "meta-llama/Llama-3.1-8B") -> ModelArch:
    arch = catalog_arch(name)
    assert arch is not None
    return arch


L8 = _arch()
PSI = total_params(L8)


def test_nf4_storage_with_and_without_double_quant() -> None:
    assert quant_bytes_per_param(4, False) == 0.5 + 4 / 64
    assert quant_bytes_per_param(4, True) == pytest.approx(0.5 + 1 / 64 + 4 / (64 * 256))
    assert quant_bytes_per_param(8, True) == 1.0


def test_weights_full_16bit_and_fp32_embeddings() -> None:
    spec = Workload(method="full")
    assert base_weight_bytes(L8, spec) == 2 * PSI
    upcast = spec._replace(upcast_fp32=True)
    assert base_weight_bytes(L8, upcast) == 2 * PSI + 2 * embedding_params(L8)


def test_weights_qlora_keep_embeddings_in_16bit_and_shard() -> None:
    spec = Workload(method="qlora", weight_bits=4, double_quant=False)
    linear = linear_params(L8)
    assert base_weight_bytes(L8, spec) == pytest.approx(linear * 0.5625 + (PSI - linear) * 2)
    # ZeRO-3 / FSDP shard (or offload) the packed weights; bitsandbytes' absmax constants stay
    # whole on every GPU (they live on the module, not in a parameter); torchao's are sharded.
    sharded = spec._replace(zero_stage=3, gpus=4)
    constants = linear * 0.0625
    assert base_weight_bytes(L8, sharded) == pytest.approx(
        (base_weight_bytes(L8, spec) - constants) / 4 + constants
    )
    assert base_weight_bytes(L8, sharded._replace(offload_params=True)) == pytest.approx(constants)
    torchao = sharded._replace(quant_constants_sharded=True)
    assert base_weight_bytes(L8, torchao) == pytest.approx(base_weight_bytes(L8, spec) / 4)
    assert base_weight_bytes(L8, torchao._replace(offload_params=True)) == 0


def test_lora_count_by_hand_gqa_aware() -> None:
    q_v = Workload(method="lora", lora_r=8, lora_targets=("q_proj", "v_proj"))
    # q: 4096 -> 4096, v: 4096 -> 1024 (8 KV heads of 128)
    assert lora_params(L8, q_v) == 32 * 8 * ((4096 + 4096) + (4096 + 1024))
    everything = q_v._replace(lora_r=16, lora_targets=None)
    per_layer = 16 * (8192 + 5120 + 5120 + 8192 + 3 * (4096 + 14336))
    assert lora_params(L8, everything) == 32 * per_layer == 41_943_040


def test_lora_targets_that_match_nothing_are_an_error() -> None:
    spec = Workload(method="lora", lora_targets=("c_attn",))
    with pytest.raises(WizardError) as err:
        lora_params(L8, spec)
    assert "q_proj" in (err.value.hint or "")


def test_trainable_params_full_vs_lora_with_saved_embeddings() -> None:
    assert trainable_params(L8, Workload()) == PSI
    spec = Workload(method="lora", lora_targets=None, lora_train_embeddings=True)
    assert trainable_params(L8, spec) == lora_params(L8, spec) + embedding_params(L8)


@pytest.mark.parametrize(
    ("optimizer", "bytes_per_param"),
    [
        ("adamw_torch", 4),
        ("adamw_torch_fused", 4),
        ("adamw_bnb_8bit", 2),
        ("paged_adamw_32bit", 8),
        ("sgd", 0),
        ("lion_8bit", 1),
    ],
)
def test_optimizer_states_pure_bf16(optimizer: str, bytes_per_param: float) -> None:
    states = model_states(L8, Workload(optimizer=optimizer))
    assert states.optimizer == pytest.approx(PSI * bytes_per_param)
    assert states.grads_full == 2 * PSI and states.master == 0


def test_unknown_optimizer_is_adamw_with_a_note() -> None:
    info, note = optimizer_info("galore_adamw")
    assert info.states == 2 and note is not None and "not modelled" in note


def test_deepspeed_zero2_matches_deepspeed_formula() -> None:
    """2 + 18/G bytes per parameter: DeepSpeed's estimate_zero2_model_states_mem_needs."""
    spec = Workload(zero_stage=2, gpus=8, optimizer="adamw_torch_fused")
    states = model_states(L8, spec)
    total = base_weight_bytes(L8, spec) + states.grads_full + states.optimizer + states.master
    assert total == pytest.approx(2 * PSI + 18 * PSI / 8)


def test_zero_offload_moves_states_to_cpu() -> None:
    spec = Workload(zero_stage=2, gpus=8, offload_optimizer=True)
    states = model_states(L8, spec)
    assert states.optimizer == states.master == 0
    assert states.cpu == pytest.approx(16 * PSI)


def test_gradient_accumulation_keeps_gradients_through_backward() -> None:
    one = model_states(L8, Workload(grad_accum=1))
    many = model_states(L8, Workload(grad_accum=4))
    assert many.grads_backward == many.grads_full > one.grads_backward > 0


def test_norm_and_mlp_terms() -> None:
    h, inter = 4096, 14336
    assert norm_bytes(L8, Workload(method="lora")) == 4 * h + 2 * h
    assert norm_bytes(L8, Workload(method="full")) == 4 * h + 2 * h + 2 * h
    assert norm_bytes(L8, Workload(fused_kernels=True)) == 2 * h + 2 * h
    assert mlp_bytes(L8, Workload()) == 4 * 2 * inter
    assert mlp_bytes(L8, Workload(fused_kernels=True)) == 3 * 2 * inter
    phi = _arch("microsoft/phi-2")
    assert mlp_bytes(phi, Workload()) == (2 + 3) * 2 * phi.intermediate_size


def test_attention_flash_sdpa_eager() -> None:
    flash = attention_bytes(L8, Workload(attention="flash"))
    assert flash == 2 * (4096 + 2 * 1024) + 2 * 4096
    assert attention_bytes(L8, Workload(attention="sdpa")) == flash + 2 * 4096
    eager = attention_bytes(L8, Workload(attention="eager", seq_len=4096))
    assert eager - flash > 6 * 32 * 4096 - 1


def test_lora_activation_extras() -> None:
    base = Workload(method="lora", lora_targets=("q_proj", "v_proj"), lora_r=8)
    assert lora_bytes(L8, base) == 2 * (4096 * 2 + 4 * 8)  # autocast copy of each input
    with_dropout = base._replace(lora_dropout=0.05)
    assert lora_bytes(L8, with_dropout) == 2 * (4096 * 3 + 4 * 8)
    bf16_adapters = base._replace(adapter_fp32=False)
    assert lora_bytes(L8, bf16_adapters) == 2 * 4 * 8


def test_logits_by_loss_implementation() -> None:
    assert logits_bytes(L8, Workload()) == 12 * 128256
    assert logits_bytes(L8, Workload(loss="chunked")) == 4 * 128256
    assert logits_bytes(L8, Workload(loss="fused")) == 2 * 2 * 4096  # a chunk of hidden grads
    # torchtune / LitGPT project each chunk on its own: no full-size logits gradient.
    assert logits_bytes(L8, Workload(loss="chunked_output")) == 2.25 * 128256


def test_activations_scale_with_tokens_and_checkpointing() -> None:
    spec = Workload(seq_len=2048, micro_batch=1)
    acts, logits = activation_peak(L8, spec)
    acts2, logits2 = activation_peak(L8, spec._replace(micro_batch=2))
    assert acts2 == pytest.approx(2 * acts) and logits2 == 2 * logits
    ckpt, _ = activation_peak(L8, spec._replace(grad_ckpt=True))
    assert ckpt < acts / 5
    assert acts > 32 * layer_bytes(L8, spec) * 2048
    offloaded, _ = activation_peak(L8, spec._replace(grad_ckpt=True, activation_offload=True))
    assert offloaded < ckpt


def test_packing_and_micro_batch_set_tokens() -> None:
    cfg = {"sequence_len": 4096, "micro_batch_size": 3, "sample_packing": True}
    spec = workload_from_config(cfg)
    assert spec.tokens == 3 * 4096 and spec.sample_packing


def test_overhead_and_verdict_thresholds() -> None:
    result = compose(L8, Workload(method="qlora", weight_bits=4, grad_ckpt=True), 24)
    overhead = result.breakdown_gib["cuda_overhead"]
    assert overhead == pytest.approx(0.5 + 0.07 * result.allocated_gib)
    assert sum(result.breakdown_gib.values()) == pytest.approx(result.peak_gib_per_gpu)
    assert verdict_for(10, 24) == (True, "fits")
    assert verdict_for(23, 24) == (True, "tight")
    assert verdict_for(25, 24) == (False, "does not fit")
    assert verdict_for(25, None) == (None, "unknown (no GPU memory given)")
    assert result.allocated_gib * GIB > 0


def test_paged_optimizer_states_sit_beside_the_allocator() -> None:
    """bitsandbytes pages the states of tensors >= 1e5 elements in CUDA managed memory: not in
    torch's allocator (allocated), still on the GPU while resident (the nvidia-smi peak)."""
    plain = compose(L8, Workload(optimizer="adamw_32bit"), None)
    paged = compose(L8, Workload(optimizer="paged_adamw_32bit"), None)
    states = paged.breakdown_gib["paged_optimizer_states"] * GIB
    assert states == pytest.approx(8 * PSI) and paged.breakdown_gib["optimizer_states"] == 0
    assert paged.allocated_gib == pytest.approx(plain.allocated_gib - 8 * PSI / GIB)
    assert paged.peak_gib_per_gpu < plain.peak_gib_per_gpu  # no allocator overhead on them
    assert paged.peak_gib_per_gpu > paged.allocated_gib + 8 * PSI / GIB
    # LoRA r 8 on q and v: A and B have 8 x 4096 or 8 x 1024 elements, none paged; the MLP's
    # 8 x 14336 are.
    lora = Workload(method="lora", lora_r=8, lora_targets=("q_proj", "v_proj"),
                    optimizer="paged_adamw_8bit")  # fmt: skip
    assert model_states(L8, lora).paged == 0
    mlp = model_states(L8, lora._replace(lora_targets=("up_proj",)))
    assert mlp.paged == pytest.approx(mlp.optimizer * 14336 / (14336 + 4096))
    wide = lora._replace(lora_r=64)  # 64 x 1024 = 65536: v's A is paged, its B is not
    q, v = 2 * 64 * 4096, 64 * (4096 + 1024)
    assert model_states(L8, wide).paged == pytest.approx(
        model_states(L8, wide).optimizer * (q + 64 * 4096) / (q + v)
    )


def test_fsdp_gathers_the_root_group_and_two_layers() -> None:
    """accelerate wraps each decoder layer, then the model: embeddings and lm_head are one root
    unit, gathered for the whole step, beside the layer in use and the prefetched one."""
    from wizard.models import embedding_params, layer_linears

    spec = Workload(fsdp=True, zero_stage=3, gpus=8)
    layer = sum(lin.layers * lin.params for lin in layer_linears(L8)) / L8.num_layers
    buffers = compose(L8, spec, None).breakdown_gib["buffers"] * GIB
    assert buffers == pytest.approx(2 * (2 * layer) + 2 * embedding_params(L8))
    zero3 = compose(L8, spec._replace(fsdp=False), None).breakdown_gib["buffers"] * GIB
    assert zero3 < buffers  # ZeRO-3 fetches module by module: two of the biggest


def test_fsdp_shards_kept_in_bf16_without_accelerates_upcast() -> None:
    """torchtune's bf16 FSDP: bf16 shards, grads and AdamW states (2 + 2 + 4 bytes / GPUs)."""
    spec = Workload(fsdp=True, zero_stage=3, gpus=4, fsdp_fp32_shards=False)
    states = model_states(L8, spec)
    assert states.grads_full == pytest.approx(2 * PSI / 4)
    assert states.optimizer == pytest.approx(4 * PSI / 4) and states.master == 0
    upcast = model_states(L8, spec._replace(fsdp_fp32_shards=True))
    assert upcast.grads_full == pytest.approx(4 * PSI / 4)
