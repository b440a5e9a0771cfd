"""Which answer each Axolotl key could be, as proposals: the key table (`render.key_table`)
read backwards, and readers for the keys no answer writes as they are (the datasets, the
precision flags, the attention backend, FSDP's keys, IPO's loss).

A proposal is only a guess; `importer.settle` keeps it only when rendering the answer gives back
exactly the keys it came from. So the proposals may be generous (a value the spec refuses, an
optimizer it does not offer) without ever changing what the imported run does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from wizard.axolotl import attention
from wizard.axolotl import keys as K
from wizard.axolotl.deepspeed_file import shipped_paths
from wizard.axolotl.view import AxolotlConfig, MethodKind
from wizard.render.key_table import SAME_VALUE
from wizard.runspec import CHAT_ONLY
from wizard.runspec.datasets import AS_GIVEN

ATTENTION_OF = {impl: answer for answer, impl in attention.FROM_ANSWER.items()}
# The dataset types the wizard asks about; any other type stays in the dataset's axolotl: keys.
DATASET_FORMATS = ("alpaca", "chat_template", "completion", "input_output")


def method_kind(config: AxolotlConfig) -> MethodKind:
    """The method an `adapter:` says (as written: `LoRA` is no answer); none is a full
    fine-tune."""
    adapter = config.value(K.ADAPTER)
    return adapter if adapter in ("lora", "qlora") else "full"


def proposals(config: AxolotlConfig) -> Iterator[dict[str, Any]]:
    """Each answer the config may give, as flat dotted answers, in the order to try them."""
    if config.value(K.LORA_TARGET_LINEAR) is True:
        yield {"method.target_modules": "all-linear"}
    for key, answers in SAME_VALUE.items():  # the key table, read backwards
        if config.has(key):
            for answer in answers:
                yield {answer: config.value(key)}
    if config.value(K.RL) == "dpo" and config.value(K.DPO_LOSS_TYPE) == ["ipo"]:
        yield {"objective.kind": "ipo"}  # IPO as Axolotl 0.19 spells it
    implementation = config.text(K.ATTN_IMPLEMENTATION)
    if implementation is not None:
        yield {"training.attention": ATTENTION_OF.get(implementation, implementation)}
    kwargs = config.mapping(K.GRADIENT_CHECKPOINTING_KWARGS)
    if set(kwargs) == {"use_reentrant"}:
        yield {"training.use_reentrant": kwargs["use_reentrant"]}
    precision = _precision(config.bf16, config.value(K.FP16))
    if precision:
        yield precision
    sharding = _fsdp(config)
    if sharding:
        yield sharding


def deepspeed_proposals() -> Iterator[dict[str, Any]]:
    """The wizard's own DeepSpeed files as answers: each ZeRO stage, with or without CPU offload
    (the spec refuses the mixes that are not a file of its own)."""
    for stage in (1, 2, 3):
        for optimizer, params in ((False, False), (True, False), (False, True), (True, True)):
            offload = {"offload_optimizer": optimizer, "offload_params": params}
            answers = {"backend": "deepspeed", "zero_stage": stage,
                       **{name: True for name, on in offload.items() if on}}  # fmt: skip
            yield {f"distributed.{name}": value for name, value in answers.items()}


def deepspeed_file_proposals(written: str) -> Iterator[dict[str, Any]]:
    """A DeepSpeed file as it is (`distributed.deepspeed_config`), once the wizard's own files
    are ruled out: Axolotl's own file of its name (`deepspeed_configs/zero2.json`, when the
    JSON is that file's), else the carried file `written` (`deepspeed/NAME.json`)."""
    name = PurePosixPath(written).name
    shipped = [path for path in shipped_paths() if PurePosixPath(path).name == name]
    for given in (*shipped, written):
        yield {"distributed.backend": "deepspeed", "distributed.deepspeed_config": given}


def _fsdp(config: AxolotlConfig) -> dict[str, Any]:
    """FSDP as one proposal: its version, FSDP1's option list and every `fsdp_config` key
    together, since they are written together."""
    settings = config.value(K.FSDP_CONFIG)
    version, options = config.value(K.FSDP_VERSION), config.value(K.FSDP)
    if not (settings or version or options):
        return {}
    answers: dict[str, Any] = {"distributed.backend": "fsdp"}
    if version is not None:
        answers["distributed.fsdp_version"] = version
    if options is not None:
        answers["distributed.fsdp_options"] = options
    for key, value in settings.items() if isinstance(settings, dict) else ():
        name = "offload_params" if key == "offload_params" else f"fsdp.{key}"
        answers[f"distributed.{name}"] = value
    return answers


def _precision(bf16: Any, fp16: Any) -> dict[str, Any]:
    """The precision answers whose flags (`axolotl_config._precision_flags`) the config has."""
    if bf16 == "auto" and fp16 is not True:
        # `fp16: false` beside `bf16: auto` is not Axolotl's default: without bf16 the GPU then
        # trains in fp32 where an unset fp16 would switch fp16 on; the flag is kept as written.
        return {
            "training.precision": "auto",
            "training.precision_flags": "both" if fp16 is False else "on",
        }
    for on, other, name in ((bf16, fp16, "bf16"), (fp16, bf16, "fp16")):
        if on is True:
            style = {"training.precision_flags": "on"} if other is None else {}
            return {"training.precision": name, **style}
    return {"training.precision": "fp32"} if bf16 is False and fp16 is False else {}


def dataset_answers(entry: dict[str, Any]) -> dict[str, Any]:
    """The answers of one `datasets:` entry; the keys no answer covers go in its `axolotl:`."""
    rest = dict(entry)
    answers: dict[str, Any] = {"path": rest.pop("path")}
    for name in AS_GIVEN:  # answers of every format, written as they are
        if rest.get(name) is not None:
            answers[name] = rest.pop(name)
    kind = rest.get("type")
    if kind not in DATASET_FORMATS:
        own = {"type": rest.pop("type")} if isinstance(kind, (str, dict)) else {}
        return {**answers, "format": "axolotl", **own, **({"axolotl": rest} if rest else {})}
    answers["format"] = rest.pop("type")
    if kind == "chat_template":
        answers.update({name: rest.pop(name) for name in CHAT_ONLY if rest.get(name) is not None})
        if isinstance(rest.get("field_messages"), str):
            answers["field_messages"] = rest.pop("field_messages")
        mapping = rest.get("message_property_mappings")
        if isinstance(mapping, dict) and set(mapping) == {"role", "content"}:
            rest.pop("message_property_mappings")
            answers["role_key"], answers["content_key"] = mapping["role"], mapping["content"]
    elif kind == "completion" and isinstance(rest.get("field"), str):
        answers["text_field"] = rest.pop("field")
    return {**answers, **({"axolotl": rest} if rest else {})}


def raw_dataset(entry: dict[str, Any]) -> dict[str, Any]:
    """A dataset entry the answers cannot say exactly: its path, and every other key raw."""
    rest = {k: v for k, v in entry.items() if k != "path"}
    return {"path": entry["path"], "format": "axolotl", "axolotl": rest}
