"""The one table of answer <-> Axolotl key rows, read both ways.

Rendering walks it group by group, in order, to write the config; an import reads it backwards
(`importer.proposals`) to learn which answer a key could be; a finding of `check` about a key
is mapped back to the answers that write it (`answers_of_key`), so the interview asks again the
right question. A row whose value crosses as it is ("same") is written from here; a composite
row (datasets, precision flags, the sharding keys, the objective's trainer settings, ...) is
written by the renderer's function of that name, and imported by the importer's own reader, but
it is declared here too, so the table lists every relation between an answer and a key.

An answer left unset (None) writes nothing: Axolotl's own default then holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal

from pydantic import BaseModel

from wizard.axolotl import keys as K
from wizard.axolotl.schema import load_schema
from wizard.records import Record
from wizard.runspec import RunSpec, SpeedSpec, TrackingSpec

Crossing = Literal["same", "composite"]
SpecText = Callable[[RunSpec], str]
SpecTest = Callable[[RunSpec], bool]


class Row(Record):
    """`answer` is written as `key` in the config's `group`. A "same" row writes the answer's
    value (or `value(spec)`, when the run resolves it: a recipe's default, an opinion); a
    "composite" row is written by the renderer's function of the same answer."""

    answer: str
    key: str
    group: str
    crossing: Crossing = "same"
    value: Callable[[RunSpec], Any] | None = None
    comment: str | SpecText = ""
    # The wizard's own choice here (not an answer): never written for an imported config.
    opinion: SpecTest | None = None
    # Written only when this holds (and its value is not None).
    when: SpecTest | None = None
    # An import reads the key's value back as the answer's, as it is (else the importer's own
    # reader for it: the datasets, the precision flags, the sharding keys...).
    back: bool = True
    # The answer came after raw keys carried it: a raw key of this name in a preset, an answers
    # file or --set is read as the answer. (A raw key of an answer the wizard always had is
    # refused instead: it would contradict the answer.)
    promoted: bool = False

    def value_of(self, spec: RunSpec) -> Any:
        return self.value(spec) if self.value is not None else answer_value(spec, self.answer)

    def comment_of(self, spec: RunSpec) -> str:
        return self.comment(spec) if callable(self.comment) else self.comment


def answer_value(spec: RunSpec, answer: str) -> Any:
    """The value of a dotted answer (`training.max_grad_norm`); None where the method or the
    objective has no such field. A nested answer (special tokens) is its given keys."""
    value: Any = spec
    for name in answer.split("."):
        value = getattr(value, name, None)
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_none=True)
    return value


def _same(group: str, section: str, names: str, promoted: bool = True) -> tuple[Row, ...]:
    """Answers called as their Axolotl key, in one section."""
    return tuple(Row(f"{section}.{name}", name, group, promoted=promoted) for name in names.split())


def _promoted(answer: str, key: str, group: str) -> Row:
    return Row(answer, key, group, promoted=True)


def _composite(group: str, *pairs: tuple[str, str], back: bool = False) -> tuple[Row, ...]:
    return tuple(Row(answer, key, group, "composite", back=back) for answer, key in pairs)


def _not_cpu(spec: RunSpec) -> bool:
    return spec.hardware.accelerator != "cpu"


def _given(answer: str) -> SpecTest:
    """An opinion: the answer was left unset, so the wizard chose."""
    section, name = answer.split(".")
    return lambda spec: getattr(getattr(spec, section), name) is None


PAIRED = ("dpo", "ipo", "simpo", "kto")
_MODEL: Final = (
    *_composite("model", ("model.base_model", K.BASE_MODEL)),
    *_composite("model", ("model.base_model_config", K.BASE_MODEL_CONFIG), back=True),
    Row("model.trust_remote_code", K.TRUST_REMOTE_CODE, "model",
        comment=lambda s: "runs the model repository's own code" if s.model.trust_remote_code
        else "", when=lambda s: s.model.trust_remote_code or s.policy.imported),
    *_same("model", "model", "model_type tokenizer_type processor_type revision_of_model "
           "tokenizer_use_mistral_common low_cpu_mem_usage llama4_linearized_experts "
           "resize_token_embeddings_to_32x tokenizer_use_fast tokenizer_legacy "
           "is_llama_derived_model is_mistral_derived_model gptq device_map "
           "experimental_skip_move_to_device num_labels process_reward_model"),
    _promoted("model.config_overrides", K.MODEL_CONFIG, "model"),
)  # fmt: skip
_DATA: Final = (
    *_composite("data", ("datasets", K.DATASETS), ("test_datasets", K.TEST_DATASETS),
                ("pretraining_dataset", K.PRETRAINING_DATASET)),
    Row("data.prepared_path", K.DATASET_PREPARED_PATH, "data",
        value=lambda s: s.data.prepared_path or "./prepared-data",
        comment="tokenized cache, reused by later runs", opinion=_given("data.prepared_path")),
    Row("data.streaming", K.STREAMING, "data",
        value=lambda s: s.data.streaming if s.data.streaming is not None else True,
        comment=lambda s: "" if s.data.streaming is not None else "a pretraining dataset "
        "streams; Axolotl will stop switching it on by itself",
        opinion=_given("data.streaming"),
        when=lambda s: s.data.streaming is not None or bool(s.pretraining_dataset)),
    *_same("data", "data", "chat_template chat_template_jinja special_tokens tokens eot_tokens "
           "train_on_inputs skip_prepare_dataset remove_unused_columns shuffle_merged_datasets "
           "dataset_num_proc"),
    *_same("data", "training", "val_set_size sequence_len", promoted=False),
    *_composite("data", ("training.sample_packing", K.SAMPLE_PACKING),
                ("training.pad_to_sequence_len", K.PAD_TO_SEQUENCE_LEN),
                ("training.eval_sample_packing", K.EVAL_SAMPLE_PACKING), back=True),
    *_same("data", "training", "sample_packing_group_size sample_packing_bin_size"),
)  # fmt: skip
_METHOD: Final = (
    *_composite("method", ("method.kind", K.ADAPTER), ("method.kind", K.LOAD_IN_4BIT)),
    *_composite("method", ("method.load_in_8bit", K.LOAD_IN_8BIT),
                ("method.load_in_4bit", K.LOAD_IN_4BIT), back=True),
    Row("method.r", K.LORA_R, "method"),
    Row("method.alpha", K.LORA_ALPHA, "method"),
    Row("method.dropout", K.LORA_DROPOUT, "method"),
    *_composite("method", ("method.target_modules", K.LORA_TARGET_LINEAR)),
    *_composite("method", ("method.target_modules", K.LORA_TARGET_MODULES), back=True),
    # A CPU run writes the CUDA-only LoRA kernels off, whatever else says.
    *_composite("method", ("hardware.accelerator", K.LORA_MLP_KERNEL)),
    _promoted("method.target_linear", K.LORA_TARGET_LINEAR, "method"),
    _promoted("method.rslora", K.PEFT_USE_RSLORA, "method"),
    _promoted("method.fan_in_fan_out", K.LORA_FAN_IN_FAN_OUT, "method"),
    _promoted("method.quantize_moe_experts", K.QUANTIZE_MOE_EXPERTS, "method"),
    _promoted("method.unfrozen_parameters", K.UNFROZEN_PARAMETERS, "method"),
    _promoted("method.modules_to_save", K.LORA_MODULES_TO_SAVE, "method"),
    _promoted("method.lora_on_cpu", K.LORA_ON_CPU, "method"),
    Row("method.mlp_kernel", K.LORA_MLP_KERNEL, "method", when=_not_cpu,
        promoted=True),
    Row("method.qkv_kernel", K.LORA_QKV_KERNEL, "method", when=_not_cpu,
        promoted=True),
    Row("method.o_kernel", K.LORA_O_KERNEL, "method", when=_not_cpu,
        promoted=True),
    Row("method.embedding_kernel", K.LORA_EMBEDDING_KERNEL, "method", when=_not_cpu,
        promoted=True),
)  # fmt: skip
_OBJECTIVE: Final = (
    *_composite("objective", ("objective.kind", K.RL), back=True),
    *_composite("objective", ("objective.kind", K.DPO_LOSS_TYPE)),
    Row("objective.beta", K.RL_BETA, "objective",
        when=lambda s: s.objective.kind in PAIRED),
    Row("objective.beta", K.ORPO_ALPHA, "objective", when=lambda s: s.objective.kind == "orpo"),
    Row("objective.rpo_alpha", K.RPO_ALPHA, "objective"),
    Row("objective.simpo_gamma", K.SIMPO_GAMMA, "objective"),
    Row("objective.cpo_alpha", K.CPO_ALPHA, "objective"),
    Row("objective.desirable_weight", K.KTO_DESIRABLE_WEIGHT, "objective"),
    Row("objective.undesirable_weight", K.KTO_UNDESIRABLE_WEIGHT, "objective"),
    Row("objective.precompute_ref_log_probs", K.PRECOMPUTE_REF_LOG_PROBS, "objective"),
    *_composite("objective", ("objective.kind", K.REMOVE_UNUSED_COLUMNS),
                ("objective.num_generations", K.TRL), ("objective.vllm_gpus", K.VLLM),
                ("objective.vllm_memory_share", K.VLLM)),
)  # fmt: skip
_BATCH: Final = (
    *_composite("batch", ("training.micro_batch_size", K.MICRO_BATCH_SIZE),
                ("training.gradient_accumulation_steps", K.GRADIENT_ACCUMULATION_STEPS),
                ("training.gradient_checkpointing", K.GRADIENT_CHECKPOINTING), back=True),
    *_composite("batch", ("training.use_reentrant", K.GRADIENT_CHECKPOINTING_KWARGS)),
    *_same("batch", "training", "eval_batch_size activation_offloading group_by_length"),
    *_same("batch", "training", "dataloader_num_workers dataloader_pin_memory "
           "dataloader_prefetch_factor"),
    *_same("batch", "distributed", "ddp_timeout ddp_find_unused_parameters"),
)  # fmt: skip
_SCHEDULE: Final = (
    Row("training.num_epochs", K.NUM_EPOCHS, "schedule"),
    Row("training.max_steps", K.MAX_STEPS, "schedule",
        comment="stops here even if epochs remain"),
    *_composite("schedule", ("training.learning_rate", K.LEARNING_RATE), back=True),
    Row("training.lr_scheduler", K.LR_SCHEDULER, "schedule"),
    # warmup_ratio before warmup_steps: an import tries them in this order (Axolotl takes one).
    *_composite("schedule", ("training.warmup_ratio", K.WARMUP_RATIO),
                ("training.warmup_steps", K.WARMUP_STEPS), back=True),
    Row("training.optimizer", K.OPTIMIZER, "schedule"),
    Row("training.weight_decay", K.WEIGHT_DECAY, "schedule"),
    *_same("schedule", "training", "cosine_min_lr_ratio cosine_constant_lr_ratio adam_beta1 "
           "adam_beta2 adam_epsilon max_grad_norm neftune_noise_alpha"),
)  # fmt: skip
_PRECISION: Final = (
    *_composite("precision and attention", ("training.precision", K.BF16),
                ("training.precision", K.FP16)),
    *_same("precision and attention", "training", "bfloat16 float16"),
    *_composite("precision and attention", ("training.tf32", K.TF32), back=True),
    *_composite("precision and attention", ("training.attention", K.ATTN_IMPLEMENTATION),
                ("distributed.backend", K.DEEPSPEED), ("distributed.deepspeed_config", K.DEEPSPEED),
                ("distributed.fsdp_version", K.FSDP_VERSION),
                ("distributed.fsdp_options", K.FSDP), ("distributed.backend", K.FSDP_CONFIG),
                ("distributed.offload_params", K.FSDP_CONFIG), ("distributed.fsdp", K.FSDP_CONFIG),
                ("distributed.launcher", K.USE_RAY)),
    *_same("precision and attention", "distributed", "dp_shard_size dp_replicate_size "
           "context_parallel_size tensor_parallel_size"),
)  # fmt: skip
_EVALUATION: Final = _same(
    "evaluation", "training", "evals_per_epoch eval_steps eval_strategy early_stopping_patience "
    "loss_watchdog_threshold loss_watchdog_patience eval_max_new_tokens load_best_model_at_end "
    "metric_for_best_model",
)  # fmt: skip
_OUTPUT: Final = (
    *_same("output", "training", "output_dir seed logging_steps", promoted=False),
    *_composite("output", ("training.saves_per_epoch", K.SAVES_PER_EPOCH), back=True),
    *_same("output", "training", "save_steps save_strategy save_total_limit save_only_model "
           "save_safetensors auto_resume_from_checkpoints strict"),
)  # fmt: skip
_TRACKING: Final = (
    *_same("tracking and the Hub", "tracking", " ".join(TrackingSpec.model_fields)),
    _promoted("hub.model_id", K.HUB_MODEL_ID, "tracking and the Hub"),
    _promoted("hub.strategy", K.HUB_STRATEGY, "tracking and the Hub"),
    _promoted("hub.revision", K.HUB_REVISION, "tracking and the Hub"),
    _promoted("hub.push_dataset_to_hub", K.PUSH_DATASET_TO_HUB, "tracking and the Hub"),
)


def _speed_row(name: str) -> Row:
    """A plugin's switch, written when on, or off with its plugin loaded: without the plugin
    Axolotl drops the key, so an `off` would only be noise (`check` reports it)."""

    def loaded_or_on(spec: RunSpec) -> bool:
        plugins = load_schema().plugin_for_key(name)
        return getattr(spec.speed, name) is True or bool(set(plugins) & set(spec.plugins or ()))

    return Row(f"speed.{name}", name, "speed-ups", when=loaded_or_on, promoted=True)


_SPEED: Final = (
    *_composite("speed-ups", ("plugins", K.PLUGINS), back=True),
    *(_speed_row(name) for name in SpeedSpec.model_fields),
)
# Every row, in the order the config is written.
ROWS: Final[tuple[Row, ...]] = (
    *_MODEL, *_DATA, *_METHOD, *_OBJECTIVE, *_BATCH, *_SCHEDULE, *_PRECISION, *_EVALUATION,
    *_OUTPUT, *_TRACKING, *_SPEED,
)  # fmt: skip
GROUPS: Final = tuple(dict.fromkeys(row.group for row in ROWS))


def rows_of(group: str) -> tuple[Row, ...]:
    return tuple(row for row in ROWS if row.group == group)


def answers_of_key(key: str) -> tuple[str, ...]:
    """The answers that write an Axolotl key (the way back from a finding about it)."""
    return tuple(dict.fromkeys(row.answer for row in ROWS if row.key == key))


def _same_value() -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for row in ROWS:
        if row.back and row.answer not in found.get(row.key, ()):
            found[row.key] = (*found.get(row.key, ()), row.answer)
    return found


# Axolotl key -> the answers its value is, as it is, in the order an import tries them.
SAME_VALUE: Final[dict[str, tuple[str, ...]]] = _same_value()
# A raw key whose answer writes it as it is: that answer (presets written before an answer
# existed carry it as a raw key; it is read as the answer).
ANSWER_OF_KEY: Final[dict[str, str]] = {row.key: row.answer for row in ROWS if row.promoted}
