"""Axolotl's rules about evaluation and saving cadence, and the eval split.

Each rule names the validator it mirrors. These validators run in `mode="before"` on the raw
YAML, so they test Python truthiness of the raw values (`data.get(key)`), and so do we.
"""

from __future__ import annotations

from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.view import AxolotlConfig
from wizard.lint.context import Ctx
from wizard.lint.findings import Finding
from wizard.lint.rules import Rule


def _set(ctx: Ctx, key: str) -> bool:
    return bool(ctx.view.value(key))


def effective_eval_packing(view: AxolotlConfig) -> Any:
    """eval_sample_packing as Axolotl's check_eval_packing leaves it: with sample_packing and
    no eval table, an unset value becomes true."""
    value = view.value(K.EVAL_SAMPLE_PACKING)
    if value is None and view.value(K.SAMPLE_PACKING) and not view.value(K.EVAL_TABLE_SIZE):
        return True
    return value


def eval_packing(ctx: Ctx) -> list[Finding]:
    """DatasetValidationMixin.check_eval_packing and TrainingValidationMixin.check_causal_lm_evals:
    the eval table and causal-LM metrics generate from single samples, not packed ones."""
    out = []
    packing = _set(ctx, K.SAMPLE_PACKING)
    unpacked = ctx.view.value(K.EVAL_SAMPLE_PACKING) is False
    if packing and _set(ctx, K.EVAL_TABLE_SIZE) and not unpacked:
        out.append(_no_eval_packing(ctx, K.EVAL_TABLE_SIZE))
    if _set(ctx, K.DO_CAUSAL_LM_EVAL) and effective_eval_packing(ctx.view):
        out.append(_no_eval_packing(ctx, K.DO_CAUSAL_LM_EVAL))
    return out


def _no_eval_packing(ctx: Ctx, why: str) -> Finding:
    return ctx.at(
        "error",
        "eval-packing",
        f"`{why}` does not work with packed eval samples, and with `sample_packing: true` "
        "Axolotl packs evals unless told otherwise",
        "add `eval_sample_packing: false` (check --fix does)",
        (why,),
    )


def eval_cadence(ctx: Ctx) -> list[Finding]:
    """TrainingValidationMixin.check_evals."""
    strategy = ctx.view.value(K.EVAL_STRATEGY)
    steps, per_epoch = _set(ctx, K.EVAL_STEPS), _set(ctx, K.EVALS_PER_EPOCH)
    evals_key = K.EVAL_STEPS if steps else K.EVAL_STRATEGY
    no_split = ctx.view.value(K.VAL_SET_SIZE) == 0 and not _set(ctx, K.TEST_DATASETS)
    checks = [
        (
            bool(strategy) and steps and strategy != "steps",
            f"`eval_strategy: {strategy}` contradicts `eval_steps`",
            "set `eval_strategy: steps`, or remove eval_steps",
            K.EVAL_STRATEGY,
        ),
        (
            no_split and (steps or bool(strategy)) and strategy != "no",
            f"`{evals_key}` asks for evaluations, but `val_set_size: 0` and no `test_datasets` "
            "leave nothing to evaluate on",
            f"remove {evals_key}, or set `val_set_size: 0.05` (or add test_datasets)",
            evals_key,
        ),
        (
            per_epoch and steps,
            "`eval_steps` and `evals_per_epoch` both set the eval cadence",
            "keep one of them (a decision: --fix leaves it to you)",
            K.EVALS_PER_EPOCH,
        ),
        (
            per_epoch and bool(strategy) and strategy != "steps",
            f"`evals_per_epoch` needs eval_strategy unset or `steps`, not `{strategy}`",
            "remove eval_strategy",
            K.EVAL_STRATEGY,
        ),
        (
            _set(ctx, K.DO_BENCH_EVAL) and not (per_epoch or steps),
            "`do_bench_eval` needs `evals_per_epoch` or `eval_steps`",
            "add `evals_per_epoch: 1`",
            K.DO_BENCH_EVAL,
        ),
    ]
    return [_cadence(ctx, message, fix, key) for fires, message, fix, key in checks if fires]


def save_cadence(ctx: Ctx) -> list[Finding]:
    """TrainingValidationMixin.check_saves."""
    strategy = ctx.view.value(K.SAVE_STRATEGY)
    steps = _set(ctx, K.SAVE_STEPS)
    checks = [
        (
            bool(strategy) and steps and strategy != "steps",
            f"`save_strategy: {strategy}` contradicts `save_steps`",
            "set `save_strategy: steps`, or remove save_steps",
            K.SAVE_STRATEGY,
        ),
        (
            _set(ctx, K.SAVES_PER_EPOCH) and steps,
            "`save_steps` and `saves_per_epoch` both set the save cadence",
            "keep one of them (a decision: --fix leaves it to you)",
            K.SAVES_PER_EPOCH,
        ),
    ]
    return [_cadence(ctx, message, fix, key) for fires, message, fix, key in checks if fires]


def _cadence(ctx: Ctx, message: str, fix: str, key: str) -> Finding:
    return ctx.at("error", "cadence", message, fix, (key,))


def eval_split(ctx: Ctx) -> list[Finding]:
    """DatasetValidationMixin.check_val_w_test_datasets and PretrainingValidationMixin's
    check_pretraining_w_val_set_size / check_streaming_w_val_set_size: a split of the training
    data needs the data up front, as a list, and only one source of eval data."""
    if not _set(ctx, K.VAL_SET_SIZE):
        return []
    for key, why in (
        (K.TEST_DATASETS, "`test_datasets` already provides the eval data"),
        (K.PRETRAINING_DATASET, "a pretraining_dataset streams, so there is no split to take"),
        (K.STREAMING, "a streamed dataset cannot be split"),
    ):
        if _set(ctx, key):
            return [
                ctx.at(
                    "error",
                    "val-set-size",
                    f"`val_set_size` with `{key}`: {why}",
                    "remove val_set_size"
                    + ("" if key == K.TEST_DATASETS else " and give eval data in test_datasets"),
                    (K.VAL_SET_SIZE,),
                )
            ]
    return []


EVAL_RULES: list[Rule] = [eval_packing, eval_cadence, save_cadence, eval_split]
