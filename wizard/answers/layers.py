"""Answers in layers: defaults < preset chain < answers file < --set < typed answer.

Each layer is a flat mapping of dotted keys (`training.micro_batch_size`, `datasets.0.path`), kept
separate so the wizard can say where every value came from. Merging is a ChainMap, with two rules
that make layering behave the way people expect:

- A layer that gives a list of records (`datasets: [...]`) replaces the lower layers' list whole,
  instead of merging item by item into it.
- When a layer switches `method.kind`, the lower layers' method fields that the new kind does not
  have are dropped (a QLoRA preset's `method.r` does not break `--set method.kind=full`), and so
  is a learning rate tuned for the other kind of method (`METHOD_TUNED`; `new` says so). A switch
  of `objective.kind` drops the lower layers' objective fields the new objective does not have.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from enum import Enum
from typing import Any

from pydantic import ValidationError

from wizard.answers.answer_keys import check_keys, is_raw_key, spec_error
from wizard.axolotl.secrets import credential_problem
from wizard.errors import WizardError
from wizard.recipes.table import training_recipe
from wizard.records import Record
from wizard.runspec import DEFAULT_METHOD, METHODS, OBJECTIVES, AdapterMethod, RunSpec


class LayerKind(Enum):
    """Where a layer's answers come from; code asks this, never the layer's display name."""

    AUTOFIT = "auto-fit"  # below everything: only what nobody gave
    DATA = "data file"  # what a local dataset's records say (its format), below the rest
    PRESET = "preset"
    IMPORT = "import"  # an Axolotl config read by `new --from`
    ANSWERS_FILE = "answers file"
    SET = "--set"
    LOCK = "locked"  # a preset's locked answers, pinned above the rest
    INTERVIEW = "interview"
    PLACEHOLDER = "required"  # stands in for a required answer nobody gave yet
    TRIAL = "trial"  # a what-if on top (the memory of each method in the interview)


# Answers tuned for one method: when a higher layer switches the method, a lower layer's value
# gives way to the new method's default (a LoRA learning rate wrecks a full fine-tune) ...
METHOD_TUNED = ("training.learning_rate",)
# ... or is kept but questioned (a paged 8-bit optimizer still works for a full fine-tune).
# Answers chosen for SFT that a switch to a preference or RL objective drops: their trainers
# cannot read packed rows (packing then defaults to off).
OBJECTIVE_TUNED = ("training.sample_packing",)
METHOD_QUESTIONED = ("training.optimizer",)
# A GPU is named, or described by its memory and bf16: a higher layer that does one replaces a
# lower layer's other (`--set hardware.gpu_memory_gib=80` over a preset's RTX 4090 means
# another GPU, not an RTX 4090 with 80 GiB).
GPU_NAME = "hardware.gpu"
GPU_DESCRIPTION = ("hardware.gpu_memory_gib", "hardware.bf16_supported")


class MethodSwitch(Record):
    """`key` = `value` came from `layer`, written for method `was`; the run is now `now`."""

    key: str
    value: Any
    layer: str
    was: str
    now: str
    objective: str = "sft"

    @property
    def dropped(self) -> bool:
        return self.key in METHOD_TUNED

    def warning(self) -> str:
        given = f"{self.key} {self.value!r} from {self.layer} was chosen for {self.was}"
        change = f"--set {self.key}=VALUE to choose one"
        if self.key == "training.learning_rate":
            recipe = training_recipe(self.objective, self.now)
            low, high = recipe.lr_range
            return (
                f"{given}; this {self.now} run uses {recipe.learning_rate:g} instead "
                f"({self.now} usually trains with {low:g} to {high:g}); {change}"
            )
        return f"{given}; it is kept for this {self.now} run, check it suits; {change}"


class Layer:
    """One source of answers: its name (for `explain`), flat values, the lists it replaces, its
    kind, and for a preset (or its locks) the preset source it was read from. A plain class: it
    changes as the answers are gathered, and is never compared or shown (a dataclass would
    compile its methods at every start)."""

    def __init__(
        self,
        name: str,
        values: dict[str, Any] | None = None,
        replaces: set[str] | None = None,
        kind: LayerKind = LayerKind.SET,
        source: str | None = None,  # builtin, user, team or project
        files: dict[str, Any] | None = None,  # carried files (answers.file)
    ) -> None:
        self.name, self.kind, self.source = name, kind, source
        self.values: dict[str, Any] = {} if values is None else values
        self.replaces: set[str] = set() if replaces is None else replaces
        self.files: dict[str, Any] = {} if files is None else files

    @classmethod
    def from_nested(
        cls,
        name: str,
        nested: Mapping[str, Any],
        kind: LayerKind = LayerKind.SET,
        source: str | None = None,
    ) -> Layer:
        layer = cls(name, kind=kind, source=source)
        for key, value in nested.items():
            layer.set(str(key), value)
        return layer

    def set(self, key: str, value: Any) -> None:
        """Set a dotted key; a dict merges below it, a list of records replaces lower lists."""
        if isinstance(value, Mapping) and value:  # an empty mapping is a value, kept as one
            for sub_key, sub_value in value.items():
                self.set(f"{key}.{sub_key}", sub_value)
        elif _is_record_list(value):
            self.replaces.add(key)
            self._drop_under(key)
            for index, item in enumerate(value):
                self.set(f"{key}.{index}", item)
        else:
            self.values[key] = value

    def _drop_under(self, prefix: str) -> None:
        for key in [k for k in self.values if k.startswith(prefix + ".")]:
            del self.values[key]


def _regime(kind: str) -> str:
    """LoRA and QLoRA train with the same learning rates and optimizers (both are the spec's
    adapter methods); full does not."""
    return "adapter" if issubclass(METHODS[kind], AdapterMethod) else "full"


def _without_other_gpu(values: dict[str, Any], higher: dict[str, Any]) -> dict[str, Any]:
    """A lower layer's GPU answers that a higher layer's other way of giving the GPU replaces."""
    if higher.get(GPU_NAME) is not None:
        return {k: v for k, v in values.items() if k not in GPU_DESCRIPTION}
    if GPU_NAME not in higher and any(higher.get(k) is not None for k in GPU_DESCRIPTION):
        return {k: v for k, v in values.items() if k != GPU_NAME}
    return values


def _is_record_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


class Answers:
    """The layered answers, lowest first, and the spec they resolve to."""

    def __init__(self, layers: list[Layer]) -> None:
        self.layers = layers

    def merged(self) -> dict[str, Any]:
        """The flat answers after the replace-list and method-kind rules."""
        visible = [self._visible(i) for i in range(len(self.layers))]
        return dict(ChainMap(*reversed(visible)))

    def origin(self, key: str) -> str | None:
        """The name of the layer that supplied `key`, or None for a spec default."""
        layer = self.origin_layer(key)
        return layer.name if layer is not None else None

    def origin_layer(self, key: str) -> Layer | None:
        """The layer that supplied `key`, or None for a spec default."""
        for index in reversed(range(len(self.layers))):
            if key in self._visible(index):
                return self.layers[index]
        return None

    def of_kind(self, *kinds: LayerKind) -> list[Layer]:
        return [layer for layer in self.layers if layer.kind in kinds]

    def _visible(self, index: int) -> dict[str, Any]:
        """What layer `index` still contributes once higher layers have had their say."""
        values = dict(self.layers[index].values)
        higher = self.layers[index + 1 :]
        for layer in higher:
            for prefix in layer.replaces:
                values = {k: v for k, v in values.items() if not k.startswith(prefix + ".")}
            values = _without_other_gpu(values, layer.values)
        switch = self._method_switch(index)
        if switch is not None:
            fields = METHODS[switch[1]].model_fields
            values = {
                k: v
                for k, v in values.items()
                if not (k.startswith("method.") and k.split(".", 1)[1] not in fields)
                and not (k in METHOD_TUNED and _regime(switch[0]) != _regime(switch[1]))
            }
        objective = self._objective_switch(index)
        if objective is not None:
            fields = OBJECTIVES[objective].model_fields
            values = {k: v for k, v in values.items()
                      if not (k.startswith("objective.") and k.split(".", 1)[1] not in fields)
                      and not (k in OBJECTIVE_TUNED and objective != "sft")}  # fmt: skip
        return values

    def _objective_switch(self, index: int) -> str | None:
        """The objective a higher layer switches to, when it is not the one layer `index` (with
        those below) was written for."""
        setter = next((lay for lay in reversed(self.layers[index + 1 :])
                       if "objective.kind" in lay.values), None)  # fmt: skip
        new = None if setter is None else str(setter.values["objective.kind"])
        if new not in OBJECTIVES:
            return None
        own = "sft"
        for layer in self.layers[: index + 1]:
            own = str(layer.values.get("objective.kind", own))
        return None if own == new else new

    def _method_switch(self, index: int) -> tuple[str, str] | None:
        """(the method layer `index` was written for, the method a higher layer switches to),
        when a higher layer switches it to another one."""
        setter = next((lay for lay in reversed(self.layers[index + 1 :])
                       if "method.kind" in lay.values), None)  # fmt: skip
        if setter is None or str(setter.values["method.kind"]) not in METHODS:
            return None
        own = DEFAULT_METHOD
        for layer in self.layers[: index + 1]:
            own = str(layer.values.get("method.kind", own))
        new = str(setter.values["method.kind"])
        return None if own == new else (own, new)

    def method_switches(self) -> list[MethodSwitch]:
        """Answers tuned for one method that a higher layer's method switch drops or questions:
        what `new` warns about."""
        found = []
        objective = str(self.merged().get("objective.kind", "sft"))
        objective = objective if objective in OBJECTIVES else "sft"
        for index, layer in enumerate(self.layers):
            switch = self._method_switch(index)
            if switch is None or _regime(switch[0]) == _regime(switch[1]):
                continue
            for key in (*METHOD_TUNED, *METHOD_QUESTIONED):
                if key in layer.values and self.origin_layer(key) in (None, layer):
                    value = layer.values[key]
                    found.append(MethodSwitch(key, value, layer.name, *switch, objective))
        return found

    def files(self) -> dict[str, Any]:
        """The carried files of every layer, a higher layer's file replacing a lower one's."""
        merged: dict[str, Any] = {}
        for layer in self.layers:
            merged.update(layer.files)
        return merged

    def answer_values(self) -> dict[str, Any]:
        """The answers, a dataset's own raw keys included (they are part of its answer)."""
        return {k: v for k, v in self.merged().items() if not k.startswith("axolotl.")}

    def raw_axolotl(self) -> dict[str, Any]:
        """Raw Axolotl keys (`axolotl.<key>`) passed through unchanged, in first-seen order."""
        merged = self.merged()
        raw: dict[str, Any] = {}
        for key in merged:
            if key.startswith("axolotl."):
                _assign(raw, key.split(".", 1)[1].split("."), merged[key])
        converted: dict[str, Any] = _lists_from_indices(raw)
        return converted

    def resolve(self) -> RunSpec:
        """Validate the merged answers into a RunSpec, or raise one error that names them all."""
        nested = unflatten(self.answer_values())
        try:
            return RunSpec.model_validate(nested)
        except ValidationError as err:
            raise spec_error(err) from None


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys back to nested dicts; numeric parts become list positions."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        _assign(nested, key.split("."), value)
    converted: dict[str, Any] = _lists_from_indices(nested)
    return converted


def _assign(target: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        existing = target.get(part)
        if not isinstance(existing, dict):
            existing = target[part] = {}
        target = existing
    target[parts[-1]] = value


def _lists_from_indices(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists_from_indices(v) for k, v in node.items()}
    # Positions past a few digits stay mapping keys (`keys.check_keys` refuses them in answers).
    if converted and all(k.isdecimal() and len(k) <= 6 for k in converted):
        by_position = {int(k): v for k, v in converted.items()}
        indices = sorted(by_position)
        gap = next((i for i, index in enumerate(indices) if index != i), None)
        if gap is not None or len(by_position) < len(converted):
            # Found without building the range of positions: one may be huge.
            shown = ", ".join(sorted(converted, key=int)[:5]) + (", …" * (len(converted) > 5))
            problem = f"a gap at {gap}" if gap is not None else "one position written two ways"
            raise WizardError(
                f"list positions [{shown}] have {problem}",
                "number list entries from 0 without gaps (datasets.0, datasets.1, …)",
            )
        return [by_position[i] for i in indices]
    return converted


def check_layer(layer: Layer, source: str) -> None:
    """Known answer keys only, and no value that would put a credential (a string under a raw
    key such as `comet_api_key`, a URL with a password or token) into the files written from
    these answers."""
    check_keys(layer.values, source)
    for key, value in layer.values.items():
        problem = credential_problem(key, value, by_name=is_raw_key(key))
        if problem is not None:
            raise WizardError(
                f"{source}: {key} holds {problem[0]}, which would be written in clear to "
                "axolotl.yml, wizard-answers.yml and every launch record",
                problem[1],
            )
