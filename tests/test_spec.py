"""The spec's own rules: types, discriminated method, cross-field checks with actionable text."""

from __future__ import annotations

import os
from typing import Any

import pytest
from answers_path import flat, refusal
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from wizard.answers.file import AnswersDocument, answers_text, load_answers_file
from wizard.answers.layers import Answers
from wizard.axolotl.paths import relative_to_run_dir
from wizard.runspec import (
    DEFAULT_METHOD,
    METHODS,
    LoraMethod,
    QLoraMethod,
    RunSpec,
    StrictModel,
)

BASE: dict[str, Any] = {
    "model": {"base_model": "org/model"},
    "datasets": [{"path": "data.jsonl", "format": "alpaca"}],
}


def spec(**parts: Any) -> RunSpec:
    data = {**BASE}
    for section, values in parts.items():
        data[section] = values
    return RunSpec.model_validate(data)


def error_text(**parts: Any) -> str:
    with pytest.raises(ValidationError) as info:
        spec(**parts)
    return str(info.value)


def test_defaults_give_a_lora_run_on_one_gpu() -> None:
    run = spec()
    assert isinstance(run.method, LoraMethod)
    assert run.hardware.world_size == 1
    assert run.resolved_precision == "bf16"
    # The recipe table's SFT-with-adapters row: QLoRA's 2e-4 and its batch of 16 sequences.
    assert run.learning_rate == 2e-4
    assert run.gradient_accumulation == 16


def test_method_is_a_discriminated_union() -> None:
    assert isinstance(spec(method={"kind": "qlora", "r": 8}).method, QLoraMethod)
    assert spec(method={"kind": "full"}).learning_rate == 2e-5
    assert "r" in error_text(method={"kind": "full", "r": 8})


def test_unknown_keys_are_refused() -> None:
    assert "extra" in error_text(training={"micro_batch_sise": 2})


def test_the_default_method_is_the_one_every_module_assumes() -> None:
    assert spec().method.kind == DEFAULT_METHOD and DEFAULT_METHOD in METHODS


def test_packing_with_eager_attention_is_accepted_as_axolotl_does() -> None:
    run = spec(training={"sample_packing": True, "attention": "eager"})
    assert run.training.sample_packing and run.training.attention == "eager"


def test_wrong_types_are_refused() -> None:
    assert "micro_batch_size" in error_text(training={"micro_batch_size": "two"})
    assert "format" in error_text(datasets=[{"path": "x", "format": "sharegpt"}])


@pytest.mark.parametrize(
    ("parts", "needle"),
    [
        ({"distributed": {"backend": "deepspeed"}}, "ZeRO with one GPU shards nothing"),
        (
            {"training": {"precision": "bf16"}, "hardware": {"bf16_supported": False}},
            "written from training.precision",
        ),
        ({"training": {"gradient_accumulation_steps": 2, "effective_batch_size": 8}}, "not both"),
        ({"training": {"warmup_ratio": 0.1, "warmup_steps": 10}}, "not both"),
        ({"distributed": {"backend": "none", "offload_optimizer": True}}, "needs sharding"),
        (
            {
                "distributed": {"backend": "deepspeed", "zero_stage": 2, "offload_params": True},
                "hardware": {"gpus_per_node": 2},
            },
            "needs ZeRO stage 3",
        ),
        (
            {
                "method": {"kind": "qlora"},
                "hardware": {"gpus_per_node": 8},
                "distributed": {"backend": "deepspeed", "zero_stage": 3},
                "training": {"precision": "fp16"},
            },
            "ZeRO-3",
        ),
        ({"hardware": {"accelerator": "cpu"}, "training": {"precision": "bf16"}}, "fp32"),
        ({"hardware": {"accelerator": "cpu"}, "training": {"attention": "flash"}}, "CUDA"),
        (
            {"hardware": {"accelerator": "cpu"}, "training": {"optimizer": "paged_adamw_8bit"}},
            "adamw_torch",
        ),
        (
            {"hardware": {"gpus_per_node": 4}, "training": {"effective_batch_size": 10}},
            "use 8 or 12",
        ),
        (
            {"datasets": [{"path": "x", "format": "alpaca", "field_messages": "conv"}]},
            "chat_template",
        ),
    ],
)
def test_cross_field_rules_say_what_to_change(parts: dict[str, Any], needle: str) -> None:
    """Refused on the answers path: by the spec, or by `check`'s rules on the config."""
    err = refusal(flat({**BASE, **parts}))
    assert needle in f"{err.message} {err.hint}"


def test_effective_batch_sets_accumulation() -> None:
    run = spec(
        hardware={"gpus_per_node": 4}, training={"micro_batch_size": 2, "effective_batch_size": 64}
    )
    assert run.gradient_accumulation == 8


def test_cpu_resolves_to_fp32() -> None:
    assert spec(hardware={"accelerator": "cpu"}).resolved_precision == "fp32"
    assert spec(hardware={"bf16_supported": False}).resolved_precision == "fp16"


segments = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=10)
# Hub ids, and local paths in the form the wizard writes them: normalised (no `a/../b`), with
# `./` only where the path would otherwise read as a Hub id.
names = st.one_of(
    st.builds(lambda org, name: f"{org}/{name}", segments, segments),
    st.builds(
        lambda prefix, parts, suffix: (
            (prefix or ("" if suffix else "./")) + "/".join(parts) + suffix
        ),
        st.sampled_from(["", "../", "/data/"]),
        st.lists(segments, min_size=1, max_size=3),
        st.sampled_from(["", ".jsonl", ".parquet"]),
    ),
)
datasets = st.fixed_dictionaries(
    {"path": names, "format": st.sampled_from(["alpaca", "completion", "input_output"])}
) | st.fixed_dictionaries(
    {
        "path": names,
        "format": st.just("chat_template"),
        "field_messages": st.sampled_from(["messages", "conversations"]),
        "role_key": st.sampled_from(["role", "from"]),
        "content_key": st.sampled_from(["content", "value"]),
    }
)
methods = st.one_of(
    st.just({"kind": "full"}),
    st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["lora", "qlora"]),
            "r": st.integers(1, 256),
            "alpha": st.integers(1, 512),
            "dropout": st.floats(0, 0.5),
            "target_modules": st.one_of(
                st.just("all-linear"),
                st.lists(st.sampled_from(["q_proj", "v_proj", "o_proj"]), min_size=1, unique=True),
            ),
        }
    ),
)
trainings = st.fixed_dictionaries(
    {
        "sequence_len": st.integers(16, 32768),
        "micro_batch_size": st.integers(1, 16),
        "gradient_accumulation_steps": st.integers(1, 64),
        "num_epochs": st.integers(1, 5),
        "learning_rate": st.floats(1e-7, 0.5),
        "seed": st.integers(0, 2**31),
        "sample_packing": st.booleans(),
        "gradient_checkpointing": st.booleans(),
        "optimizer": st.sampled_from(["adamw_torch", "adamw_torch_fused", "adafactor"]),
    }
)


@settings(max_examples=60, deadline=None)
@given(
    base=names,
    data=st.lists(datasets, min_size=1, max_size=3),
    method=methods,
    training=trainings,
    gpus=st.integers(1, 8),
)
def test_spec_to_answers_file_to_spec_is_identity(
    tmp_path_factory: pytest.TempPathFactory,
    base: str,
    data: list[dict[str, Any]],
    method: dict[str, Any],
    training: dict[str, Any],
    gpus: int,
) -> None:
    original = RunSpec.model_validate(
        {
            "model": {"base_model": base},
            "datasets": data,
            "method": method,
            "hardware": {"gpus_per_node": gpus},
            "training": training,
        }
    )
    path = tmp_path_factory.mktemp("answers") / "wizard-answers.yml"
    # Local paths are written relative to the answers file and read back relative to the cwd.
    to_file = relative_to_run_dir(str(path.parent), os.getcwd())
    path.write_text(answers_text(AnswersDocument(original), to_file), encoding="utf-8")
    reloaded = Answers([load_answers_file(path).layer]).resolve()
    assert reloaded == original


def test_the_command_line_s_hardware_bounds_are_the_spec_s() -> None:
    """argtypes keeps its own copy (`--help` must not load Pydantic): the two must agree."""
    from wizard.commands import argtypes
    from wizard.runspec.hardware import HardwareSpec

    def upper(name: str) -> object:
        return next(m.le for m in HardwareSpec.model_fields[name].metadata if hasattr(m, "le"))

    assert upper("gpus_per_node") == argtypes.MAX_GPUS_PER_NODE
    assert upper("nodes") == argtypes.MAX_NODES
    assert upper("gpu_memory_gib") == argtypes.MAX_GPU_MEMORY_GIB
    assert upper("host_ram_gib") == argtypes.MAX_HOST_RAM_GIB


def test_an_answers_meaning_is_its_fields_docstring_inherited_and_overridden() -> None:
    from wizard.runspec.field_docs import field_docs

    lora, qlora = field_docs(LoraMethod), field_docs(QLoraMethod)
    assert lora["r"] == qlora["r"] == "LoRA rank"  # from AdapterMethod
    assert lora["load_in_4bit"].startswith("lora: weights already quantized")  # LoRA's own
    assert "load_in_4bit" not in qlora and "fan_in_fan_out" not in lora  # no docstring: none
    # A docstring over two lines reads as one.
    assert "\n" not in field_docs(RunSpec)["datasets"] and field_docs(RunSpec)["datasets"]
    # No meaning left in Pydantic's description, where each `new` would build it.
    models, described = [StrictModel], []
    while models:
        model = models.pop()
        models += model.__subclasses__()
        described += [name for name, info in model.model_fields.items() if info.description]
    assert described == []


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ({"model": {"base_model": ""}}, "model.base_model\n  String should have at least 1 char"),
        ({"datasets": [{"path": "", "format": "alpaca"}]}, "datasets.0.path\n  String should"),
        ({"training": {"output_dir": ""}}, "training.output_dir\n  String should have at least 1"),
        ({"objective": {"kind": "grpo", "reward_functions": []}}, "List should have at least 1"),
        ({"model": {"base_model": "m", "base_model_config": None}}, None),
    ],
)
def test_an_empty_text_or_list_is_refused_where_one_is_needed(
    parts: dict[str, Any], message: str | None
) -> None:
    if message is None:
        assert spec(**parts).model.base_model_config is None
    else:
        assert message in error_text(**parts)


def test_not_empty_bounds_only_texts_and_lists() -> None:
    from typing import Annotated

    from wizard.runspec.base import NOT_EMPTY

    with pytest.raises(TypeError, match="a text or a list answer, not"):

        class Wrong(StrictModel):
            count: Annotated[int, NOT_EMPTY]

    with pytest.raises(TypeError, match="a text or a list answer, not"):

        class Either(StrictModel):
            name: Annotated[str | list[str], NOT_EMPTY]


def test_axolotl_names_with_the_texts_axolotl_takes_beside_them() -> None:
    fallback = "tokenizer_default_fallback_chatml"
    assert spec(data={"chat_template": fallback}).data.chat_template == fallback
    assert spec(training={"attention": "kernels-community/flash-attn3"}).training.attention
    assert "did you mean chatml?" in error_text(data={"chat_template": "chatmll"})
    assert "is not an Axolotl attn_implementation" in error_text(training={"attention": "flashh"})
    assert "is not an Axolotl optimizer" in error_text(training={"optimizer": "adamw_torchh"})
