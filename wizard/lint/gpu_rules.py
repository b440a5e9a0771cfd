"""Mixes that misbehave on the GPU a run names, or with the trainer it uses: what Axolotl warns
about (it accepts the config, then the run trains on a 0.0 loss or crashes) and what fails at
the trainer's start. `check` reports them; the answers path refuses to write them (RefusedMixes
in `render.runlint`): a run the wizard writes is one Axolotl does not warn about.

A rule that needs the GPU stays silent while the GPU is unknown.
"""

from __future__ import annotations

from wizard.axolotl import keys as K
from wizard.gpus.catalog import AMPERE, HOPPER, capability_of
from wizard.lint.context import Ctx
from wizard.lint.findings import Finding
from wizard.lint.rules import Rule

# The findings the wizard never writes although Axolotl accepts them: Axolotl's own warnings of
# a bad mix. (`check` reports them as warnings, for a config someone else wrote.)
BAD_MIX_CODES = frozenset({"packing-sdpa-bf16", "full-fp16-packing"})


def _capability(ctx: Ctx) -> tuple[int, int] | None:
    arch = ctx.env.compute_capability
    return None if arch is None else capability_of(arch)


def packing_sdpa_bf16(ctx: Ctx) -> list[Finding]:
    """AxolotlConfigWCapabilities.check_sample_packing_w_sdpa_bf16: packing with torch SDPA in
    bf16 before Hopper 'may result in 0.0 loss'."""
    view, capability = ctx.view, _capability(ctx)
    if capability is None or capability >= HOPPER or ctx.env.cpu:
        return []
    if not (view.sample_packing and view.attention == "sdpa" and view.in_bf16):
        return []
    return [
        ctx.at(
            "warning",
            "packing-sdpa-bf16",
            f"sample packing with torch SDPA in bf16 on {ctx.env.compute_capability} may train on "
            "a 0.0 loss (Axolotl's warning; Hopper and newer are spared)",
            "use `attn_implementation: flash_attention_2` (pip install flash-attn), or "
            "`sample_packing: false`",
            (K.SAMPLE_PACKING,),
        )
    ]


def flash_attn_needs_ampere(ctx: Ctx) -> list[Finding]:
    """flash-attn 2 has no kernels before Ampere (sm_80): loading the model fails."""
    view, capability = ctx.view, _capability(ctx)
    if capability is None or capability >= AMPERE or not view.needs_flash_attn:
        return []
    return [
        ctx.at(
            "error",
            "flash-attn-arch",
            f"{view.attention} needs an Ampere GPU (sm_80) or newer, and this one is "
            f"{ctx.env.compute_capability}: loading the model fails",
            "use `attn_implementation: sdpa`",
            (K.ATTN_IMPLEMENTATION,),
        )
    ]


def full_fp16_packing(ctx: Ctx) -> list[Finding]:
    """AxolotlInputConfig.check_fft_possible_bad_config: a full fine-tune in fp16 with packing
    and without flash-attn 'is likely to raise errors' (its fp16 weights meet the AMP scaler)."""
    view = ctx.view
    fp16_only = view.in_fp16 and not view.in_bf16
    if view.adapter or not fp16_only or view.needs_flash_attn or not view.sample_packing:
        return []
    return [
        ctx.at(
            "warning",
            "full-fp16-packing",
            "a full fine-tune in fp16 with sample packing and without flash-attn is likely to "
            "fail (Axolotl's warning: the fp16 weights meet the AMP scaler)",
            "train in fp32 (`fp16: false`), bf16 on an Ampere GPU, or with LoRA",
            (K.FP16,),
        )
    ]


def kto_micro_batch(ctx: Ctx) -> list[Finding]:
    """TRL's KTOTrainer refuses one sequence a GPU: its KL term is estimated across the micro
    batch ('Actual (not effective) batch size must be > 1')."""
    view = ctx.view
    if view.rl != "kto" or view.micro_batch_size > 1:
        return []
    return [
        ctx.at(
            "error",
            "kto-micro-batch",
            "KTO needs at least 2 sequences a GPU per step: TRL estimates its KL term across "
            "the micro batch and refuses 1 when training starts",
            "set `micro_batch_size: 2` or more",
            (K.MICRO_BATCH_SIZE,),
        )
    ]


GPU_RULES: list[Rule] = [packing_sdpa_bf16, flash_attn_needs_ampere, full_fp16_packing,
                         kto_micro_batch]  # fmt: skip
