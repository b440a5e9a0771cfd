"""Axolotl's ND parallelism in the estimate, each split against a hand calculation: activations
over context-parallel ranks, weights/gradients/optimizer states over tensor-parallel ranks, and
FSDP's shards over dp_shard x cp while HSDP's replicas each hold a whole copy."""

from __future__ import annotations

import pytest

from wizard.estimate import Workload, workload_from_config
from wizard.estimate.activations import activation_peak
from wizard.estimate.states import model_states
from wizard.estimate.terms import base_weight_bytes
from wizard.models import ModelArch, catalog_arch, total_params


def _arch(name: str = "meta-llama/Llama-3.1-8B") -> ModelArch:
    arch = catalog_arch(name)
    assert arch is not None
    return arch


L8 = _arch()
PSI = total_params(L8)
FULL = Workload(method="full", attention="flash", grad_ckpt=True, seq_len=65536, gpus=8)


def test_the_config_gives_the_sizes() -> None:
    cfg = {"base_model": "m", "context_parallel_size": 4, "tensor_parallel_size": 2,
           "dp_replicate_size": 1, "fsdp_version": 2, "fsdp_config": {"offload_params": False}}
    spec = workload_from_config(cfg, gpus=8)
    assert (spec.context_parallel, spec.tensor_parallel, spec.dp_replicate) == (4, 2, 1)
    legacy = workload_from_config({"base_model": "m", "sequence_parallel_degree": 2}, gpus=2)
    assert legacy.context_parallel == 2


@pytest.mark.parametrize("cp", [2, 4, 8])
def test_activations_and_logits_split_over_context_parallel_ranks(cp: int) -> None:
    """Each rank holds seq_len / cp tokens of every sequence: the checkpointed layer inputs,
    the recomputed layer and the logits all scale with the tokens a rank holds."""
    acts, logits = activation_peak(L8, FULL)
    split_acts, split_logits = activation_peak(L8, FULL._replace(context_parallel=cp))
    assert FULL._replace(context_parallel=cp).tokens == 65536 // cp
    assert split_acts == pytest.approx(acts / cp)
    assert split_logits == pytest.approx(logits / cp)


def test_an_uneven_sequence_rounds_up_to_the_longest_slice() -> None:
    spec = FULL._replace(seq_len=1001, context_parallel=4)
    assert spec.tokens == 251  # ceil(1001 / 4): Axolotl pads the sequence to a multiple of cp


def test_tensor_parallel_splits_weights_gradients_and_optimizer_states() -> None:
    """Full bf16 fine-tune with AdamW, no sharding: 2 bytes of weights, 2 of gradients (twice:
    DDP's bucket copies) and AdamW's two states in the parameters' bf16 (4 bytes) a parameter,
    each / tp on a rank."""
    ddp = FULL._replace(gpus=8)
    tp = ddp._replace(tensor_parallel=2)
    assert base_weight_bytes(L8, tp) == pytest.approx(2 * PSI / 2)
    states = model_states(L8, tp)
    assert states.optimizer == pytest.approx(4 * PSI / 2)
    assert states.grads_full == pytest.approx(2 * 2 * PSI / 2)


def test_fsdp_shards_over_dp_shard_times_cp_and_hsdp_replicas_hold_a_copy_each() -> None:
    """FSDP2 under bf16: 16 bytes a parameter (fp32 shard, fp32 grads, 8 bytes of Adam), over
    the GPUs of one replica: 8 GPUs are 8 shards; with dp_replicate 2 each replica's 4; with tp 2
    as well, 2 shards of half of every layer, so 1/4."""
    fsdp = FULL._replace(fsdp=True, zero_stage=3)
    per_param = {name: value / PSI for name, value in model_states(L8, fsdp)._asdict().items()}
    assert per_param["optimizer"] == pytest.approx(8 / 8)
    hsdp = model_states(L8, fsdp._replace(dp_replicate=2))
    assert hsdp.optimizer == pytest.approx(8 * PSI / 4)
    assert hsdp.grads_full == pytest.approx(4 * PSI / 4)
    both = fsdp._replace(dp_replicate=2, tensor_parallel=2)
    assert model_states(L8, both).optimizer == pytest.approx(8 * PSI / 4)  # 2 shards x tp 2
    assert base_weight_bytes(L8, both) == pytest.approx(2 * PSI / 4)
    cp = fsdp._replace(context_parallel=4)  # FSDP still shards over all 8 (dp_shard 2 x cp 4)
    assert model_states(L8, cp).optimizer == pytest.approx(8 * PSI / 8)


def test_zero3_offload_puts_one_copy_per_replica_on_the_host() -> None:
    """ZeRO-3 with optimizer offload: 4 + 4 + 8 bytes a parameter go to the host, once for the
    whole data-parallel group; tensor parallelism does not change the total."""
    zero = FULL._replace(zero_stage=3, offload_optimizer=True)
    assert model_states(L8, zero).cpu == pytest.approx(16 * PSI)
    assert model_states(L8, zero._replace(tensor_parallel=2)).cpu == pytest.approx(16 * PSI)
