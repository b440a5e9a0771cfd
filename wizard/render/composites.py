"""The composite entries of the key table (`render.key_table`): the keys an answer does not
write as they are - the datasets, the adapter and its quantization, the precision flags, the
attention backend, the sharding keys, the objective's trainer settings, auto-fit's batch keys.
Each writer adds its entries to the group the table places it in (pure: no IO)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wizard.axolotl import attention, batch
from wizard.axolotl import keys as K
from wizard.axolotl.paths import PathMapper, is_local_path
from wizard.render.dataset_entry import dataset_entry
from wizard.render.deepspeed_config import DEEPSPEED_DIR, deepspeed_path
from wizard.render.fsdp_config import fsdp_entries
from wizard.render.objective_config import grpo_entries, rl_entries
from wizard.render.ray_keys import ray_entries
from wizard.render.rendered import Group
from wizard.runspec import ALL_LINEAR, AdapterMethod, RunSpec
from wizard.runspec.recipe_choices import attention_backend, gpu_recipe

SIMPO_WARMUP_STEPS = 10
_CHECKPOINTING = {
    True: "recompute activations: less memory",
    "offload": "recompute, with the checkpoints in CPU RAM",
    "offload_disk": "recompute, with the checkpoints on disk",
}
# Axolotl 0.19 switches these LoRA kernels on by itself when it can; they are CUDA-only.
LORA_KERNEL_KEYS = (K.LORA_MLP_KERNEL, K.LORA_QKV_KERNEL, K.LORA_O_KERNEL, K.LORA_EMBEDDING_KERNEL)
Writer = Callable[[RunSpec, Group, PathMapper], None]


def _base_model(spec: RunSpec, group: Group, path_for: PathMapper) -> None:
    group.add(K.BASE_MODEL, _local(spec.model.base_model, path_for), "", "model.base_model")


def _base_model_config(spec: RunSpec, group: Group, path_for: PathMapper) -> None:
    where = spec.model.base_model_config
    if where is not None:
        group.add(K.BASE_MODEL_CONFIG, _local(where, path_for), "", "model.base_model_config")


def _local(model: str, path_for: PathMapper) -> str:
    """A model's local folder as the run reads it; a Hub id as it is."""
    return path_for(model) if is_local_path(model) else model


def _datasets(spec: RunSpec, group: Group, path_for: PathMapper) -> None:
    if spec.datasets:  # none only in a pretraining run, whose config has no `datasets:`
        entries = [dataset_entry(d, path_for, spec) for d in spec.datasets]
        group.add(K.DATASETS, entries, "", "datasets")


def _other_datasets(answer: str, key: str) -> Writer:
    """The writer of a list of dataset answers other than `datasets`, written the same way."""

    def write(spec: RunSpec, group: Group, path_for: PathMapper) -> None:
        datasets = getattr(spec, answer)
        if datasets is not None:
            group.add(key, [dataset_entry(d, path_for, spec) for d in datasets], "", answer)

    return write


def _sample_packing(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    given = spec.training.sample_packing
    group.add(K.SAMPLE_PACKING, spec.resolved_packing, _packing_comment(spec),
              "training.sample_packing", opinion=given is None)  # fmt: skip


def _packing_comment(spec: RunSpec) -> str:
    """Why packing is off when nobody said (the recipe's reason), else nothing."""
    if spec.training.sample_packing is not None or spec.resolved_packing:
        return ""
    if spec.objective.kind != "sft":
        return f"the {spec.objective.kind.upper()} trainer reads unpacked rows"
    return "packing with SDPA in bf16 before Hopper risks a 0.0 loss (Axolotl)"


def _pad_to_sequence_len(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    pad = spec.training.pad_to_sequence_len
    if pad is not None or spec.resolved_packing:
        group.add(K.PAD_TO_SEQUENCE_LEN, True if pad is None else pad,
                  "packed rows are always full length" if pad is None else "",
                  "training.pad_to_sequence_len", opinion=pad is None)  # fmt: skip


def _eval_sample_packing(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    training = spec.training
    if training.eval_sample_packing is not None:
        group.add(K.EVAL_SAMPLE_PACKING, training.eval_sample_packing, "",
                  "training.eval_sample_packing")  # fmt: skip
    elif spec.resolved_packing and training.val_set_size == 0:
        group.add(K.EVAL_SAMPLE_PACKING, False, "", "training.eval_sample_packing",
                  opinion=True)  # fmt: skip


def _adapter(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    """The adapter, and how the base weights are stored: QLoRA's 4 bit, LoRA's optional 8 bit,
    and the flags an import spelled out as off."""
    method, imported = spec.method, spec.policy.imported
    if isinstance(method, AdapterMethod):
        group.add(K.ADAPTER, method.kind, "", "method.kind")
    if method.kind == "qlora":
        group.add(K.LOAD_IN_4BIT, True, "base weights in NF4; only the adapter trains",
                  "method.kind")  # fmt: skip
    for key, comment in ((K.LOAD_IN_8BIT, "base weights in 8 bit"), (K.LOAD_IN_4BIT, "")):
        value = getattr(method, key, None)
        if value or (imported and value is False):
            group.add(key, value, comment if value else "", f"method.{key}")


def _lora_targets(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    method = spec.method
    if not isinstance(method, AdapterMethod):
        return
    targets = method.target_modules
    if targets == ALL_LINEAR:
        group.add(K.LORA_TARGET_LINEAR, True, "every linear layer of the blocks",
                  "method.target_modules")  # fmt: skip
        return
    comment = "a regex over module paths" if isinstance(targets, str) else ""
    value = targets if isinstance(targets, str) else list(targets)
    group.add(K.LORA_TARGET_MODULES, value, comment, "method.target_modules")


def _cpu_lora_kernels(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    if not isinstance(spec.method, AdapterMethod) or spec.hardware.accelerator != "cpu":
        return
    for key in LORA_KERNEL_KEYS:
        comment = "CUDA-only kernel" if key == LORA_KERNEL_KEYS[0] else ""
        # Not an opinion: a CPU run (an import told so with --set, too) fails with them on.
        group.add(key, False, comment, "hardware.accelerator")


def _rl(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    for key, value, comment, answer in rl_entries(spec):
        group.add(key, value, comment, answer)


def _kto_columns(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    if spec.objective.kind == "kto" and spec.data.remove_unused_columns is None:
        group.add(K.REMOVE_UNUSED_COLUMNS, False, "KTO's trainer reads columns of its own",
                  "objective.kind")  # fmt: skip


def _grpo(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    for key, value, comment, answer in grpo_entries(spec):
        group.add(key, value, comment, answer)


def _micro_batch(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    per = "process" if spec.hardware.accelerator == "cpu" else "GPU"
    group.add(K.MICRO_BATCH_SIZE, spec.training.micro_batch_size,
              f"sequences per {per} per forward pass", "training.micro_batch_size")  # fmt: skip


def _accumulation(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    micro, accumulation = spec.training.micro_batch_size, spec.gradient_accumulation
    comment = (f"{micro} × {accumulation} × {ranks_text(spec)} = "
               f"{effective_batch(spec)} sequences per optimizer step")  # fmt: skip
    group.add(K.GRADIENT_ACCUMULATION_STEPS, accumulation, comment,
              "training.gradient_accumulation_steps")  # fmt: skip


def _checkpointing(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    training = spec.training
    group.add(K.GRADIENT_CHECKPOINTING, training.gradient_checkpointing,
              _CHECKPOINTING.get(training.gradient_checkpointing, ""),
              "training.gradient_checkpointing")  # fmt: skip
    if training.use_reentrant is not None:
        group.add(K.GRADIENT_CHECKPOINTING_KWARGS, {"use_reentrant": training.use_reentrant},
                  "", "training.use_reentrant")  # fmt: skip


def _learning_rate(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    given = spec.training.learning_rate is not None
    recipe = spec.recipe
    low, high = recipe.lr_range
    usual = f"{recipe.objective.upper()} with {spec.method.kind}: usual {low:g} to {high:g}"
    comment = "" if given else usual
    group.add(K.LEARNING_RATE, spec.learning_rate, comment, "training.learning_rate",
              opinion=not given)  # fmt: skip


def _warmup(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    training = spec.training
    if training.warmup_steps is not None:
        group.add(K.WARMUP_STEPS, training.warmup_steps, "", "training.warmup_steps")
    elif spec.objective.kind == "simpo" and training.warmup_ratio is None:
        # A ratio given for SimPO is written as given: `check`'s simpo-warmup refuses it.
        group.add(K.WARMUP_STEPS, SIMPO_WARMUP_STEPS, "SimPO's trainer takes no warmup_ratio",
                  "training.warmup_steps", opinion=True)  # fmt: skip
    else:
        group.add(K.WARMUP_RATIO, spec.warmup_ratio, "", "training.warmup_ratio",
                  opinion=training.warmup_ratio is None)  # fmt: skip


def _precision(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    for key, value in precision_flags(spec).items():
        group.add(key, value, "", "training.precision")


def precision_flags(spec: RunSpec) -> dict[str, Any]:
    """bf16/fp16 as the run needs them. A wizard run writes both: left out, Axolotl picks fp16
    by itself, which crashes on a CPU. An import keeps `bf16: auto` (the GPU decides at start)
    and, with precision_flags=on, writes only the flag that is on, as its config did (with
    `both`, `bf16: auto` comes with `fp16: false`: no fp16 where the GPU has no bf16)."""
    cpu = spec.hardware.accelerator == "cpu"
    if spec.policy.imported and not cpu and spec.training.precision == "auto":
        auto: dict[str, Any] = {K.BF16: "auto"}
        return auto if spec.training.precision_flags == "on" else {**auto, K.FP16: False}
    precision = spec.resolved_precision
    flags = {K.BF16: precision == "bf16", K.FP16: precision == "fp16"}
    if spec.training.precision_flags == "on":
        return {key: on for key, on in flags.items() if on}
    return flags


def _tf32(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    tf32 = spec.training.tf32
    gpu_tf32 = spec.hardware.accelerator != "cpu" and gpu_recipe(spec).tf32
    group.add(K.TF32, gpu_tf32 if tf32 is None else tf32, "", "training.tf32",
              opinion=tf32 is None)  # fmt: skip


def _attention(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    backend = attention_backend(spec)
    needs = "needs the flash-attn package" if backend in attention.NEED_FLASH_ATTN else ""
    group.add(K.ATTN_IMPLEMENTATION, backend, needs, "training.attention",
              opinion=spec.training.attention is None)  # fmt: skip


def _deepspeed(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    if spec.distributed.backend != "deepspeed":
        return
    given = spec.distributed.deepspeed_config
    if given is None:
        group.add(K.DEEPSPEED, deepspeed_path(spec), "relative to this folder",
                  "distributed.backend")  # fmt: skip
    else:
        own = given.startswith(f"{DEEPSPEED_DIR}/")
        comment = "carried as it is" if own else f"Axolotl's own {given}"
        group.add(K.DEEPSPEED, deepspeed_path(spec), comment, "distributed.deepspeed_config")


def _fsdp(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    if spec.distributed.backend == "fsdp":
        for key, value, comment, answer in fsdp_entries(spec):
            group.add(key, value, comment, answer)


def _ray(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    for key, value, comment in ray_entries(spec):
        group.add(key, value, comment, "distributed.launcher")


def _saves_per_epoch(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    training = spec.training
    if training.saves_per_epoch is not None:
        group.add(K.SAVES_PER_EPOCH, training.saves_per_epoch, "", "training.saves_per_epoch")
    elif not training.saves_by_steps:
        group.add(K.SAVES_PER_EPOCH, 1, "", "training.saves_per_epoch", opinion=True)


def _plugins(spec: RunSpec, group: Group, _path_for: PathMapper) -> None:
    if spec.plugins is not None:
        group.add(K.PLUGINS, list(spec.plugins), "", "plugins")
    elif needed := spec.needed_plugins():
        # Tagged with the answer that needs it, so an import writes it with that answer.
        first = next(f"speed.{name}" for name, value in spec.speed if value)
        group.add(K.PLUGINS, needed, "the speed-ups below need them", first)


def ranks_text(spec: RunSpec) -> str:
    """`8 GPUs`, or the data-parallel ranks they make under context or tensor parallelism."""
    cpu = spec.hardware.accelerator == "cpu"
    return batch.ranks_text(spec.training_processes, cpu, *spec.parallel_splits)


def effective_batch(spec: RunSpec) -> int:
    return spec.training.micro_batch_size * spec.gradient_accumulation * spec.data_parallel_ranks


# The composite rows' writers, by the row's (answer, key); None: written with another row's.
WRITERS: dict[tuple[str, str], Writer | None] = {
    ("model.base_model", K.BASE_MODEL): _base_model,
    ("model.base_model_config", K.BASE_MODEL_CONFIG): _base_model_config,
    ("datasets", K.DATASETS): _datasets,
    ("test_datasets", K.TEST_DATASETS): _other_datasets("test_datasets", K.TEST_DATASETS),
    ("pretraining_dataset", K.PRETRAINING_DATASET): _other_datasets(
        "pretraining_dataset", K.PRETRAINING_DATASET
    ),
    ("training.sample_packing", K.SAMPLE_PACKING): _sample_packing,
    ("training.pad_to_sequence_len", K.PAD_TO_SEQUENCE_LEN): _pad_to_sequence_len,
    ("training.eval_sample_packing", K.EVAL_SAMPLE_PACKING): _eval_sample_packing,
    ("method.kind", K.ADAPTER): _adapter,
    ("method.kind", K.LOAD_IN_4BIT): None,
    ("method.load_in_8bit", K.LOAD_IN_8BIT): None,
    ("method.load_in_4bit", K.LOAD_IN_4BIT): None,
    ("method.target_modules", K.LORA_TARGET_LINEAR): _lora_targets,
    ("method.target_modules", K.LORA_TARGET_MODULES): None,
    ("hardware.accelerator", K.LORA_MLP_KERNEL): _cpu_lora_kernels,
    ("objective.kind", K.RL): _rl,
    ("objective.kind", K.DPO_LOSS_TYPE): None,
    ("objective.kind", K.REMOVE_UNUSED_COLUMNS): _kto_columns,
    ("objective.num_generations", K.TRL): _grpo,
    ("objective.vllm_gpus", K.VLLM): None,
    ("objective.vllm_memory_share", K.VLLM): None,
    ("training.micro_batch_size", K.MICRO_BATCH_SIZE): _micro_batch,
    ("training.gradient_accumulation_steps", K.GRADIENT_ACCUMULATION_STEPS): _accumulation,
    ("training.gradient_checkpointing", K.GRADIENT_CHECKPOINTING): _checkpointing,
    ("training.use_reentrant", K.GRADIENT_CHECKPOINTING_KWARGS): None,
    ("training.learning_rate", K.LEARNING_RATE): _learning_rate,
    ("training.warmup_ratio", K.WARMUP_RATIO): _warmup,
    ("training.warmup_steps", K.WARMUP_STEPS): None,
    ("training.precision", K.BF16): _precision,
    ("training.precision", K.FP16): None,
    ("training.tf32", K.TF32): _tf32,
    ("training.attention", K.ATTN_IMPLEMENTATION): _attention,
    ("distributed.backend", K.DEEPSPEED): _deepspeed,
    ("distributed.deepspeed_config", K.DEEPSPEED): None,
    ("distributed.fsdp_version", K.FSDP_VERSION): _fsdp,
    ("distributed.fsdp_options", K.FSDP): None,
    ("distributed.backend", K.FSDP_CONFIG): None,
    ("distributed.offload_params", K.FSDP_CONFIG): None,
    ("distributed.fsdp", K.FSDP_CONFIG): None,
    ("distributed.launcher", K.USE_RAY): _ray,
    ("training.saves_per_epoch", K.SAVES_PER_EPOCH): _saves_per_epoch,
    ("plugins", K.PLUGINS): _plugins,
}
