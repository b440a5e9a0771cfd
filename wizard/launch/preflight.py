"""Checks that run before anything starts: each says what is wrong and what to do.

A failed launch on a cluster costs a queue wait and minutes of model loading before it dies; every
check here catches, in well under a second, something that would otherwise fail late.
"""

from __future__ import annotations

from pathlib import Path

from wizard.axolotl import keys as K
from wizard.axolotl.paths import LOCAL_PREFIXES
from wizard.launch.checks import Check, Preflight, Problem
from wizard.launch.datacheck import check_datasets
from wizard.launch.outputs import check_disk, check_output_dir
from wizard.launch.probe import offline, package_versions, visible_gpus
from wizard.launch.tokencheck import check_tokens
from wizard.models.hub_cache import cached_snapshot

REQUIRED = ("axolotl", "accelerate")
# Warnings from `check` (the file may be on the training machine) that are errors here, where
# the run starts on this machine.
MUST_EXIST_HERE = frozenset({"deepspeed-missing"})


def run_preflight(pre: Preflight) -> Preflight:
    checks: tuple[Check, ...] = (
        check_config, check_packages, check_gpus, check_model, check_chat_template,
        check_datasets, check_output_dir, check_disk, check_tokens,
    )  # fmt: skip
    for check in checks:
        check(pre)
    return pre


def check_config(pre: Preflight) -> None:
    """The config passes `check` (the wizard's own linter, no Axolotl import)."""
    from wizard.lint import Env, lint_dict

    env = Env.for_cpu(cwd=pre.target.run_dir) if pre.layout.cpu else Env(cwd=pre.target.run_dir)
    findings = lint_dict(dict(pre.target.config.raw), env=env, source=pre.target.config_path)
    errors = [f for f in findings if f.severity == "error" or f.code in MUST_EXIST_HERE]
    for finding in errors:
        pre.error(f"{finding.where}: {finding.message}", finding.fix)
    if errors:
        pre.problems[-1] = Problem(
            "error", pre.problems[-1].message,
            f"see `axolotl-wizard check {pre.target.config_path}` for every finding",
        )  # fmt: skip


def check_packages(pre: Preflight) -> None:
    """axolotl and accelerate importable by the Python that runs the child; versions recorded."""
    pre.versions = package_versions(pre.python)
    for name in REQUIRED:
        if pre.versions.get(name) is None:
            pre.machine_lacks(
                f"{name} is not importable by {pre.python}",
                "install the training extra there: pip install 'axolotl-wizard[train]' "
                "(with torch pinned), or pass --python PATH of the environment that has it",
            )
    _check_flash_attn(pre)
    _check_ring_flash_attn(pre)
    made_for, found = pre.target.made_for_axolotl, pre.versions.get("axolotl")
    if made_for and found and found != made_for:
        pre.warn(
            f"this config was made for Axolotl {made_for}, and {pre.python} has {found}",
            f"check it with `axolotl-wizard check --axolotl {pre.target.config_path}`",
        )


def _check_flash_attn(pre: Preflight) -> None:
    """flash-attention 2 is a launch requirement of the runs that use it (the recipe picks it
    on Ampere to Hopper): without the package, loading the model fails minutes in."""
    config = pre.target.config
    if not config.needs_flash_attn or pre.versions.get("flash_attn") is not None:
        return
    report = pre.warn if pre.elsewhere else pre.machine_lacks
    report(
        f"{config.attention} needs the flash-attn package, which {pre.python} cannot import",
        "pip install flash-attn --no-build-isolation there (it builds against its torch), or "
        "make the run again with --set training.attention=sdpa",
    )


def _check_ring_flash_attn(pre: Preflight) -> None:
    """Context parallelism's ring attention is the ring-flash-attn package: Axolotl refuses to
    start without it (lint's `missing-package` says the same where packages are known)."""
    size = pre.target.config.context_parallel
    if size < 2 or pre.versions.get("ring_flash_attn") is not None:
        return
    report = pre.warn if pre.elsewhere else pre.machine_lacks
    report(
        f"context_parallel_size {size} needs the ring-flash-attn package, which {pre.python} "
        "cannot import",
        "pip install 'ring-flash-attn>=0.1.4' there (with flash-attn), or make the run again "
        "without distributed.context_parallel_size",
    )


def check_gpus(pre: Preflight) -> None:
    """Visible GPUs against the plan, and the memory estimate against their memory."""
    if pre.layout.cpu or pre.elsewhere:
        return
    pre.gpus = gpus = visible_gpus()
    wanted = pre.layout.processes_per_node
    if gpus.count == 0:
        pre.machine_lacks(
            f"the plan needs {wanted} GPU(s) on this node, and none is visible "
            f"(checked {'nvidia-smi' if gpus.source == 'none' else gpus.source})",
            "run on a GPU machine, fix CUDA_VISIBLE_DEVICES, or pass --cpu for a CPU smoke test",
        )
        return
    if gpus.count < wanted:
        pre.machine_lacks(
            f"the plan needs {wanted} GPUs on this node, and {gpus.count} are visible "
            f"({gpus.source})",
            f"pass --gpus {gpus.count} (the batch per step shrinks), or free the GPUs",
        )
    elif gpus.count > wanted:
        pre.warn(f"{gpus.count} GPUs are visible and the plan uses {wanted}",
                 f"pass --gpus {gpus.count} to use them all")  # fmt: skip
    if gpus.memory_gib:
        _check_memory(pre, min(gpus.memory_gib[:wanted]))


def _check_memory(pre: Preflight, gpu_mem_gib: float) -> None:
    from wizard.estimate import estimate
    from wizard.launch.outputs import deepspeed_dict
    from wizard.models import resolve_arch

    base = pre.target.config.base_model or ""
    try:
        arch = resolve_arch(base, base_dir=pre.target.run_dir)
    except Exception as err:  # an unknown architecture only skips the estimate
        pre.warn(f"no memory estimate for {base}: {err}")
        return
    deepspeed = deepspeed_dict(pre.target)
    if pre.target.config.value(K.DEEPSPEED) and deepspeed is None:
        return  # a missing or broken DeepSpeed JSON: check_config has reported it
    result = estimate(pre.target.config, arch, deepspeed=deepspeed,
                      gpus=pre.layout.num_processes, gpu_mem_gib=gpu_mem_gib)  # fmt: skip
    if result.fits is False:
        first = result.advice[0].change if result.advice else None
        pre.machine_lacks(
            f"estimated peak {result.peak_gib_per_gpu:.1f} GiB per GPU does not fit in "
            f"{gpu_mem_gib:.0f} GiB",
            (f"try: {first}; " if first else "")
            + f"see `axolotl-wizard estimate {pre.target.config_path} --gpu-mem "
            f"{gpu_mem_gib:.0f}`",
        )


def check_model(pre: Preflight) -> None:
    """The base model is a local folder, in the HF cache, or downloadable (not offline)."""
    base = pre.target.config.text(K.BASE_MODEL)
    if not base:
        return  # check_config has said so
    local = pre.target.run_dir / Path(base).expanduser()
    if local.exists() or base.startswith(LOCAL_PREFIXES):
        if not (local / "config.json").is_file():
            pre.error(
                f"base_model {base} is not a model folder (no {local / 'config.json'})",
                "paths in the config are relative to its folder; fix base_model",
            )
        return
    if cached_snapshot(base) is not None:
        return
    if offline():
        report = pre.warn if pre.elsewhere else pre.machine_lacks
        report(
            f"base_model {base} is not in the Hugging Face cache, and HF_HUB_OFFLINE is set",
            f"download it first (huggingface-cli download {base}) or unset HF_HUB_OFFLINE",
        )
    else:
        pre.warn(f"base_model {base} is not cached; it will be downloaded from the Hub")


def check_chat_template(pre: Preflight) -> None:
    """Chat data read with the tokenizer's own template needs a tokenizer that has one; the
    tokenizer is looked at where it is on this machine (a folder, or the Hugging Face cache)."""
    from wizard.models.tokenizer import has_chat_template, needs_tokenizer_template

    config = pre.target.config
    indexes = needs_tokenizer_template(config)
    source = config.tokenizer_source
    if not indexes or not source:
        return
    local = pre.target.run_dir / Path(source).expanduser()
    folder = local if local.is_dir() else cached_snapshot(source)
    if folder is None or has_chat_template(folder) is not False:
        return
    pre.error(
        f"datasets[{indexes[0]}] is chat data, and the tokenizer of {source} has no chat "
        "template for it (the config names none)",
        "set chat_template: chatml (or --set axolotl.chat_template=chatml when making the run), "
        "or chat_template_jinja: with your own",
    )
