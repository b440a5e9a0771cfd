"""Hardware and environment gotchas: configs Axolotl accepts that then fail or waste the run.

Facts about the machine come from `ctx.env`; a rule whose fact is unknown stays silent.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.attention import KEEP_PACKED_APART
from wizard.axolotl.paths import is_local_path
from wizard.lint.context import Ctx
from wizard.lint.findings import Finding
from wizard.lint.removed import DATASET_LISTS
from wizard.lint.rules import Rule
from wizard.models.tokenizer import has_chat_template, needs_tokenizer_template


def flash_attn_missing(ctx: Ctx) -> list[Finding]:
    view = ctx.view
    if view.needs_flash_attn and ctx.env.has("flash_attn") is False:
        key = K.ATTN_IMPLEMENTATION if view.value(K.ATTN_IMPLEMENTATION) else K.FLASH_ATTENTION
        return [
            ctx.at(
                "warning",
                "missing-package",
                f"{view.attention} needs the flash-attn package, "
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
        and (ctx.view.bf16 is True or ctx.view.value(K.BFLOAT16) is True)
        and not ctx.view.on(K.MERGE_LORA)
    ):
        return [
            ctx.at(
                "error",
                "bf16-unsupported",
                f"`bf16: true` but the GPU "
                f"({ctx.env.compute_capability or 'pre-Ampere'}) has no bf16",
                "use `bf16: false` and `fp16: true` (or `bf16: auto`)",
                (K.BF16,),
            )
        ]
    return []


def auto_precision_on_cpu(ctx: Ctx) -> list[Finding]:
    if not ctx.env.cpu:
        return []
    out = []
    for key in (K.BF16, K.FP16):
        value = ctx.view.value(key)
        if value == "auto" or (key == K.FP16 and value is True):
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
    if not ctx.env.cpu or ctx.view.fsdp_version is None:
        return []
    key = K.FSDP_CONFIG if ctx.view.value(K.FSDP_CONFIG) else K.FSDP
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
    if not ctx.view.sample_packing:
        return []
    impl = ctx.view.attention
    if impl is None or impl not in KEEP_PACKED_APART:
        what = f"`attn_implementation: {impl}`" if impl else "no attention backend"
        return [
            ctx.at(
                "warning",
                "packing-attention",
                f"sample_packing with {what}: packed "
                "samples attend to each other (cross-contamination)",
                "set `attn_implementation: flash_attention_2` (or sdpa)",
                (K.SAMPLE_PACKING,),
            )
        ]
    return []


def eval_batch_size(ctx: Ctx) -> list[Finding]:
    evals, micro = ctx.view.value(K.EVAL_BATCH_SIZE), ctx.view.value(K.MICRO_BATCH_SIZE)
    if evals and micro and evals != micro:
        return [
            ctx.at(
                "warning",
                "eval-batch-size",
                f"eval_batch_size ({evals}) differs from "
                f"micro_batch_size ({micro}); memory use jumps at every evaluation",
                f"set `eval_batch_size: {micro}` or delete it",
                (K.EVAL_BATCH_SIZE,),
            )
        ]
    return []


def local_datasets(ctx: Ctx) -> list[Finding]:
    out: list[Finding] = []
    for key in DATASET_LISTS:
        entries: Any = ctx.view.value(key)
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
    return [ctx.env.working_dir] + ([ctx.base_dir] if ctx.base_dir else [])


# A full fine-tune at a LoRA-sized learning rate overwrites much of what the model knew.
FULL_LR_LIMIT = 1e-4


def full_finetune_learning_rate(ctx: Ctx) -> list[Finding]:
    if ctx.view.adapter or ctx.view.value(K.PRETRAINING_DATASET):
        return []
    rate = _number(ctx.view.value(K.LEARNING_RATE))
    if rate is None or rate < FULL_LR_LIMIT:
        return []
    return [
        ctx.at(
            "warning",
            "full-learning-rate",
            f"learning_rate {rate:g} for a full fine-tune (no adapter): rates from 1e-4 up suit "
            "LoRA; full fine-tunes usually train at 1e-6 to 5e-5",
            "use e.g. `learning_rate: 1.0e-05`, or an adapter (`adapter: lora`)",
            (K.LEARNING_RATE,),
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
    indexes = needs_tokenizer_template(dict(ctx.view.raw))
    source = ctx.view.value(K.TOKENIZER_CONFIG) or ctx.view.value(K.BASE_MODEL)
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
            (K.DATASETS, indexes[0], "type"),
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
