"""The family table (families.yaml): which linear layers a `model_type` has, and their shapes.

The table is data; this module only evaluates it for one config.json. Keeping the names in one
file is what makes `lora_target_modules` checks and parameter counts agree with transformers.
"""

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from wizard.records import Record
from wizard.yamlio import package_data


class Linear(Record):
    """One kind of linear layer in a decoder layer: `count` instances in each of `layers` layers.

    `linear` is False for what transformers does not build as an nn.Linear (fused MoE experts,
    router parameter modules): `lora_target_linear` does not find those. `param` is the fused
    parameter's name, which `lora_target_parameters` names.
    """

    name: str
    fan_in: int
    fan_out: int
    count: int = 1
    bias: bool = False
    layers: int = 1
    linear: bool = True
    param: str = ""
    reads_hidden: bool = False  # its input is the hidden state (a norm's output), fan_in "h"

    @property
    def params(self) -> int:
        """Parameters in one layer."""
        return self.count * (self.fan_in * self.fan_out + (self.fan_out if self.bias else 0))


class Family(Record):
    name: str
    spec: Mapping[str, Any]

    @property
    def tie(self) -> bool:
        return bool(self.spec.get("tie", False))

    @property
    def norm(self) -> str:
        return str(self.spec.get("norm", "rms"))

    @property
    def norms(self) -> int:
        return int(self.spec.get("norms", 2))

    @property
    def mlp_kind(self) -> str:
        return str(self.spec.get("mlp_kind", "gated"))

    @property
    def layer_class(self) -> str:
        """The decoder layer's class name in transformers; empty when the table has none."""
        return str(self.spec.get("layer_class", ""))

    @property
    def defaults(self) -> Mapping[str, Any]:
        found: Mapping[str, Any] = self.spec.get("defaults") or {}
        return found


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    data: dict[str, Any] = package_data("wizard.models", "families.yaml")
    return data


def family(model_type: str) -> Family | None:
    spec = _table()["families"].get(model_type)
    return None if spec is None else Family(model_type, spec)


def family_names() -> tuple[str, ...]:
    return tuple(sorted(_table()["families"]))


def evaluate(expr: Any, dims: Mapping[str, int]) -> int:
    """An expression of the table: integers and symbols joined by `*`, terms joined by `+`."""
    if isinstance(expr, bool):
        raise ValueError(f"families.yaml: {expr!r} is not a size")
    if isinstance(expr, int):
        return expr
    total = 0
    for term in str(expr).replace(" ", "").split("+"):
        product = 1
        for factor in term.split("*"):
            product *= int(factor) if factor.isdigit() else dims[factor]
        total += product
    return total


def _flatten(entries: Any) -> list[Any]:
    """Block lists may hold other blocks (YAML aliases): flatten them to single linears."""
    flat: list[Any] = []
    for entry in entries or []:
        if isinstance(entry, list) and entry and isinstance(entry[0], (list, dict)):
            flat.extend(_flatten(entry))
        else:
            flat.append(entry)
    return flat


def _as_mapping(entry: Any) -> Mapping[str, Any]:
    if isinstance(entry, Mapping):
        return entry
    keys = ("name", "fan_in", "fan_out", "bias")
    return dict(zip(keys, entry, strict=False))


def _bias(value: Any, flags: Mapping[str, Any]) -> bool:
    if isinstance(value, str):
        return bool(flags.get(value))
    return bool(value)


def _linears(
    entries: Any, dims: Mapping[str, int], flags: Mapping[str, Any], layers: int
) -> list[Linear]:
    built = []
    for raw in _flatten(entries):
        entry = _as_mapping(raw)
        unless = entry.get("unless")
        if unless and flags.get(unless):
            continue
        lin = Linear(
            name=str(entry["name"]),
            fan_in=evaluate(entry["fan_in"], dims),
            fan_out=evaluate(entry["fan_out"], dims),
            count=evaluate(entry.get("count", 1), dims),
            bias=_bias(entry.get("bias", False), flags),
            layers=layers,
            linear=bool(entry.get("linear", True)),
            param=str(entry.get("param", "")),
            reads_hidden=entry["fan_in"] == "h",
        )
        if lin.fan_in and lin.fan_out and layers:
            built.append(lin)
    return built


def moe_layer_count(fam: Family, flags: Mapping[str, Any], num_layers: int) -> int:
    """How many decoder layers use the MoE block (the rest use the dense MLP)."""
    if not fam.spec.get("moe"):
        return 0
    rule = str(fam.spec.get("moe_layers", "all"))
    kind, _, key = rule.partition(":")
    value = int(flags.get(key) or 0) if key else 0
    if kind == "after":
        return max(0, num_layers - value)
    if kind == "every":
        skip = set(flags.get("mlp_only_layers") or [])
        step = max(1, value)
        return sum(1 for i in range(num_layers) if (i + 1) % step == 0 and i not in skip)
    return num_layers


def layer_linears_of(
    fam: Family, dims: Mapping[str, int], flags: Mapping[str, Any], num_layers: int
) -> tuple[Linear, ...]:
    """Every linear of the decoder layers, each with the number of layers that hold it."""
    moe_layers = moe_layer_count(fam, flags, num_layers)
    attention = _linears(fam.spec.get("attention"), dims, flags, num_layers)
    dense = _linears(fam.spec.get("mlp"), dims, flags, num_layers - moe_layers)
    moe = _linears(fam.spec.get("moe"), dims, flags, moe_layers)
    return tuple(attention + dense + moe)


def extra_params(
    fam: Family, dims: Mapping[str, int], num_layers: int, moe_layers: int
) -> tuple[int, int]:
    """(per-layer norm parameters outside the main norms, other parameters of the whole model:
    learned positions, embedding norms, lm_head bias, sinks, router biases)."""
    norms = sum(evaluate(e, dims) for e in fam.spec.get("layer_norms") or [])
    once = sum(evaluate(e, dims) for e in fam.spec.get("embedding_extras") or [])
    per_layer = sum(evaluate(e, dims) for e in fam.spec.get("layer_extras") or [])
    per_moe = sum(evaluate(e, dims) for e in fam.spec.get("moe_extras") or [])
    return norms, once + per_layer * num_layers + per_moe * moe_layers
