"""A typed view of an Axolotl config: built once from the flat dict, read by every package.

How Axolotl reads its keys (a switch written `"yes"`, FSDP's version from three places, the
attention backend from `attn_implementation` or a legacy flag, the adapter and the bits of its
base weights, the `rl:` trainer and its settings) is written here once. Estimate, lint, launch
and the importer ask this view; none of them names a raw key it reads (`tests/test_architecture`
holds that), so two figures of one config can never disagree on what it says.

Pure and light: no Pydantic, no IO.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any, Final, Literal

from wizard.axolotl import keys as K
from wizard.axolotl.attention import NEED_FLASH_ATTN, backend
from wizard.axolotl.batch import sequences_per_step
from wizard.axolotl.flags import is_on
from wizard.axolotl.fsdp import fsdp_settings, fsdp_version

MethodKind = Literal["full", "lora", "qlora"]
# `bf16`/`fp16` and the spellings Axolotl also reads for them.
HALF_PRECISION_KEYS = (K.BF16, K.FP16, K.BFLOAT16, K.FLOAT16)


class AxolotlConfig:
    """The config as Axolotl reads it. `raw` is the flat mapping it was built from (a YAML
    document's top level); every reader below is a question about it."""

    # A plain class, not a frozen dataclass: defined at import on `new --yes`'s path, where a
    # dataclass compiles its methods; `Final` keeps `raw` read-only to the type checker.
    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw: Final = raw

    # -- any key, by its constant in `wizard.axolotl.keys` ------------------------------------

    def value(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)

    def on(self, key: str) -> bool:
        """Switched on, the way Axolotl reads it (`axolotl.flags`)."""
        return is_on(self.raw.get(key))

    def has(self, key: str) -> bool:
        """The key is written and not null (a null sets nothing in Axolotl)."""
        return self.raw.get(key) is not None

    def text(self, key: str) -> str | None:
        value = self.raw.get(key)
        return value if isinstance(value, str) else None

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self.raw.get(key)
        return value if isinstance(value, Mapping) else {}

    def names(self, key: str) -> list[str]:
        """A list of names (plugins, target modules); a single text counts as one."""
        value = self.raw.get(key)
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            return [str(item) for item in value]
        return []

    # -- the model and the method -------------------------------------------------------------

    @property
    def base_model(self) -> str | None:
        """The model whose architecture trains: `base_model_config` when given, else
        `base_model` (as Axolotl loads the config)."""
        return self.text(K.BASE_MODEL_CONFIG) or self.text(K.BASE_MODEL)

    @property
    def tokenizer_source(self) -> str | None:
        """Where the tokenizer loads from, as Axolotl's `normalize_config` fills it in:
        `tokenizer_config`, else `base_model_config`, else `base_model`."""
        return self.text(K.TOKENIZER_CONFIG) or self.base_model

    @property
    def adapter(self) -> str | None:
        """`lora`, `qlora`, another adapter's name, or None for a full fine-tune."""
        value = self.raw.get(K.ADAPTER)
        return str(value).lower() if value else None

    @property
    def method(self) -> MethodKind:
        """What trains: LoRA or QLoRA adapters, else every weight (an adapter Axolotl does not
        know counts as full: it would refuse it)."""
        adapter = self.adapter
        return adapter if adapter in ("lora", "qlora") else "full"  # type: ignore[return-value]

    @property
    def base_bits(self) -> int:
        """The bits of the frozen base weights: 4 (QLoRA, or LoRA on a 4-bit base), 8, or 16.
        A full fine-tune trains 16-bit weights whatever `load_in_*` says."""
        if self.method == "qlora":
            return 4
        if self.method == "lora":
            return 8 if self.on(K.LOAD_IN_8BIT) else 4 if self.on(K.LOAD_IN_4BIT) else 16
        return 16

    @property
    def lora_targets_all_linear(self) -> bool:
        return self.on(K.LORA_TARGET_LINEAR)

    # -- batch, sequence, packing -------------------------------------------------------------

    @property
    def micro_batch_size(self) -> int:
        return self.whole(K.MICRO_BATCH_SIZE) or 1

    @property
    def gradient_accumulation_steps(self) -> int:
        return self.whole(K.GRADIENT_ACCUMULATION_STEPS) or 1

    def whole(self, key: str) -> int | None:
        """A whole number of at least 1, or None when the key is unset or not one."""
        value = self.raw.get(key)
        return value if isinstance(value, int) and _whole(value) else None

    def effective_batch(self, processes: int) -> int:
        """Sequences per optimizer step on `processes` training processes (one micro batch per
        data-parallel rank: context and tensor parallel groups share theirs)."""
        return sequences_per_step(
            self.micro_batch_size,
            self.gradient_accumulation_steps,
            processes,
            self.context_parallel,
            self.tensor_parallel,
        )

    @property
    def sequence_len(self) -> int | None:
        return self.whole(K.SEQUENCE_LEN)

    @property
    def sample_packing(self) -> bool:
        return self.on(K.SAMPLE_PACKING)

    @property
    def eval_sample_packing(self) -> bool:
        """Evals are packed like training unless `eval_sample_packing` says otherwise."""
        if self.raw.get(K.EVAL_SAMPLE_PACKING) is None:
            return self.sample_packing
        return self.on(K.EVAL_SAMPLE_PACKING)

    # -- precision and attention --------------------------------------------------------------

    @property
    def half_precision(self) -> bool:
        """bf16 or fp16 (any spelling, `auto` included) is on."""
        return any(self.on(key) for key in HALF_PRECISION_KEYS)

    @property
    def in_bf16(self) -> bool:
        """bf16 is switched on under either spelling (`auto` counts: Axolotl turns it on where
        the GPU has bf16)."""
        return self.on(K.BF16) or self.on(K.BFLOAT16)

    @property
    def in_fp16(self) -> bool:
        return self.on(K.FP16) or self.on(K.FLOAT16)

    @property
    def bf16(self) -> Any:
        """`bf16` as written: true, false, `auto` or None."""
        return self.raw.get(K.BF16)

    @property
    def attention(self) -> str | None:
        """The attention backend Axolotl uses: `attn_implementation`, else the first legacy
        flag set (`flash_attention: true`...)."""
        return backend(self.raw)

    @property
    def needs_flash_attn(self) -> bool:
        return self.attention in NEED_FLASH_ATTN

    # -- sharding -----------------------------------------------------------------------------

    @property
    def deepspeed(self) -> str | None:
        """The path `deepspeed:` names (as written), or None."""
        return self.text(K.DEEPSPEED)

    @cached_property
    def fsdp_version(self) -> int | None:
        """1 or 2 when the config trains with FSDP (as Axolotl reads the version), else None."""
        return fsdp_version(self.raw)

    @cached_property
    def fsdp_settings(self) -> dict[str, Any]:
        """`fsdp_config` without the deprecated `fsdp_` prefixes."""
        return fsdp_settings(self.raw)

    @property
    def sharded(self) -> bool:
        return self.deepspeed is not None or self.fsdp_version is not None

    def parallel_size(self, key: str) -> int:
        """A parallel size (`tensor_parallel_size`, `dp_replicate_size`, ...) as Axolotl reads
        it: unset, null or 0 is 1; a value that is not a whole number is the type checker's to
        report, so it counts as 1 here."""
        value = self.raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            return 1
        return max(value, 1)

    @property
    def context_parallel(self) -> int:
        """`context_parallel_size`, or the deprecated `sequence_parallel_degree` it replaces."""
        if self.has(K.CONTEXT_PARALLEL_SIZE):
            return self.parallel_size(K.CONTEXT_PARALLEL_SIZE)
        return self.parallel_size(K.SEQUENCE_PARALLEL_DEGREE)

    @property
    def tensor_parallel(self) -> int:
        return self.parallel_size(K.TENSOR_PARALLEL_SIZE)

    @property
    def fsdp_offload(self) -> bool:
        """FSDP keeps the parameters (and the optimizer states) on the CPU:
        `fsdp_config.(fsdp_)offload_params`, or an `offload` option in the legacy `fsdp:` list."""
        options = self.raw.get(K.FSDP)
        listed = isinstance(options, list) and any("offload" in str(o) for o in options)
        return bool(self.fsdp_settings.get("offload_params")) or listed

    # -- activations --------------------------------------------------------------------------

    @property
    def gradient_checkpointing(self) -> bool:
        """Activations are recomputed in the backward pass: `gradient_checkpointing` on (its
        deprecated `offload` spellings included), or activation offloading, which Axolotl only
        runs with checkpointing."""
        return self.on(K.GRADIENT_CHECKPOINTING) or self.activation_offload

    @property
    def activation_offload(self) -> bool:
        """Checkpointed activations leave the GPU: `gradient_checkpointing: offload` or
        `offload_disk` (deprecated spellings), or `activation_offloading` on, but for `disk`
        (which the estimate has always left out, though `offload_disk` is its old name)."""
        checkpointing = self.raw.get(K.GRADIENT_CHECKPOINTING)
        if isinstance(checkpointing, str) and checkpointing.lower().startswith("offload"):
            return True
        offloading = self.raw.get(K.ACTIVATION_OFFLOADING)
        return offloading not in (None, False, "disk") and is_on(offloading)

    # -- the objective ------------------------------------------------------------------------

    @property
    def rl(self) -> str | None:
        """The `rl:` trainer, lowercased (`dpo`, `kto`, `grpo`...), or None for SFT."""
        value = self.raw.get(K.RL)
        return str(value).lower() if value else None

    @property
    def objective(self) -> str:
        return self.rl or "sft"

    @property
    def trl(self) -> Mapping[str, Any]:
        return self.mapping(K.TRL)

    @property
    def vllm(self) -> Mapping[str, Any]:
        return self.mapping(K.VLLM)

    @property
    def vllm_parallel_sizes(self) -> list[Any]:
        """`vllm.tensor_parallel_size` and `vllm.data_parallel_size` as written (1 when unset):
        a vLLM server takes their product in GPUs."""
        return [self.vllm.get(name) or 1 for name in ("tensor_parallel_size", "data_parallel_size")]

    @property
    def vllm_mode(self) -> str | None:
        """How GRPO generates with vLLM (`trl.use_vllm` on): `trl.vllm_mode` as written
        (`server`: GPUs of its own, `colocate`: beside the trainers); None without vLLM."""
        if self.rl != "grpo" or not is_on(self.trl.get("use_vllm")):
            return None
        mode = self.trl.get("vllm_mode")
        return mode if isinstance(mode, str) else None

    # -- data and output ----------------------------------------------------------------------

    @property
    def datasets(self) -> list[Any]:
        value = self.raw.get(K.DATASETS)
        return value if isinstance(value, list) else []

    @property
    def output_dir(self) -> str | None:
        return self.text(K.OUTPUT_DIR)

    @property
    def prepared_path(self) -> str | None:
        return self.text(K.DATASET_PREPARED_PATH)

    @property
    def uses_ray(self) -> bool:
        return self.on(K.USE_RAY)

    @property
    def plugins(self) -> list[str]:
        return self.names(K.PLUGINS)

    @property
    def optimizer(self) -> str | None:
        value = self.raw.get(K.OPTIMIZER)
        return str(value).lower() if value else None


def view_of(config: Mapping[str, Any] | AxolotlConfig) -> AxolotlConfig:
    """The view of a config (a view is its own view)."""
    return config if isinstance(config, AxolotlConfig) else AxolotlConfig(config)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
