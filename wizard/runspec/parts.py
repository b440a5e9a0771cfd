"""The answer sections other than training and sharding: the model, the data, the method,
tracking, the Hub and the speed-ups. Field names follow Axolotl's keys where an answer
is one key, so a user who knows Axolotl knows the answer."""

# No `from __future__ import annotations` here: Pydantic would compile and evaluate the text
# of each field's annotation as it builds the models, 1.5% of `new --yes`.
import re
from typing import Annotated, Any, Final, Literal

from pydantic import ConfigDict, Field, model_validator

from wizard.runspec.base import (
    NOT_EMPTY,
    AnswerConflict,
    AxolotlChoices,
    Range,
    Real,
    StrictModel,
    axolotl_name,
)

ALL_LINEAR: Final = "all-linear"
_FALLBACK = "tokenizer_default_fallback_"


def _tokenizer_fallback(value: str) -> bool:
    # Axolotl's one pattern beside its names: the tokenizer's template, else the one named.
    return value.startswith(_FALLBACK)


ChatTemplateName = Annotated[str, AxolotlChoices("chat_template", also=_tokenizer_fallback)]


class ModelSpec(StrictModel):
    base_model: Annotated[str, NOT_EMPTY]
    """Hugging Face Hub id (org/name) or a local folder that holds config.json"""
    trust_remote_code: bool = False
    """run the model repository's own Python code (only if you trust it)"""
    model_type: str | None = None
    """transformers class that loads it"""
    tokenizer_type: str | None = None
    """transformers tokenizer class"""
    processor_type: str | None = None
    """vision models: the transformers processor class"""
    revision_of_model: str | None = None
    """the Hub revision to load"""
    tokenizer_use_mistral_common: bool | None = None
    config_overrides: dict[str, Any] | None = None
    """overrides of the model's config.json (Axolotl's model_config)"""
    low_cpu_mem_usage: bool | None = None
    llama4_linearized_experts: bool | None = None
    resize_token_embeddings_to_32x: bool | None = None
    base_model_config: Annotated[str | None, NOT_EMPTY] = None
    """where the model's config.json is, when base_model has none (a Hub id or a local folder);
    none: base_model"""
    tokenizer_use_fast: bool | None = None
    tokenizer_legacy: bool | None = None
    # Axolotl sets these from the model's type and name; a config's `true` forces them.
    is_llama_derived_model: bool | None = None
    """true: Axolotl's Llama-only patches, whatever the model's type"""
    is_mistral_derived_model: bool | None = None
    """true: padded on the left under flash attention without packing, as Mistral needs, whatever
    the model's type"""
    gptq: bool | None = None
    device_map: str | None = None
    """transformers' device_map (auto, sequential) for a run on one process; Axolotl replaces it
    with the process's own GPU when there are several"""
    experimental_skip_move_to_device: bool | None = None
    num_labels: Annotated[int | None, Range(ge=1, le=1_000_000)] = None
    """labels of a classification head"""
    process_reward_model: bool | None = None
    """a process reward model: a label per step of stepwise_supervised data, with a token
    classification head (model_type, num_labels)"""


class SpecialTokens(StrictModel):
    bos_token: str | None = None
    eos_token: str | None = None
    pad_token: str | None = None
    unk_token: str | None = None
    additional_special_tokens: list[str] | None = None


class DataSpec(StrictModel):
    """How every dataset is tokenized: the chat template and the tokens the tokenizer gets."""

    chat_template: ChatTemplateName | None = None
    """Axolotl's chat template name; tokenizer_default uses the model's"""
    chat_template_jinja: str | None = None
    """a Jinja template (or a .jinja file) with chat_template=jinja"""
    special_tokens: SpecialTokens | None = None
    tokens: list[str] | None = None
    """tokens added to the tokenizer"""
    eot_tokens: list[str] | None = None
    """end-of-turn tokens"""
    train_on_inputs: bool | None = None
    """train on the prompts too"""
    prepared_path: Annotated[str | None, NOT_EMPTY] = None
    """tokenized cache; none: ./prepared-data"""
    skip_prepare_dataset: bool | None = None
    remove_unused_columns: bool | None = None
    shuffle_merged_datasets: bool | None = None
    streaming: bool | None = None
    """stream the datasets; none: on for a pretraining_dataset run"""
    dataset_num_proc: Annotated[int | None, Range(ge=1)] = None
    """processes that tokenize the data; none: Axolotl's choice"""

    @model_validator(mode="after")
    def _jinja_needs_its_template(self) -> "DataSpec":
        if self.chat_template_jinja is not None and self.chat_template not in (None, "jinja"):
            raise AnswerConflict(
                f"chat_template_jinja is only read with chat_template=jinja, not "
                f"{self.chat_template}; set data.chat_template=jinja",
                "chat_template",
                "chat_template_jinja",
            )
        return self


# An Axolotl quantization flag an imported config spells out as off (its default).
Off = Literal[False]


class FullMethod(StrictModel):
    kind: Literal["full"] = "full"
    load_in_8bit: Off | None = None
    load_in_4bit: Off | None = None
    unfrozen_parameters: list[str] | None = None
    """regexes of the parameters that train; the rest is frozen"""


class AdapterMethod(StrictModel):
    """What LoRA and QLoRA share; QLoRA also loads the base weights in 4 bit."""

    # Only a base: answers validate as LoraMethod or QLoraMethod, never as this class, so Pydantic
    # need not build its validator (5 M instructions of `new --yes`); they build their own.
    model_config = ConfigDict(defer_build=True)

    kind: Literal["lora", "qlora"]
    r: Annotated[int, Range(ge=1, le=1024)] = 16
    """LoRA rank"""
    alpha: Annotated[int, Range(ge=1, le=65536)] = 32
    """LoRA scaling numerator (often 2 × rank)"""
    dropout: Annotated[Real, Range(ge=0.0, lt=1.0)] = 0.05
    target_modules: list[str] | str = ALL_LINEAR
    """all-linear, a list such as [q_proj, v_proj], or a regex of module paths"""
    target_linear: bool | None = None
    """with a target_modules list: every linear layer as well"""
    rslora: bool | None = None
    """rank-stabilized LoRA scaling"""
    fan_in_fan_out: bool | None = None
    quantize_moe_experts: bool | None = None
    """MoE experts quantized on load (with 4- or 8-bit bases)"""
    modules_to_save: list[str] | None = None
    """modules trained in full beside the adapter (embed_tokens, …)"""
    lora_on_cpu: bool | None = None
    # Axolotl's fused LoRA kernels (CUDA only); none: Axolotl decides.
    mlp_kernel: bool | None = None
    qkv_kernel: bool | None = None
    o_kernel: bool | None = None
    embedding_kernel: bool | None = None

    @model_validator(mode="after")
    def _targets_not_empty(self) -> "AdapterMethod":
        targets = self.target_modules
        if targets == ALL_LINEAR and self.target_linear is not None:
            raise AnswerConflict(
                "target_linear only adds to a target_modules list; all-linear already takes "
                "every linear layer",
                "target_linear",
                "target_modules",
            )
        if isinstance(targets, list) and not targets:
            raise AnswerConflict(
                "target_modules is an empty list; name modules or use all-linear", "target_modules"
            )
        if isinstance(targets, str) and targets != ALL_LINEAR:
            try:  # peft matches a text target as a regex over the full module names
                re.compile(targets)
            except re.error as err:
                raise AnswerConflict(
                    f"target_modules {targets!r} is not all-linear and not a valid regex ({err})",
                    "target_modules",
                ) from None
        return self


class LoraMethod(AdapterMethod):
    model_config = ConfigDict(defer_build=False)
    kind: Literal["lora"] = "lora"
    load_in_8bit: bool | None = None
    """base weights in 8 bit (LLM.int8); none: 16 bit"""
    load_in_4bit: bool | None = None
    """lora: weights already quantized (a GPTQ model) prepared for k-bit training; Axolotl
    quantizes nothing itself (that is qlora)"""


class QLoraMethod(AdapterMethod):
    model_config = ConfigDict(defer_build=False)
    kind: Literal["qlora"] = "qlora"
    load_in_8bit: Off | None = None


Method = Annotated[FullMethod | LoraMethod | QLoraMethod, Field(discriminator="kind")]
# The methods by kind: the one list every part of the wizard takes them from.
METHODS: Final[dict[str, type[StrictModel]]] = {
    "full": FullMethod,
    "lora": LoraMethod,
    "qlora": QLoraMethod,
}
MethodKind = Literal["full", "lora", "qlora"]
DEFAULT_METHOD: Final = "lora"  # what a run trains with when nobody says


class TrackingSpec(StrictModel):
    """Where the run reports; names only: the API keys stay in the environment."""

    wandb_project: str | None = None
    """W&B project (WANDB_API_KEY)"""
    wandb_entity: str | None = None
    """W&B team or user"""
    wandb_name: str | None = None
    """W&B run name"""
    wandb_mode: str | None = None
    """online, offline or disabled"""
    wandb_watch: str | None = None
    wandb_log_model: str | None = None
    """checkpoint or end"""
    wandb_run_id: str | None = None
    use_wandb: bool | None = None
    mlflow_tracking_uri: str | None = None
    mlflow_experiment_name: str | None = None
    mlflow_run_name: str | None = None
    use_mlflow: bool | None = None
    comet_workspace: str | None = None
    comet_project_name: str | None = None
    """Comet (COMET_API_KEY)"""
    comet_mode: str | None = None
    use_comet: bool | None = None
    use_tensorboard: bool | None = None
    """TensorBoard logs under output_dir/runs"""


class HubSpec(StrictModel):
    """Pushing to the Hugging Face Hub (HF_TOKEN from the environment)."""

    model_id: str | None = None
    """org/name to push to"""
    strategy: axolotl_name("hub_strategy") | None = None  # type: ignore[valid-type]
    """what is pushed: end, every_save, checkpoint, all_checkpoints"""
    revision: str | None = None
    """the branch pushed to"""
    push_dataset_to_hub: str | None = None
    """org/name of the data"""


class SpeedSpec(StrictModel):
    """Kernels and compilers that change speed and memory, not what is learned."""

    liger_rms_norm: bool | None = None
    liger_glu_activation: bool | None = None
    liger_layer_norm: bool | None = None
    liger_rope: bool | None = None
    liger_fused_linear_cross_entropy: bool | None = None
    liger_cross_entropy: bool | None = None
    liger_rms_norm_gated: bool | None = None
    cut_cross_entropy: bool | None = None
    """chunked loss, no logits"""
    torch_compile: bool | Literal["auto"] | None = None
    use_kernels: bool | None = None
