"""Generate `wizard/axolotl/schemas/axolotl-<version>.json` from the installed Axolotl.

Run it in an environment with axolotl installed (this is the only place the wizard imports it at
build time):

    HF_HUB_OFFLINE=1 AXOLOTL_DO_NOT_TRACK=1 python scripts/gen_axolotl_schema.py

`AxolotlInputConfig.model_json_schema()` fails because one enum holds `torch.dtype` values, and
`axolotl config-schema` then falls back to a simplified schema without descriptions. A custom
GenerateJsonSchema maps that enum to a string enum and gets the full schema. Plugins add their own
keys (`plugins: [axolotl.integrations.liger.LigerPlugin]` enables `liger_rope`, ...), so each
integration's args model is recorded under the plugin names a config may use. Deprecations are
read from the field metadata and by running Axolotl's own deprecation validators.
"""

from __future__ import annotations

import argparse
import ast
import enum
import importlib
import inspect
import json
import logging
import pkgutil
import re
import sys
import warnings
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parent.parent / "wizard" / "axolotl" / "schemas"
FORMAT = 1


def _generator() -> type:
    from pydantic.json_schema import GenerateJsonSchema

    class DtypeAwareSchema(GenerateJsonSchema):  # type: ignore[misc]
        """Enums whose members are torch dtypes become enums of the member names."""

        def enum_schema(self, schema: Any) -> dict[str, Any]:
            cls = schema["cls"]
            if any(not isinstance(m.value, str | int | float | bool) for m in cls):
                return {"type": "string", "enum": [m.name for m in cls], "title": cls.__name__}
            result: dict[str, Any] = super().enum_schema(schema)
            return result

    return DtypeAwareSchema


def model_schema(model: Any) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(
        by_alias=True, schema_generator=_generator(), mode="validation"
    )
    return schema


def field_aliases(model: Any) -> dict[str, str]:
    """Field name -> alias, for fields a config may spell either way (populate_by_name)."""
    return {name: f.alias for name, f in model.model_fields.items() if f.alias and f.alias != name}


def field_deprecations(model: Any) -> dict[str, str]:
    out = {}
    for name, info in model.model_fields.items():
        if info.deprecated:
            out[info.alias or name] = str(info.deprecated)
    return out


def removed_parameters() -> dict[str, dict[str, str]]:
    """Run each DeprecatedParameters validator: raising means removed, logging deprecated.

    Validators differ in what triggers them (`if value:` or `if value is not None:`), so each is
    run on a truthy and on a falsy value and the result is recorded as `when`.
    """
    from axolotl.utils.schemas.deprecated import DeprecatedParameters

    out: dict[str, dict[str, str]] = {}
    for name, info in DeprecatedParameters.model_fields.items():
        types = _types(info.annotation)
        truthy = next((v for t, v in _SAMPLES.items() if t in types), "x")
        falsy = next((v for t, v in _FALSY.items() if t in types), "")
        raised, message = _run_validator(DeprecatedParameters, name, truthy)
        if raised:
            when = "set" if _run_validator(DeprecatedParameters, name, falsy)[0] else "truthy"
            out[name] = {"status": "removed", "message": message, "when": when}
        else:
            out[name] = {"status": "deprecated", "message": message, "when": "set"}
    return out


_SAMPLES: dict[Any, Any] = {int: 1, float: 0.5, str: "x", bool: True}
_FALSY: dict[Any, Any] = {int: 0, float: 0.0, str: "", bool: False}


def _run_validator(model: Any, name: str, value: Any) -> tuple[bool, str]:
    records: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler = Catch()
    logger = logging.getLogger("axolotl")
    logger.addHandler(handler)
    try:
        model(**{name: value})
    except Exception as err:
        return True, _first_line(err)
    finally:
        logger.removeHandler(handler)
    return False, records[0] if records else ""


# Renames Axolotl applies (or asks for) in validators rather than in field metadata.
CURATED_RENAMES = {
    "sequence_parallel_degree": "context_parallel_size",
    "dataset_processes": "dataset_num_proc",
    "pretrain_multipack_buffer_size": "streaming_multipack_buffer_size",
    "noisy_embedding_alpha": "neftune_noise_alpha",
}
# Deprecated keys whose message names a newer key that is not the same setting: Axolotl 0.19
# keeps reading `eval_max_new_tokens` (its eval-metric callbacks), and `generation_max_new_tokens`
# belongs to the newer generate_samples feature, so renaming one to the other changes a run.
NOT_RENAMES = frozenset({"eval_max_new_tokens"})
_USE = re.compile(r"\buse `?(\w+)`?(?: instead)?\.?$", re.I)


def renames(messages: dict[str, str], known: set[str]) -> dict[str, str]:
    """Old key -> new key where a deprecation message says just "use <key> instead"."""
    out = dict(CURATED_RENAMES)
    for old, message in messages.items():
        match = _USE.search(message.strip())
        if match and match.group(1) in known and old not in out:
            out[old] = match.group(1)
    return {k: v for k, v in sorted(out.items()) if v in known and k not in NOT_RENAMES}


def same_shape(config: dict[str, Any], old: str, new: str) -> bool:
    """A rename is only mechanical when both keys take the same JSON types (`fsdp` is a list,
    its replacement `fsdp_config` a mapping: that one needs a person)."""

    def kinds(key: str) -> set[str]:
        prop = config["properties"].get(key, {})
        branches = prop.get("anyOf", [prop])
        return {b.get("type", b.get("$ref", "")) for b in branches} - {"null"}

    return kinds(old) == kinds(new)


# DeepSpeed reads its top level by hand (dict.get), so there is no model to list the keys from.
DS_TOP_LEVEL = sorted(
    [
        "train_batch_size",
        "train_micro_batch_size_per_gpu",
        "gradient_accumulation_steps",
        "steps_per_print",
        "optimizer",
        "scheduler",
        "fp16",
        "bf16",
        "bfloat16",
        "amp",
        "torch_autocast",
        "gradient_clipping",
        "graph_harvesting",
        "communication_data_type",
        "seq_parallel_communication_data_type",
        "prescale_gradients",
        "gradient_predivide_factor",
        "sparse_gradients",
        "zero_optimization",
        "zero_allow_untested_optimizer",
        "zero_force_ds_cpu_optimizer",
        "disable_allgather",
        "dump_state",
        "vocabulary_size",
        "wall_clock_breakdown",
        "memory_breakdown",
        "eigenvalue",
        "progressive_layer_drop",
        "checkpoint",
        "data_types",
        "dataloader_drop_last",
        "activation_checkpointing",
        "aio",
        "flops_profiler",
        "tensorboard",
        "wandb",
        "csv_monitor",
        "comet",
        "elasticity",
        "autotuning",
        "compression_training",
        "data_efficiency",
        "curriculum_learning",
        "sparse_attention",
        "pipeline",
        "compile",
        "nebula",
        "weight_quantization",
        "hybrid_engine",
        "load_universal_checkpoint",
        "use_node_local_storage",
        "timers",
        "tensor_parallel",
        "sequence_parallel_size",
        "use_data_before_expert_parallelism",
        "quantize_training",
        "fp8",
    ]
)


def deepspeed_tables() -> dict[str, Any]:
    """Key tables of the installed DeepSpeed's config models (they forbid unknown keys)."""
    import deepspeed
    from deepspeed.runtime.zero.config import DeepSpeedZeroConfig
    from deepspeed.runtime.zero.offload_config import (
        DeepSpeedZeroOffloadOptimizerConfig,
        DeepSpeedZeroOffloadParamConfig,
        OffloadDeviceEnum,
    )

    def keys(model: Any) -> list[str]:
        names = set(model.model_fields)
        names |= {f.alias for f in model.model_fields.values() if f.alias}
        return sorted(names)

    return {
        "format": FORMAT,
        "deepspeed_version": deepspeed.__version__,
        "top_level": DS_TOP_LEVEL,
        "zero_optimization": keys(DeepSpeedZeroConfig),
        "offload_param": keys(DeepSpeedZeroOffloadParamConfig),
        "offload_optimizer": keys(DeepSpeedZeroOffloadOptimizerConfig),
        "offload_devices": [d.value for d in OffloadDeviceEnum],
    }


def _types(annotation: Any) -> set[Any]:
    args = getattr(annotation, "__args__", None)
    return set(args) if args else {annotation}


def _first_line(err: BaseException) -> str:
    text = str(err)
    match = re.search(r"(?:DeprecationWarning|Value error),? ?(.*?)(?: \[type=|$)", text, re.S)
    line = (match.group(1) if match else text).strip().splitlines()
    return line[0] if line else text


def _plugin_classes_static(package_dir: Path) -> list[str]:
    """Plugin class names found by reading the source, for packages that fail to import."""
    names = []
    for path in package_dir.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                getattr(b, "id", getattr(b, "attr", "")) == "BasePlugin" for b in node.bases
            ):
                names.append(node.name)
    return names


def _args_fields_static(package_dir: Path) -> list[str]:
    path = package_dir / "args.py"
    if not path.exists():
        return []
    fields = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ClassDef):
            fields += [
                s.target.id
                for s in node.body
                if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
            ]
    return sorted(set(fields) - {"model_config"})


def plugin_entries() -> dict[str, dict[str, Any]]:
    import axolotl.integrations as integrations
    from axolotl.integrations.base import BasePlugin

    out: dict[str, dict[str, Any]] = {}
    for info in pkgutil.iter_modules(integrations.__path__):
        if not info.ispkg:
            continue
        package = f"{integrations.__name__}.{info.name}"
        package_dir = Path(integrations.__path__[0]) / info.name
        try:
            module = importlib.import_module(package)
        except Exception as err:
            missing = getattr(err, "name", None)
            for cls_name in _plugin_classes_static(package_dir):
                out[f"{package}.{cls_name}"] = {
                    "import_error": f"{type(err).__name__}: {err}",
                    "requires": missing,
                    "keys": _args_fields_static(package_dir),
                    "schema": None,
                }
            continue
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BasePlugin) and cls is not BasePlugin:
                out[f"{package}.{cls_name}"] = _plugin_entry(cls)
    return dict(sorted(out.items()))


def _plugin_entry(cls: Any) -> dict[str, Any]:
    args_path = cls().get_input_args()
    entry: dict[str, Any] = {"import_error": None, "requires": None, "args_model": args_path}
    if not args_path:
        return {**entry, "keys": [], "schema": None}
    module_name, _, class_name = args_path.rpartition(".")
    model = getattr(importlib.import_module(module_name), class_name)
    schema = model_schema(model)
    return {**entry, "keys": sorted(schema.get("properties", {})), "schema": schema}


def enums() -> dict[str, list[str]]:
    """The names Axolotl accepts where its schema says only "a string": the wizard's answers take
    their choices from here, never from a list typed by hand."""
    from axolotl.utils.schemas import enums as axolotl_enums
    from transformers.trainer_utils import (
        HubStrategy,
        IntervalStrategy,
        SaveStrategy,
        SchedulerType,
    )
    from transformers.training_args import OptimizerNames

    custom = [o.value for o in axolotl_enums.CustomSupportedOptimizers]
    return {
        "optimizer": [o.value for o in OptimizerNames] + custom,
        # Axolotl runs these two itself on top of a cosine schedule (core/builders/base.py).
        "lr_scheduler": [s.value for s in SchedulerType] + ["one_cycle", "rex"],
        "eval_strategy": [s.value for s in IntervalStrategy],
        "save_strategy": [s.value for s in SaveStrategy],
        "hub_strategy": [s.value for s in HubStrategy],
        "attn_implementation": sorted(axolotl_enums.CANONICAL_ATTN_IMPLS),
        "chat_template": [t.value for t in axolotl_enums.ChatTemplate],
    }


def generate() -> dict[str, Any]:
    import axolotl
    from axolotl.utils.schemas.config import AxolotlInputConfig
    from axolotl.utils.schemas.datasets import (
        DPODataset,
        KTODataset,
        PretrainingDataset,
        SFTDataset,
        StepwiseSupervisedDataset,
        SyntheticDataset,
    )

    datasets = {
        m.__name__: model_schema(m)
        for m in (
            SFTDataset,
            DPODataset,
            KTODataset,
            StepwiseSupervisedDataset,
            SyntheticDataset,
            PretrainingDataset,
        )
    }
    config = model_schema(AxolotlInputConfig)
    removed = removed_parameters()
    deprecations = field_deprecations(AxolotlInputConfig)
    messages = {**deprecations, **{k: v["message"] for k, v in removed.items()}}
    return {
        "format": FORMAT,
        "axolotl_version": axolotl.__version__,
        "generated_by": "scripts/gen_axolotl_schema.py",
        "config": config,
        "field_aliases": field_aliases(AxolotlInputConfig),
        "field_deprecations": deprecations,
        "removed": removed,
        "renames": {
            old: new
            for old, new in renames(messages, set(config["properties"])).items()
            if same_shape(config, old, new)
        },
        "dataset_models": datasets,
        "enums": enums(),
        "plugins": plugin_entries(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    data = generate()
    path = args.out_dir / f"axolotl-{data['axolotl_version']}.json"
    path.write_text(json.dumps(data, indent=1, sort_keys=True, default=_json_default) + "\n")
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB, {len(data['plugins'])} plugins)")
    ds_path = args.out_dir / "deepspeed.json"
    ds_path.write_text(json.dumps(deepspeed_tables(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {ds_path}")
    return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.name
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
