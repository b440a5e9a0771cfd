"""The `deepspeed:` JSON: find it, parse it, check it against our model of DeepSpeed's config,
and check that it agrees with the YAML.

DeepSpeed's zero_optimization and offload models forbid unknown keys (a typo there crashes the
launch after the model has loaded, minutes in); its top level is read with dict.get, so a typo
there is silently ignored. Batch fields should be "auto" so the YAML stays the one source of
truth: HF's integration fills "auto" from the YAML and raises on concrete values that disagree.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.deepspeed_file import deepspeed_places, find_deepspeed, read_deepspeed
from wizard.lint.context import Ctx, DeepSpeedFile
from wizard.lint.did_you_mean import did_you_mean
from wizard.lint.findings import Finding
from wizard.lint.positions import load_located
from wizard.resources import package_path
from wizard.yamlio import non_finite_paths

# Keys of the DeepSpeed JSON whose names Axolotl's config also uses, for its own settings: the
# precision blocks (which must agree with the YAML's flags), the compile switch, the offload device.
DS_BF16, DS_BFLOAT16, DS_FP16 = "bf16", "bfloat16", "fp16"
DS_TORCH_COMPILE, DS_COMPILE = "torch_compile", "compile"
DS_DEVICE = "device"


@cache
def ds_tables() -> dict[str, Any]:
    raw = package_path("wizard.axolotl.schemas", "deepspeed.json").read_text("utf-8")
    tables: dict[str, Any] = json.loads(raw)
    return tables


def load_deepspeed(ctx: Ctx) -> tuple[DeepSpeedFile | None, list[Finding]]:
    """The JSON the config names (or its inline mapping); a missing file is a warning, a NaN /
    Infinity in it an error finding; a file that does not parse is a WizardError (bad input,
    like a broken YAML)."""
    value = ctx.view.value(K.DEEPSPEED)
    if isinstance(value, dict):
        return DeepSpeedFile(value), []
    if not isinstance(value, str) or not value.strip():
        return None, []
    found = find_deepspeed(value, ctx.base_dir, ctx.env.working_dir)
    if found is None:
        return None, [_missing(ctx, value)]
    loaded = read_deepspeed(found)
    # JSON is YAML, so the YAML loader gives us line numbers for the JSON keys too.
    ds = DeepSpeedFile(loaded.data, str(found), load_located(loaded.text, str(found)))
    in_ds = ctx._replace(deepspeed=ds).in_ds  # findings placed in the JSON
    return ds, [
        in_ds(
            "error",
            "deepspeed-not-finite",
            f"`{'.'.join(map(str, key))}` is {spelling} in the DeepSpeed config; DeepSpeed needs "
            "a finite number",
            'write a number, or "auto"',
            key,
        )
        for key, spelling in non_finite_paths(loaded.data)
    ]


def _missing(ctx: Ctx, value: str) -> Finding:
    """A warning, not an error: Axolotl's validate_config never opens the file (it may be on the
    training machine, e.g. Axolotl's own `deepspeed_configs/zero2.json` there), so only the
    launch fails without it; `launch`'s preflight makes it an error."""
    tried = " or ".join(str(p) for p in deepspeed_places(value, ctx.base_dir, ctx.env.working_dir))
    absolute = Path(value).expanduser().is_absolute()
    where = "on this machine" if absolute else f"here (looked for {tried})"
    return ctx.at(
        "warning",
        "deepspeed-missing",
        f"`deepspeed: {value}` does not exist {where}; its ZeRO settings are not checked, and "
        "the launch needs it where the training runs",
        "fix the path, or generate one with `axolotl fetch deepspeed_configs`",
        (K.DEEPSPEED,),
    )


def check_structure(ctx: Ctx) -> list[Finding]:
    ds = ctx.deepspeed
    if ds is None:
        return []
    tables, out = ds_tables(), []
    for key in ds.data:
        if key not in tables["top_level"]:
            out.append(
                ctx.in_ds(
                    "warning",
                    "deepspeed-unknown-key",
                    f"`{key}` is not a "
                    f"DeepSpeed key{did_you_mean(key, tables['top_level'])}; "
                    "DeepSpeed ignores it",
                    None,
                    (key,),
                )
            )
    zero = ds.data.get("zero_optimization")
    if isinstance(zero, dict):
        out += _check_section(ctx, zero, ("zero_optimization",), tables["zero_optimization"])
        out += _check_stage(ctx, zero)
        for name in ("offload_param", "offload_optimizer"):
            if isinstance(zero.get(name), dict):
                out += _check_offload(ctx, zero[name], name, tables)
    return out


def _check_section(
    ctx: Ctx, section: dict[str, Any], path: tuple[str, ...], known: list[str]
) -> list[Finding]:
    return [
        ctx.in_ds(
            "error",
            "deepspeed-unknown-key",
            f"`{'.'.join((*path, key))}` is not "
            f"a DeepSpeed key{did_you_mean(key, known)}; DeepSpeed refuses the file",
            "fix or delete it",
            (*path, key),
        )
        for key in section
        if key not in known
    ]


def _check_stage(ctx: Ctx, zero: dict[str, Any]) -> list[Finding]:
    stage = zero.get("stage", 0)
    if stage not in (0, 1, 2, 3):
        return [
            ctx.in_ds(
                "error",
                "deepspeed-stage",
                f"zero_optimization.stage is {stage!r}; it must be 0, 1, 2 or 3",
                None,
                ("zero_optimization", "stage"),
            )
        ]
    return []


def _check_offload(
    ctx: Ctx, section: dict[str, Any], name: str, tables: dict[str, Any]
) -> list[Finding]:
    path = ("zero_optimization", name)
    out = _check_section(ctx, section, path, tables[name])
    device = section.get(DS_DEVICE, "none")
    if device not in tables["offload_devices"]:
        out.append(
            ctx.in_ds(
                "error",
                "deepspeed-offload",
                f"{name}.device is {device!r}; "
                f"expected one of {', '.join(tables['offload_devices'])}",
                None,
                (*path, DS_DEVICE),
            )
        )
    elif device == "nvme":
        nvme = section.get("nvme_path")
        if not nvme:
            out.append(
                ctx.in_ds(
                    "error",
                    "deepspeed-offload",
                    f"{name} offloads to nvme but has no `nvme_path`",
                    "add nvme_path: /local/nvme/folder",
                    (*path, DS_DEVICE),
                )
            )
        elif ctx.env.packages is not None and not Path(str(nvme)).is_dir():
            out.append(
                ctx.in_ds(
                    "warning",
                    "deepspeed-offload",
                    f"{name}.nvme_path {nvme} does not exist on this machine",
                    None,
                    (*path, "nvme_path"),
                )
            )
    return out


def stage(ctx: Ctx) -> int | None:
    ds = ctx.deepspeed
    zero = ds.data.get("zero_optimization") if ds else None
    value = zero.get("stage") if isinstance(zero, dict) else None
    return value if isinstance(value, int) else None


def offload_device(ctx: Ctx, name: str) -> str:
    ds = ctx.deepspeed
    zero = ds.data.get("zero_optimization", {}) if ds else {}
    section = zero.get(name) if isinstance(zero, dict) else None
    return str(section.get(DS_DEVICE, "none")) if isinstance(section, dict) else "none"
