"""Spec -> flat Axolotl config, grouped and commented (pure: no IO).

Axolotl's YAML is flat; the groups below only order the keys and give each block a heading so a
person can read the file top to bottom: model, data, method, batch, schedule, precision, output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wizard.axolotl import attention, batch
from wizard.build.deepspeed_config import deepspeed_filename
from wizard.errors import WizardError
from wizard.axolotl.paths import PathMapper, is_local_path, keep_path
from wizard.spec import AdapterMethod, DatasetSpec, RunSpec

DEEPSPEED_DIR = "deepspeed"
# Axolotl 0.19 switches these LoRA kernels on by itself when it can; they are CUDA-only.
LORA_KERNEL_KEYS = ("lora_mlp_kernel", "lora_qkv_kernel", "lora_o_kernel", "lora_embedding_kernel")


@dataclass
class Entry:
    key: str
    value: Any
    comment: str = ""


@dataclass
class Group:
    title: str
    entries: list[Entry] = field(default_factory=list)

    def add(self, key: str, value: Any, comment: str = "") -> None:
        self.entries.append(Entry(key, value, comment))


@dataclass
class RenderedConfig:
    groups: list[Group]

    def as_dict(self) -> dict[str, Any]:
        return {e.key: e.value for g in self.groups for e in g.entries}


def render_axolotl(
    spec: RunSpec, raw: Mapping[str, Any] | None = None, path_for: PathMapper = keep_path
) -> RenderedConfig:
    """The Axolotl config for `spec` plus raw pass-through keys; `path_for` maps local paths."""
    groups = [
        _model_group(spec, path_for),
        _data_group(spec, path_for),
        _method_group(spec),
        _batch_group(spec),
        _schedule_group(spec),
        _precision_group(spec),
        _output_group(spec),
    ]
    groups = [g for g in groups if g.entries]
    if raw:
        _check_raw_keys(raw, groups)
        groups.append(Group("passed through unchanged (preset axolotl: block, --set axolotl.*)"))
        for key, value in raw.items():
            groups[-1].add(key, value)
    return RenderedConfig(groups)


def _model_group(spec: RunSpec, path_for: PathMapper) -> Group:
    group = Group("model")
    base = spec.model.base_model
    group.add("base_model", path_for(base) if is_local_path(base) else base)
    if spec.model.trust_remote_code:
        group.add("trust_remote_code", True, "runs the model repository's own code")
    return group


def _data_group(spec: RunSpec, path_for: PathMapper) -> Group:
    group = Group("data")
    group.add("datasets", [_dataset_entry(d, path_for) for d in spec.datasets])
    group.add("dataset_prepared_path", "./prepared-data", "tokenized cache, reused by later runs")
    group.add("val_set_size", spec.training.val_set_size)
    group.add("sequence_len", spec.training.sequence_len)
    group.add("sample_packing", spec.training.sample_packing)
    if spec.training.sample_packing:
        group.add("pad_to_sequence_len", True, "packed rows are always full length")
        if spec.training.val_set_size == 0:
            group.add("eval_sample_packing", False)
    return group


def _dataset_entry(dataset: DatasetSpec, path_for: PathMapper) -> dict[str, Any]:
    path = path_for(dataset.path) if is_local_path(dataset.path) else dataset.path
    entry: dict[str, Any] = {"path": path, "type": dataset.format}
    if dataset.split:
        entry["split"] = dataset.split
    if dataset.format == "chat_template":
        entry["field_messages"] = dataset.field_messages
        entry["message_property_mappings"] = {
            "role": dataset.role_key,
            "content": dataset.content_key,
        }
    elif dataset.format == "completion":
        entry["field"] = dataset.text_field
    return entry


def _method_group(spec: RunSpec) -> Group:
    method = spec.method
    group = Group(f"method: {method.kind}")
    if not isinstance(method, AdapterMethod):
        return group
    group.add("adapter", method.kind)
    if method.kind == "qlora":
        group.add("load_in_4bit", True, "base weights in NF4; only the adapter trains")
    group.add("lora_r", method.r)
    group.add("lora_alpha", method.alpha)
    group.add("lora_dropout", method.dropout)
    if method.target_modules == "all-linear":
        group.add("lora_target_linear", True, "every linear layer of the blocks")
    else:
        group.add("lora_target_modules", list(method.target_modules))
    if spec.hardware.accelerator == "cpu":
        for key in LORA_KERNEL_KEYS:
            group.add(key, False, "CUDA-only kernel" if key == LORA_KERNEL_KEYS[0] else "")
    return group


def _batch_group(spec: RunSpec) -> Group:
    training, hardware = spec.training, spec.hardware
    group = Group("batch")
    per = "process" if hardware.accelerator == "cpu" else "GPU"
    group.add(
        "micro_batch_size", training.micro_batch_size, f"sequences per {per} per forward pass"
    )
    accumulation = spec.gradient_accumulation
    group.add(
        "gradient_accumulation_steps",
        accumulation,
        f"{training.micro_batch_size} × {accumulation} × {hardware.world_size} "
        f"{device_noun(spec)} = {effective_batch(spec)} sequences per optimizer step",
    )
    checkpointing = training.gradient_checkpointing
    group.add(
        "gradient_checkpointing",
        checkpointing,
        "recompute activations: less memory" if checkpointing else "",
    )
    return group


def _schedule_group(spec: RunSpec) -> Group:
    training = spec.training
    group = Group("schedule")
    group.add("num_epochs", training.num_epochs)
    if training.max_steps is not None:
        group.add("max_steps", training.max_steps, "stops here even if epochs remain")
    group.add("learning_rate", spec.learning_rate)
    group.add("lr_scheduler", training.lr_scheduler)
    if training.warmup_steps is not None:
        group.add("warmup_steps", training.warmup_steps)
    else:
        group.add("warmup_ratio", 0.05 if training.warmup_ratio is None else training.warmup_ratio)
    group.add("optimizer", training.optimizer)
    group.add("weight_decay", training.weight_decay)
    return group


def _precision_group(spec: RunSpec) -> Group:
    precision = spec.resolved_precision
    group = Group("precision and attention")
    cpu = spec.hardware.accelerator == "cpu"
    # Both written explicitly: left out, Axolotl picks fp16 by itself, which crashes on a CPU.
    group.add("bf16", precision == "bf16")
    group.add("fp16", precision == "fp16")
    group.add("tf32", not cpu and spec.hardware.bf16_supported)
    group.add("attn_implementation", attention.FROM_ANSWER[spec.training.attention])
    if spec.distributed.backend == "deepspeed":
        name = deepspeed_filename(spec)
        group.add("deepspeed", f"{DEEPSPEED_DIR}/{name}", "relative to this folder")
    return group


def _output_group(spec: RunSpec) -> Group:
    training = spec.training
    group = Group("output")
    group.add("output_dir", training.output_dir)
    group.add("seed", training.seed)
    group.add("logging_steps", training.logging_steps)
    group.add("saves_per_epoch", training.saves_per_epoch)
    return group


# The answer each rendered key comes from, for the hint when a raw key contradicts it.
ANSWER_OF = {
    "base_model": "model.base_model", "trust_remote_code": "model.trust_remote_code",
    "datasets": "datasets", "val_set_size": "training.val_set_size",
    "sequence_len": "training.sequence_len", "sample_packing": "training.sample_packing",
    "pad_to_sequence_len": "training.sample_packing",
    "eval_sample_packing": "training.sample_packing", "adapter": "method.kind",
    "load_in_4bit": "method.kind", "lora_r": "method.r", "lora_alpha": "method.alpha",
    "lora_dropout": "method.dropout", "lora_target_linear": "method.target_modules",
    "lora_target_modules": "method.target_modules",
    "micro_batch_size": "training.micro_batch_size",
    "gradient_accumulation_steps": "training.gradient_accumulation_steps",
    "gradient_checkpointing": "training.gradient_checkpointing",
    "num_epochs": "training.num_epochs", "max_steps": "training.max_steps",
    "learning_rate": "training.learning_rate", "lr_scheduler": "training.lr_scheduler",
    "warmup_steps": "training.warmup_steps", "warmup_ratio": "training.warmup_ratio",
    "optimizer": "training.optimizer", "weight_decay": "training.weight_decay",
    "bf16": "training.precision", "fp16": "training.precision",
    "tf32": "hardware.bf16_supported", "attn_implementation": "training.attention",
    "deepspeed": "distributed.backend", "output_dir": "training.output_dir",
    "seed": "training.seed", "logging_steps": "training.logging_steps",
    "saves_per_epoch": "training.saves_per_epoch",
}  # fmt: skip


def _check_raw_keys(raw: Mapping[str, Any], groups: list[Group]) -> None:
    """A raw key may add to the config but not contradict an answer the wizard rendered."""
    rendered = {e.key for g in groups for e in g.entries}
    clash = [k for k in raw if k in rendered]
    if clash:
        answer = ANSWER_OF.get(clash[0])
        change = f"set the answer {answer} instead (--set {answer}=VALUE)" if answer else (
            "change the answer it comes from instead")  # fmt: skip
        raise WizardError(
            f"raw Axolotl key {clash[0]!r} is also set from the answers",
            f"{change}, and remove axolotl.{clash[0]}",
        )


def device_noun(spec: RunSpec) -> str:
    return batch.device_noun(spec.hardware.world_size, spec.hardware.accelerator == "cpu")


def effective_batch(spec: RunSpec) -> int:
    micro, world = spec.training.micro_batch_size, spec.hardware.world_size
    return batch.sequences_per_step(micro, spec.gradient_accumulation, world)
