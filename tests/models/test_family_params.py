"""The family table against published parameter counts and against transformers itself.

`published_params.yaml` holds, per family, public models' config.json values and their published
parameter counts. The counts come from the table alone (config only, offline); the second test
builds the same configs, shortened to four layers, with the real transformers classes on the meta
device and compares every parameter and every nn.Linear name.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import yaml
from conftest import REPO

from wizard.models import (
    all_linear_names,
    arch_from_config,
    family_names,
    linear_names,
    total_params,
)

DATA = REPO / "tests" / "data" / "models" / "published_params.yaml"
MODELS: dict[str, dict[str, Any]] = yaml.safe_load(DATA.read_text(encoding="utf-8"))["models"]
# The list of families that must be in the table, by config.json model_type.
REQUIRED = {
    "llama",
    "mistral",
    "mixtral",
    "qwen2",
    "qwen2_moe",
    "qwen3",
    "qwen3_moe",
    "gemma",
    "gemma2",
    "gemma3_text",
    "phi",
    "phi3",
    "falcon",
    "gpt_bigcode",
    "starcoder2",
    "gpt_neox",
    "gpt2",
    "bloom",
    "mpt",
    "olmo",
    "deepseek_v2",
    "deepseek_v3",
    "llama4_text",
    "gpt_oss",
}


def _text_type(config: dict[str, Any]) -> str:
    inner = config.get("text_config") or {}
    return str(inner.get("model_type") or config["model_type"])


def test_every_required_family_is_in_the_table_and_has_a_published_model() -> None:
    assert set(family_names()) >= REQUIRED
    assert {_text_type(m["config"]) for m in MODELS.values()} >= REQUIRED


@pytest.mark.parametrize("name", sorted(MODELS))
def test_parameter_count_matches_the_published_one(name: str) -> None:
    model = MODELS[name]
    arch = arch_from_config(model["config"], name)
    assert arch.known_family
    assert total_params(arch) / 1e9 == pytest.approx(model["billions"], rel=0.02)


def _shortened(config: dict[str, Any]) -> dict[str, Any]:
    text = dict(config.get("text_config") or config)
    key = next(k for k in ("num_hidden_layers", "n_layer", "n_layers") if k in text)
    text[key] = min(int(text[key]), 4)  # enough for DeepSeek's dense-then-MoE layers
    return text


def _transformers_model(config: dict[str, Any]) -> Any:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    options = {k: v for k, v in config.items() if k != "model_type"}
    hf_config = transformers.AutoConfig.for_model(config["model_type"], **options)
    with warnings.catch_warnings(), torch.device("meta"):
        warnings.simplefilter("ignore")
        return transformers.AutoModelForCausalLM.from_config(hf_config)


def test_table_agrees_with_transformers_layer_by_layer() -> None:
    torch = pytest.importorskip("torch")
    conv1d = pytest.importorskip("transformers.pytorch_utils").Conv1D
    for name, model in sorted(MODELS.items()):
        config = _shortened(model["config"])
        arch = arch_from_config(config, name)
        built = _transformers_model(config)
        assert total_params(arch) == sum(p.numel() for p in built.parameters()), name
        linears = {
            module_name.rsplit(".", 1)[-1]
            for module_name, module in built.named_modules()
            if isinstance(module, (torch.nn.Linear, conv1d)) and "lm_head" not in module_name
        }
        assert all_linear_names(arch) == linears, name
        leaves = {n.rsplit(".", 1)[-1] for n, _ in built.named_modules()}
        leaves |= {".".join(n.split(".")[-2:]) for n, _ in built.named_parameters()}
        legacy = {lin.name for lin in arch.linears if lin.param}  # old names peft maps
        assert set(linear_names(arch)) - legacy <= leaves, name
