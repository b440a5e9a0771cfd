"""The answers that are one Axolotl key each, with the value as it is: one table that rendering
writes from and an import reads back (`importer.proposals`), so the two cannot disagree.

An answer left unset (None) writes nothing: Axolotl's own default then holds.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel

from wizard.runspec import RunSpec, SpeedSpec, TrackingSpec


def _named(section: str, names: str) -> tuple[tuple[str, str], ...]:
    """Answers called as their Axolotl key, in one section."""
    return tuple((f"{section}.{name}", name) for name in names.split())


# group -> (answer, Axolotl key), in the order they are written.
DIRECT: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "model": (
        *_named(
            "model",
            "model_type tokenizer_type processor_type revision_of_model "
            "tokenizer_use_mistral_common low_cpu_mem_usage llama4_linearized_experts "
            "resize_token_embeddings_to_32x",
        ),
        ("model.config_overrides", "model_config"),
    ),
    "data": _named(
        "data",
        "chat_template chat_template_jinja special_tokens tokens eot_tokens train_on_inputs "
        "skip_prepare_dataset remove_unused_columns shuffle_merged_datasets",
    ),
    "method": (
        ("method.target_linear", "lora_target_linear"),
        ("method.rslora", "peft_use_rslora"),
        ("method.fan_in_fan_out", "lora_fan_in_fan_out"),
        ("method.quantize_moe_experts", "quantize_moe_experts"),
        ("method.unfrozen_parameters", "unfrozen_parameters"),
        ("method.modules_to_save", "lora_modules_to_save"),
        *((f"method.{name}_kernel", f"lora_{name}_kernel") for name in ("mlp", "qkv", "o")),
        ("method.embedding_kernel", "lora_embedding_kernel"),
    ),
    "batch": (
        *_named("training", "eval_batch_size activation_offloading group_by_length"),
        *_named("distributed", "ddp_timeout ddp_find_unused_parameters"),
    ),
    "schedule": _named(
        "training",
        "cosine_min_lr_ratio cosine_constant_lr_ratio adam_beta1 adam_beta2 adam_epsilon "
        "max_grad_norm neftune_noise_alpha",
    ),
    "evaluation": _named(
        "training",
        "evals_per_epoch eval_steps eval_strategy early_stopping_patience "
        "loss_watchdog_threshold loss_watchdog_patience",
    ),
    "output": _named(
        "training", "save_steps save_strategy save_total_limit save_only_model strict"
    ),
    "tracking and the Hub": (
        *_named("tracking", " ".join(TrackingSpec.model_fields)),
        ("hub.model_id", "hub_model_id"),
        ("hub.strategy", "hub_strategy"),
        ("hub.revision", "hub_revision"),
        ("hub.push_dataset_to_hub", "push_dataset_to_hub"),
    ),
    "speed-ups": _named("speed", " ".join(SpeedSpec.model_fields)),
}
# Axolotl key -> answer, for an import.
ANSWER_OF_KEY: Final = {key: answer for rows in DIRECT.values() for answer, key in rows}


def answer_value(spec: RunSpec, answer: str) -> Any:
    """The value of a dotted answer (`training.max_grad_norm`); None where the method has no
    such field. A nested answer (special tokens) is written as the keys it was given."""
    value: Any = spec
    for name in answer.split("."):
        value = getattr(value, name, None)
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_none=True)
    return value


def direct_rows(spec: RunSpec, title: str) -> list[tuple[str, Any, str]]:
    """(key, value, answer) of the group's direct answers that are set."""
    rows = []
    for answer, key in DIRECT.get(title, ()):
        value = answer_value(spec, answer)
        if value is not None:
            rows.append((key, value, answer))
    return rows
