"""Memory per GPU for the interview: each method next to the Method question, and the review.

Both go through `wizard.estimate` (the same estimator as `axolotl-wizard estimate`): the partial
answers are turned into the few Axolotl keys memory depends on. Before the training questions
are answered the spec's defaults stand in, so the method figures are a first look.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wizard.estimate import estimate
from wizard.models import ModelArch
from wizard.render import ATTENTION_IMPLEMENTATION
from wizard.spec import RunSpec

Lookup = Callable[[str], Any]


def _config(kind: str, value: Lookup) -> dict[str, Any]:
    precision = value("training.precision")
    bf16 = precision == "bf16" or (precision == "auto" and bool(value("hardware.bf16_supported")))
    config: dict[str, Any] = {
        "sequence_len": int(value("training.sequence_len")),
        "sample_packing": bool(value("training.sample_packing")),
        "micro_batch_size": int(value("training.micro_batch_size")),
        "gradient_checkpointing": bool(value("training.gradient_checkpointing")),
        "optimizer": value("training.optimizer"),
        "attn_implementation": ATTENTION_IMPLEMENTATION[str(value("training.attention"))],
        "bf16": bf16,
        "fp16": not bf16,
    }
    if kind != "full":
        config.update(
            {
                "adapter": kind,
                "load_in_4bit": kind == "qlora",
                "lora_target_linear": True,
                "lora_r": int(value("method.r") or 16),
            }
        )
    return config


def _deepspeed(value: Lookup) -> dict[str, Any] | None:
    if value("distributed.backend") != "deepspeed":
        return None
    zero: dict[str, Any] = {"stage": int(value("distributed.zero_stage"))}
    if value("distributed.offload_optimizer"):
        zero["offload_optimizer"] = {"device": "cpu"}
    if value("distributed.offload_params"):
        zero["offload_param"] = {"device": "cpu"}
    return {"zero_optimization": zero}


def method_note(arch: ModelArch, kind: str, value: Lookup) -> str:
    """`~18.2 GiB per GPU, fits 24 GiB` for `kind` on the GPUs answered so far."""
    world = int(value("hardware.gpus_per_node")) * int(value("hardware.nodes"))
    memory = value("hardware.gpu_memory_gib")
    result = estimate(
        _config(kind, value),
        arch,
        deepspeed=_deepspeed(value),
        gpus=world,
        gpu_mem_gib=memory,
        advise=False,
    )
    text = f"~{result.peak_gib_per_gpu:.1f} GiB per GPU"
    return text if memory is None else f"{text}, {result.verdict} in {memory:g} GiB"


def spec_note(arch: ModelArch, spec: RunSpec) -> str:
    """The same figure for a finished spec (the review screen)."""
    data = spec.model_dump()

    def value(key: str) -> Any:
        node: Any = data
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    return method_note(arch, spec.method.kind, value)
