"""Spec -> flat Axolotl config, grouped and commented (pure: no IO).

Axolotl's YAML is flat; the groups below only order the keys and give each block a heading so a
person can read the file top to bottom: model, data, method, batch, schedule, precision, output.

Every entry names the answer it is rendered from, or is marked as the wizard's own choice (a
tokenized-data cache, `tf32`, padding packed rows, …). For an imported config
(`defaults: axolotl`) only entries of answers the config gave are written, and none of the
wizard's choices: an imported run trains exactly as the original would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from wizard.axolotl import attention, batch
from wizard.axolotl.paths import PathMapper, is_local_path, keep_path
from wizard.errors import WizardError
from wizard.render.dataset_entry import dataset_entry
from wizard.render.deepspeed_config import deepspeed_filename
from wizard.render.direct import direct_rows
from wizard.render.fsdp_config import check_sharding_raw, fsdp_entries
from wizard.render.objective_config import objective_entries
from wizard.render.ray_keys import ray_entries
from wizard.runspec import (
    ALL_LINEAR,
    AdapterMethod,
    RunSpec,
)
from wizard.runspec.recipe_choices import attention_backend, gpu_recipe

DEEPSPEED_DIR = "deepspeed"
SIMPO_WARMUP_STEPS = 10
_CHECKPOINTING = {
    True: "recompute activations: less memory",
    "offload": "recompute, with the checkpoints in CPU RAM",
    "offload_disk": "recompute, with the checkpoints on disk",
}
# Axolotl 0.19 switches these LoRA kernels on by itself when it can; they are CUDA-only.
LORA_KERNEL_KEYS = ("lora_mlp_kernel", "lora_qkv_kernel", "lora_o_kernel", "lora_embedding_kernel")


@dataclass
class Entry:
    key: str
    value: Any
    comment: str = ""
    answer: str | None = None  # the answer it is rendered from
    opinion: bool = False  # the wizard's own choice, not an answer: never written for an import


@dataclass
class Group:
    title: str
    entries: list[Entry] = field(default_factory=list)

    def add_direct(self, spec: RunSpec, name: str, skip: tuple[str, ...] = ()) -> None:
        """The group's answers that are one Axolotl key each (`build.direct`), but `skip`."""
        for key, value, answer in direct_rows(spec, name):
            if key not in skip:
                self.add(key, value, "", answer)

    def add(
        self,
        key: str,
        value: Any,
        comment: str = "",
        answer: str | None = None,
        opinion: bool = False,
    ) -> None:
        self.entries.append(Entry(key, value, comment, answer, opinion))


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
        _objective_group(spec),
        _batch_group(spec),
        _schedule_group(spec),
        _precision_group(spec),
        _direct_group(spec, "evaluation"),
        _output_group(spec),
        _direct_group(spec, "tracking and the Hub"),
        _speed_group(spec),
    ]
    if spec.defaults == "axolotl":
        groups = [_only_given(group, given_answers(spec)) for group in groups]
    groups = [g for g in groups if g.entries]
    if raw:
        _check_raw_keys(raw, groups)
        check_sharding_raw(spec, raw)
        groups.append(Group("raw Axolotl keys, passed through unchanged (axolotl: in the answers)"))
        for key, value in raw.items():
            groups[-1].add(key, value)
    return RenderedConfig(groups)


def given_answers(spec: RunSpec) -> set[str]:
    """The dotted answers that were given (not left to a default), e.g. `training.seed`."""
    given: set[str] = set()
    for name in spec.model_fields_set:
        value = getattr(spec, name)
        if isinstance(value, BaseModel):
            given |= {f"{name}.{field_name}" for field_name in value.model_fields_set}
        else:
            given.add(name)
    return given


def _only_given(group: Group, given: set[str]) -> Group:
    kept = [e for e in group.entries if not e.opinion and e.answer in given]
    return Group(group.title, kept)


def _model_group(spec: RunSpec, path_for: PathMapper) -> Group:
    group = Group("model")
    base = spec.model.base_model
    group.add("base_model", path_for(base) if is_local_path(base) else base, "",
              "model.base_model")  # fmt: skip
    if spec.model.trust_remote_code or spec.defaults == "axolotl":
        comment = "runs the model repository's own code" if spec.model.trust_remote_code else ""
        group.add("trust_remote_code", spec.model.trust_remote_code, comment,
                  "model.trust_remote_code")  # fmt: skip
    group.add_direct(spec, "model")
    return group


def _data_group(spec: RunSpec, path_for: PathMapper) -> Group:
    group = Group("data")
    training = spec.training
    entries = [dataset_entry(d, path_for, spec) for d in spec.datasets]
    group.add("datasets", entries, "", "datasets")
    prepared = spec.data.prepared_path
    group.add("dataset_prepared_path", prepared or "./prepared-data",
              "tokenized cache, reused by later runs", "data.prepared_path",
              opinion=prepared is None)  # fmt: skip
    group.add_direct(spec, "data")
    group.add("val_set_size", training.val_set_size, "", "training.val_set_size")
    group.add("sequence_len", training.sequence_len, "", "training.sequence_len")
    packing = spec.resolved_packing
    group.add("sample_packing", packing, _packing_comment(spec), "training.sample_packing",
              opinion=training.sample_packing is None)  # fmt: skip
    pad = training.pad_to_sequence_len
    if pad is not None or packing:
        group.add("pad_to_sequence_len", True if pad is None else pad,
                  "packed rows are always full length" if pad is None else "",
                  "training.pad_to_sequence_len", opinion=pad is None)  # fmt: skip
    eval_packing = training.eval_sample_packing
    if eval_packing is not None:
        group.add("eval_sample_packing", eval_packing, "", "training.eval_sample_packing")
    elif packing and training.val_set_size == 0:
        group.add("eval_sample_packing", False, "", "training.eval_sample_packing", opinion=True)
    return group


def _packing_comment(spec: RunSpec) -> str:
    """Why packing is off when nobody said (the recipe's reason), else nothing."""
    if spec.training.sample_packing is not None or spec.resolved_packing:
        return ""
    if spec.objective.kind != "sft":
        return f"the {spec.objective.kind.upper()} trainer reads unpacked rows"
    return "packing with SDPA in bf16 before Hopper risks a 0.0 loss (Axolotl)"


def _method_group(spec: RunSpec) -> Group:
    method = spec.method
    group = Group(f"method: {method.kind}")
    if not isinstance(method, AdapterMethod):
        _add_quantization(group, spec)
        return group
    group.add("adapter", method.kind, "", "method.kind")
    _add_quantization(group, spec)
    group.add("lora_r", method.r, "", "method.r")
    group.add("lora_alpha", method.alpha, "", "method.alpha")
    group.add("lora_dropout", method.dropout, "", "method.dropout")
    targets = method.target_modules
    if targets == ALL_LINEAR:
        group.add("lora_target_linear", True, "every linear layer of the blocks",
                  "method.target_modules")  # fmt: skip
    else:
        comment = "a regex over module paths" if isinstance(targets, str) else ""
        value = targets if isinstance(targets, str) else list(targets)
        group.add("lora_target_modules", value, comment, "method.target_modules")
    cpu = spec.hardware.accelerator == "cpu"
    if cpu:
        for key in LORA_KERNEL_KEYS:
            comment = "CUDA-only kernel" if key == LORA_KERNEL_KEYS[0] else ""
            # Not an opinion: a CPU run (an import told so with --set, too) fails with them on.
            group.add(key, False, comment, "hardware.accelerator")
    group.add_direct(spec, "method", skip=LORA_KERNEL_KEYS if cpu else ())
    return group


def _add_quantization(group: Group, spec: RunSpec) -> None:
    """How the base weights are stored: QLoRA's 4 bit, LoRA's optional 8 bit, and the flags an
    import spelled out as off."""
    method, imported = spec.method, spec.defaults == "axolotl"
    if method.kind == "qlora":
        group.add("load_in_4bit", True, "base weights in NF4; only the adapter trains",
                  "method.kind")  # fmt: skip
    for key, comment in (("load_in_8bit", "base weights in 8 bit"), ("load_in_4bit", "")):
        value = getattr(method, key, None)
        if value or (imported and value is False):
            group.add(key, value, comment if value else "", f"method.{key}")


def _objective_group(spec: RunSpec) -> Group:
    group = Group(f"objective: {spec.objective.kind}")
    for key, value, comment, answer in objective_entries(spec):
        group.add(key, value, comment, answer)
    return group


def _batch_group(spec: RunSpec) -> Group:
    training, hardware = spec.training, spec.hardware
    group = Group("batch")
    per = "process" if hardware.accelerator == "cpu" else "GPU"
    group.add("micro_batch_size", training.micro_batch_size,
              f"sequences per {per} per forward pass", "training.micro_batch_size")  # fmt: skip
    accumulation = spec.gradient_accumulation
    group.add(
        "gradient_accumulation_steps",
        accumulation,
        f"{training.micro_batch_size} × {accumulation} × {spec.training_processes} "
        f"{device_noun(spec)} = {effective_batch(spec)} sequences per optimizer step",
        "training.gradient_accumulation_steps",
    )
    checkpointing = training.gradient_checkpointing
    group.add("gradient_checkpointing", checkpointing, _CHECKPOINTING.get(checkpointing, ""),
              "training.gradient_checkpointing")  # fmt: skip
    if training.use_reentrant is not None:
        group.add("gradient_checkpointing_kwargs", {"use_reentrant": training.use_reentrant},
                  "", "training.use_reentrant")  # fmt: skip
    group.add_direct(spec, "batch")
    return group


def _schedule_group(spec: RunSpec) -> Group:
    training = spec.training
    group = Group("schedule")
    group.add("num_epochs", training.num_epochs, "", "training.num_epochs")
    if training.max_steps is not None:
        group.add("max_steps", training.max_steps, "stops here even if epochs remain",
                  "training.max_steps")  # fmt: skip
    given = spec.training.learning_rate is not None
    group.add("learning_rate", spec.learning_rate, "" if given else _recipe_comment(spec),
              "training.learning_rate", opinion=not given)  # fmt: skip
    group.add("lr_scheduler", training.lr_scheduler, "", "training.lr_scheduler")
    if training.warmup_steps is not None:
        group.add("warmup_steps", training.warmup_steps, "", "training.warmup_steps")
    elif spec.objective.kind == "simpo":
        group.add("warmup_steps", SIMPO_WARMUP_STEPS, "SimPO's trainer takes no warmup_ratio",
                  "training.warmup_steps", opinion=True)  # fmt: skip
    else:
        group.add("warmup_ratio", spec.warmup_ratio, "", "training.warmup_ratio",
                  opinion=training.warmup_ratio is None)  # fmt: skip
    group.add("optimizer", training.optimizer, "", "training.optimizer")
    group.add("weight_decay", training.weight_decay, "", "training.weight_decay")
    group.add_direct(spec, "schedule")
    return group


def _recipe_comment(spec: RunSpec) -> str:
    """`DPO with QLoRA: alignment-handbook …`: where a default learning rate comes from."""
    recipe = spec.recipe
    low, high = recipe.lr_range
    return f"{recipe.objective.upper()} with {spec.method.kind}: usual {low:g} to {high:g}"


def _precision_group(spec: RunSpec) -> Group:
    group = Group("precision and attention")
    cpu = spec.hardware.accelerator == "cpu"
    for key, value in _precision_flags(spec).items():
        group.add(key, value, "", "training.precision")
    tf32 = spec.training.tf32
    gpu_tf32 = not cpu and gpu_recipe(spec).tf32
    group.add("tf32", gpu_tf32 if tf32 is None else tf32, "", "training.tf32",
              opinion=tf32 is None)  # fmt: skip
    backend = attention_backend(spec)
    needs = "needs the flash-attn package" if backend in attention.NEED_FLASH_ATTN else ""
    group.add("attn_implementation", backend, needs, "training.attention",
              opinion=spec.training.attention is None)  # fmt: skip
    if spec.distributed.backend == "deepspeed":
        name = deepspeed_filename(spec)
        group.add("deepspeed", f"{DEEPSPEED_DIR}/{name}", "relative to this folder",
                  "distributed.backend")  # fmt: skip
    elif spec.distributed.backend == "fsdp":
        for key, value, comment, answer in fsdp_entries(spec):
            group.add(key, value, comment, answer)
    for key, value, comment in ray_entries(spec):
        group.add(key, value, comment, "distributed.launcher")
    return group


def _precision_flags(spec: RunSpec) -> dict[str, Any]:
    """bf16/fp16 as the run needs them. A wizard run writes both: left out, Axolotl picks fp16
    by itself, which crashes on a CPU. An import keeps `bf16: auto` (the GPU decides at start)
    and, with precision_flags=on, writes only the flag that is on, as its config did."""
    cpu = spec.hardware.accelerator == "cpu"
    if spec.defaults == "axolotl" and not cpu and spec.training.precision == "auto":
        return {"bf16": "auto"}
    precision = spec.resolved_precision
    flags = {"bf16": precision == "bf16", "fp16": precision == "fp16"}
    if spec.training.precision_flags == "on":
        return {key: on for key, on in flags.items() if on}
    return flags


def _output_group(spec: RunSpec) -> Group:
    training = spec.training
    group = Group("output")
    group.add("output_dir", training.output_dir, "", "training.output_dir")
    group.add("seed", training.seed, "", "training.seed")
    group.add("logging_steps", training.logging_steps, "", "training.logging_steps")
    if training.saves_per_epoch is not None:
        group.add("saves_per_epoch", training.saves_per_epoch, "", "training.saves_per_epoch")
    elif not training.saves_by_steps:
        group.add("saves_per_epoch", 1, "", "training.saves_per_epoch", opinion=True)
    group.add_direct(spec, "output")
    return group


def _direct_group(spec: RunSpec, title: str) -> Group:
    group = Group(title)
    group.add_direct(spec, title)
    return group


def _speed_group(spec: RunSpec) -> Group:
    group = Group("speed-ups")
    if spec.plugins is not None:
        group.add("plugins", list(spec.plugins), "", "plugins")
    elif needed := spec.needed_plugins():
        # Tagged with the answer that needs it, so an import writes it with that answer.
        first = next(f"speed.{name}" for name, value in spec.speed if value)
        group.add("plugins", needed, "the speed-ups below need them", first)
    group.add_direct(spec, "speed-ups")
    return group


def _check_raw_keys(raw: Mapping[str, Any], groups: list[Group]) -> None:
    """A raw key may add to the config but not contradict an answer the wizard rendered."""
    rendered = {e.key: e for g in groups for e in g.entries}
    clash = [k for k in raw if k in rendered]
    if clash:
        answer = rendered[clash[0]].answer
        change = f"set the answer {answer} instead (--set {answer}=VALUE)" if answer else (
            "change the answer it comes from instead")  # fmt: skip
        raise WizardError(
            f"raw Axolotl key {clash[0]!r} is also set from the answers",
            f"{change}, and remove axolotl.{clash[0]}",
        )


def device_noun(spec: RunSpec) -> str:
    return batch.device_noun(spec.training_processes, spec.hardware.accelerator == "cpu")


def effective_batch(spec: RunSpec) -> int:
    micro, world = spec.training.micro_batch_size, spec.training_processes
    return batch.sequences_per_step(micro, spec.gradient_accumulation, world)
