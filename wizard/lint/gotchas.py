"""Hardware and environment gotchas: configs Axolotl accepts that then fail or waste the run.

Facts about the machine come from `ctx.env`; a rule whose fact is unknown stays silent.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from wizard.axolotl.attention import KEEP_PACKED_APART, NEED_FLASH_ATTN, backend
from wizard.axolotl.fsdp import fsdp_version
from wizard.axolotl.paths import is_local_path
from wizard.lint.context import Ctx
from wizard.lint.findings import Finding
from wizard.lint.rules import Rule
from wizard.models.tokenizer import has_chat_template, needs_tokenizer_template


def attention(ctx: Ctx) -> str | None:
    return backend(ctx.cfg, ctx.enabled)


def flash_attn_missing(ctx: Ctx) -> list[Finding]:
    impl = attention(ctx)
    if impl in NEED_FLASH_ATTN and ctx.env.has("flash_attn") is False:
        key = "attn_implementation" if ctx.value("attn_implementation") else "flash_attention"
        return [
            ctx.at(
                "warning",
                "missing-package",
                f"{impl} needs the flash-attn package, "
                "which is not installed here; loading the model will fail",
                "pip install flash-attn --no-build-isolation, or use `attn_implementation: sdpa`",
                (key,),
            )
        ]
    return []


def bf16_unsupported(ctx: Ctx) -> list[Finding]:
    """AxolotlConfigWCapabilities.check_bf16 rejects bf16 on a GPU without it."""
    if (
        ctx.env.bf16 is False
        and not ctx.env.cpu
        and (ctx.value("bf16") is True or ctx.value("bfloat16") is True)
        and not ctx.enabled("merge_lora")
    ):
        return [
            ctx.at(
                "error",
                "bf16-unsupported",
                f"`bf16: true` but the GPU "
                f"({ctx.env.compute_capability or 'pre-Ampere'}) has no bf16",
                "use `bf16: false` and `fp16: true` (or `bf16: auto`)",
                ("bf16",),
            )
        ]
    return []


def auto_precision_on_cpu(ctx: Ctx) -> list[Finding]:
    if not ctx.env.cpu:
        return []
    out = []
    for key in ("bf16", "fp16"):
        value = ctx.value(key)
        if value == "auto" or (key == "fp16" and value is True):
            out.append(
                ctx.at(
                    "error" if value is True else "warning",
                    "cpu-precision",
                    f"`{key}: {value}` on a CPU: mixed precision here resolves to "
                    "fp16 AMP, which needs a GPU",
                    f"set `{key}: false` for a CPU run",
                    (key,),
                )
            )
    return out


def fsdp_on_cpu(ctx: Ctx) -> list[Finding]:
    """FSDP cannot train on CPU processes: Axolotl builds its device mesh for CUDA whatever the
    device (axolotl/utils/distributed.py: `build_device_mesh("cuda")`), and accelerate makes an
    FSDP plugin only for GPU-like processes (accelerate/state.py), so a CPU launch fails."""
    if not ctx.env.cpu or fsdp_version(ctx.cfg) is None:
        return []
    key = "fsdp_config" if ctx.value("fsdp_config") else "fsdp"
    return [
        ctx.at(
            "error",
            "fsdp-on-cpu",
            f"`{key}` on CPU processes: Axolotl and accelerate run FSDP on GPUs only",
            "launch on GPUs, or drop the fsdp keys for a CPU smoke test (plain DDP)",
            (key,),
        )
    ]


def packing_attention(ctx: Ctx) -> list[Finding]:
    if not ctx.enabled("sample_packing"):
        return []
    impl = attention(ctx)
    if impl is None or impl not in KEEP_PACKED_APART:
        what = f"`attn_implementation: {impl}`" if impl else "no attention backend"
        return [
            ctx.at(
                "warning",
                "packing-attention",
                f"sample_packing with {what}: packed "
                "samples attend to each other (cross-contamination)",
                "set `attn_implementation: flash_attention_2` (or sdpa)",
                ("sample_packing",),
            )
        ]
    return []


def eval_batch_size(ctx: Ctx) -> list[Finding]:
    evals, micro = ctx.value("eval_batch_size"), ctx.value("micro_batch_size")
    if evals and micro and evals != micro:
        return [
            ctx.at(
                "warning",
                "eval-batch-size",
                f"eval_batch_size ({evals}) differs from "
                f"micro_batch_size ({micro}); memory use jumps at every evaluation",
                f"set `eval_batch_size: {micro}` or delete it",
                ("eval_batch_size",),
            )
        ]
    return []


def local_datasets(ctx: Ctx) -> list[Finding]:
    out: list[Finding] = []
    for key in ("datasets", "test_datasets"):
        entries: Any = ctx.value(key)
        if not isinstance(entries, list):
            continue
        for index, entry in enumerate(entries):
            path = entry.get("path") if isinstance(entry, dict) else None
            if isinstance(path, str) and is_local_path(path) and not _exists(path, ctx):
                out.append(
                    ctx.at(
                        "warning",
                        "dataset-missing",
                        f"{key}[{index}].path {path} "
                        "does not exist (relative paths are read from the folder you "
                        "launch in)",
                        "fix the path, or launch from the right folder",
                        (key, index, "path"),
                    )
                )
    return out


def _exists(path: str, ctx: Ctx) -> bool:
    candidate = Path(path).expanduser()
    # Normalised first: `runs/new/../../data/a.jsonl` names a file that exists even while
    # `runs/new` does not (yet), which the operating system would not resolve.
    return any(Path(os.path.normpath(base / candidate)).exists() for base in _bases(ctx))


def _bases(ctx: Ctx) -> list[Path]:
    """Where a relative path in the config may be read from (an absolute one ignores these)."""
    return [ctx.env.cwd] + ([ctx.base_dir] if ctx.base_dir else [])


# A full fine-tune at a LoRA-sized learning rate overwrites much of what the model knew.
FULL_LR_LIMIT = 1e-4


def full_finetune_learning_rate(ctx: Ctx) -> list[Finding]:
    if ctx.value("adapter") or ctx.value("pretraining_dataset"):
        return []
    rate = _number(ctx.value("learning_rate"))
    if rate is None or rate < FULL_LR_LIMIT:
        return []
    return [
        ctx.at(
            "warning",
            "full-learning-rate",
            f"learning_rate {rate:g} for a full fine-tune (no adapter): rates from 1e-4 up suit "
            "LoRA; full fine-tunes usually train at 1e-6 to 5e-5",
            "use e.g. `learning_rate: 1.0e-05`, or an adapter (`adapter: lora`)",
            ("learning_rate",),
        )
    ]


def _number(value: Any) -> float | None:
    # YAML 1.1 reads `2e-4` as a string; Axolotl's schema turns it into a float.
    if isinstance(value, bool):
        return None
    try:
        number = float(value) if isinstance(value, (int, float, str)) else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def tokenizer_without_chat_template(ctx: Ctx) -> list[Finding]:
    """Axolotl reads a chat dataset with the tokenizer's own template unless the config names
    one; a tokenizer without one fails only once training starts loading data."""
    indexes = needs_tokenizer_template(ctx.cfg)
    source = ctx.value("tokenizer_config") or ctx.value("base_model")
    if not indexes or not isinstance(source, str) or not is_local_path(source):
        return []
    folder = _local_folder(source, ctx)
    if folder is None or has_chat_template(folder) is not False:
        return []
    return [
        ctx.at(
            "error",
            "no-chat-template",
            f"datasets[{indexes[0]}] is chat_template data, but the tokenizer in {source} has "
            "no chat template and the config names none; Axolotl fails when it loads the data",
            "set `chat_template: chatml` (or another template Axolotl knows), or "
            "`chat_template_jinja:` with your own",
            ("datasets", indexes[0], "type"),
        )
    ]


def _local_folder(path: str, ctx: Ctx) -> Path | None:
    candidate = Path(path).expanduser()
    folders = [Path(os.path.normpath(base / candidate)) for base in _bases(ctx)]
    return next((folder for folder in folders if folder.is_dir()), None)


GOTCHAS: list[Rule] = [
    flash_attn_missing,
    bf16_unsupported,
    auto_precision_on_cpu,
    fsdp_on_cpu,
    packing_attention,
    eval_batch_size,
    local_datasets,
    full_finetune_learning_rate,
    tokenizer_without_chat_template,
]
