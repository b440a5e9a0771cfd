"""The sharding answers: DeepSpeed ZeRO (the wizard's own file, or one taken as it is) and FSDP."""

# No `from __future__ import annotations` here: Pydantic would compile and evaluate the text
# of each field's annotation as it builds the models.
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, model_validator

from wizard.axolotl.deepspeed_file import shipped_paths
from wizard.runspec.base import AnswerConflict, Range, StrictModel, axolotl_name, defaults_of


class FsdpSpec(StrictModel):
    """FSDP's own settings (Axolotl's `fsdp_config`); none: the wizard's choice for FSDP2, or what
    an imported config left to Axolotl."""

    reshard_after_forward: bool | None = None
    """free the gathered weights after forward (ZeRO-3-like)"""
    cpu_ram_efficient_loading: bool | None = None
    """only rank 0 loads the weights into CPU RAM"""
    state_dict_type: axolotl_name("FSDPConfig.state_dict_type") | None = None  # type: ignore[valid-type]
    """how checkpoints are saved: FULL_STATE_DICT or SHARDED_STATE_DICT"""
    final_state_dict_type: axolotl_name("FSDPConfig.final_state_dict_type") | None = None  # type: ignore[valid-type]
    auto_wrap_policy: axolotl_name("FSDPConfig.auto_wrap_policy") | None = None  # type: ignore[valid-type]
    transformer_layer_cls_to_wrap: str | None = None
    """the decoder layer class; none: the model's own"""
    activation_checkpointing: bool | None = None
    """FSDP's activation checkpointing (instead of the trainer's)"""
    sync_module_states: bool | None = None
    use_orig_params: bool | None = None
    cpu_offload_pin_memory: bool | None = None


Backend = Literal["none", "deepspeed", "fsdp"]
# A DeepSpeed file the answers carry into the run folder (`files:`), by its path there.
# A pattern, compiled by `re` on first use: only a run with DeepSpeed reads it.
CARRIED_DEEPSPEED = r"deepspeed/[A-Za-z0-9][A-Za-z0-9._-]*\.json"


def _deepspeed_config(value: str) -> str:
    """One of Axolotl's own DeepSpeed files as its repository names it, or a carried one."""
    shipped = shipped_paths()
    if value in shipped or re.fullmatch(CARRIED_DEEPSPEED, value):
        return value
    import difflib  # here: only a name that is not found pays for it

    near = difflib.get_close_matches(value, shipped, n=1)
    hint = f"did you mean {near[0]}? " if near else ""
    raise ValueError(
        f"{value!r} is neither one of Axolotl's DeepSpeed files nor a file the answers carry "
        f"(deepspeed/NAME.json); {hint}one of: {', '.join(shipped)}"
    )


DeepSpeedFile = Annotated[str, AfterValidator(_deepspeed_config)]
# The answers a DeepSpeed file says itself (its ZeRO stage and offloads).
ZERO_LAYOUT = ("zero_stage", "offload_optimizer", "offload_params")


class DistributedSpec(StrictModel):
    backend: Backend = "none"
    """none: one GPU or plain DDP; deepspeed: ZeRO; fsdp: FSDP2 (torch's own)"""
    deepspeed_config: DeepSpeedFile | None = None
    """a DeepSpeed file taken as it is: one Axolotl ships (deepspeed_configs/zero3_bf16.json,
    ...) or deepspeed/NAME.json, a file the answers carry (files:); none: the wizard writes
    its own from zero_stage and the offloads"""
    zero_stage: Literal[1, 2, 3] = 2
    offload_optimizer: bool = False
    """ZeRO: optimizer states in CPU RAM"""
    offload_params: bool = False
    """ZeRO-3 or FSDP: parameters (FSDP: and their states) in CPU RAM"""
    fsdp_version: Literal[1, 2] | None = None
    """none: 2 (FSDP2)"""
    fsdp_options: list[str] | None = None
    """FSDP1's `fsdp:` list (full_shard auto_wrap …), imported as is"""
    fsdp: FsdpSpec = defaults_of(FsdpSpec)
    ddp_timeout: Annotated[int | None, Range(ge=1, le=30 * 24 * 3600)] = None
    """seconds a rank waits"""
    launcher: Literal["accelerate", "ray"] = "accelerate"
    """ray: use_ray"""
    ddp_find_unused_parameters: bool | None = None
    dp_shard_size: Annotated[int | None, Range(ge=1, le=65536)] = None
    """GPUs a model is sharded across; none: all"""
    # Axolotl's ND parallelism (accelerate's ParallelismConfig): world size = dp_replicate x
    # dp_shard x context_parallel x tensor_parallel. Which mixes Axolotl refuses are lint rules
    # (lint/parallel_rules.py), run on what the answers render.
    dp_replicate_size: Annotated[int | None, Range(ge=1, le=65536)] = None
    """HSDP: copies of the model, each sharded over dp_shard_size GPUs; none: 1"""
    context_parallel_size: Annotated[int | None, Range(ge=1, le=1024)] = None
    """GPUs one sequence is split across (ring attention: flash attention 2 and the
    ring-flash-attn package); for sequences one GPU cannot hold; none: 1"""
    tensor_parallel_size: Annotated[int | None, Range(ge=1, le=1024)] = None
    """GPUs each layer's weights are split across; none: 1"""

    @model_validator(mode="after")
    def _offload_fits_stage(self) -> "DistributedSpec":
        if self.backend == "none" and (self.offload_optimizer or self.offload_params):
            raise AnswerConflict(
                "CPU offload needs sharding; set distributed.backend=deepspeed or fsdp",
                "backend",
                "offload_optimizer",
                "offload_params",
            )
        if self.backend == "fsdp" and self.offload_optimizer:
            raise AnswerConflict(
                "FSDP offloads parameters, gradients and optimizer states together: set "
                "distributed.offload_params=true instead of offload_optimizer",
                "offload_optimizer",
                "offload_params",
            )
        if self.backend == "deepspeed" and self.offload_params and self.zero_stage != 3:
            raise AnswerConflict(
                "offload_params needs ZeRO stage 3; set distributed.zero_stage=3 "
                "or offload_params=false",
                "offload_params",
                "zero_stage",
            )
        self._file_fixes_layout()
        fsdp_only = [name for name in ("fsdp_version", "fsdp_options") if getattr(self, name)]
        fsdp_only += [f"fsdp.{name}" for name, value in self.fsdp if value is not None]
        if fsdp_only and self.backend != "fsdp":
            raise AnswerConflict(
                f"{fsdp_only[0]} only applies with distributed.backend=fsdp", "backend"
            )
        return self

    def _file_fixes_layout(self) -> None:
        """A DeepSpeed file of its own says the ZeRO stage and the offloads itself."""
        if self.deepspeed_config is None:
            return
        if self.backend != "deepspeed":
            raise AnswerConflict(
                "distributed.deepspeed_config only applies with distributed.backend=deepspeed",
                "deepspeed_config",
                "backend",
            )
        given = [name for name in ZERO_LAYOUT if name in self.model_fields_set]
        if given:
            raise AnswerConflict(
                f"distributed.{given[0]} is set, but the file distributed.deepspeed_config "
                "names says the ZeRO stage and offloads itself; leave it unset, or the file",
                "deepspeed_config",
                *given,
            )
