"""Per-layer activations against what autograd really saves in transformers' LlamaDecoderLayer
(saved-tensor hooks on the CPU, bf16 autocast), with and without Axolotl's fp32 upcast of
embeddings and norms (full fine-tune, sdpa)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from wizard.estimate.activations import layer_bytes
from wizard.estimate.workload import Workload
from wizard.models import arch_from_config

CONFIG = {"model_type": "llama", "hidden_size": 256, "num_attention_heads": 4,
          "num_key_value_heads": 2, "intermediate_size": 512, "vocab_size": 1000,
          "tie_word_embeddings": False}  # fmt: skip
TOKENS = 512


def _saved_bytes(layers: int, upcast: bool) -> int:
    torch: Any = pytest.importorskip("torch")
    transformers: Any = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    options = {k: v for k, v in CONFIG.items() if k != "model_type"}
    config = transformers.AutoConfig.for_model("llama", num_hidden_layers=layers, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = transformers.AutoModelForCausalLM.from_config(
            config, attn_implementation="sdpa", dtype=torch.bfloat16
        )
    if upcast:  # what Axolotl's _convert_embedding_modules_dtype does for a full fine-tune
        for name, module in model.named_modules():
            if "norm" in name or name.endswith(("embed_tokens", "lm_head")):
                module.to(torch.float32)
    storages: dict[int, int] = {}

    def pack(tensor: Any) -> Any:
        storages[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    ids = torch.randint(0, 1000, (1, TOKENS))
    with (
        torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t),
        torch.autocast("cpu", dtype=torch.bfloat16),
    ):
        model(input_ids=ids)
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    return sum(size for ptr, size in storages.items() if ptr not in params)


@pytest.mark.parametrize("upcast", [False, True])
def test_layer_activations_match_what_autograd_saves(upcast: bool) -> None:
    per_layer = (_saved_bytes(4, upcast) - _saved_bytes(2, upcast)) / 2 / TOKENS
    arch = arch_from_config({**CONFIG, "num_hidden_layers": 4}, "tiny")
    estimated = layer_bytes(arch, Workload(method="full", upcast_fp32=upcast))
    assert estimated == pytest.approx(per_layer, rel=0.06)
