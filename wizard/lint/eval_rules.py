"""Axolotl's rules about evaluation and saving cadence, and the eval split.

Each rule names the validator it mirrors. These validators run in `mode="before"` on the raw
YAML, so they test Python truthiness of the raw values (`data.get(key)`), and so do we.
"""

from __future__ import annotations

from typing import Any

from wizard.lint.context import Ctx
from wizard.lint.findings import Finding
from wizard.lint.rules import Rule


def _set(ctx: Ctx, key: str) -> bool:
    return bool(ctx.value(key))


def effective_eval_packing(cfg: dict[str, Any]) -> Any:
    """eval_sample_packing as Axolotl's check_eval_packing leaves it: with sample_packing and
    no eval table, an unset value becomes true."""
    value = cfg.get("eval_sample_packing")
    if value is None and cfg.get("sample_packing") and not cfg.get("eval_table_size"):
        return True
    return value


def eval_packing(ctx: Ctx) -> list[Finding]:
    """DatasetValidationMixin.check_eval_packing and TrainingValidationMixin.check_causal_lm_evals:
    the eval table and causal-LM metrics generate from single samples, not packed ones."""
    out = []
    packing = _set(ctx, "sample_packing")
    if packing and _set(ctx, "eval_table_size") and ctx.value("eval_sample_packing") is not False:
        out.append(_no_eval_packing(ctx, "eval_table_size"))
    if _set(ctx, "do_causal_lm_eval") and effective_eval_packing(ctx.cfg):
        out.append(_no_eval_packing(ctx, "do_causal_lm_eval"))
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
    strategy = ctx.value("eval_strategy")
    steps, per_epoch = _set(ctx, "eval_steps"), _set(ctx, "evals_per_epoch")
    evals_key = "eval_steps" if steps else "eval_strategy"
    no_split = ctx.value("val_set_size") == 0 and not _set(ctx, "test_datasets")
    checks = [
        (
            bool(strategy) and steps and strategy != "steps",
            f"`eval_strategy: {strategy}` contradicts `eval_steps`",
            "set `eval_strategy: steps`, or remove eval_steps",
            "eval_strategy",
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
            "evals_per_epoch",
        ),
        (
            per_epoch and bool(strategy) and strategy != "steps",
            f"`evals_per_epoch` needs eval_strategy unset or `steps`, not `{strategy}`",
            "remove eval_strategy",
            "eval_strategy",
        ),
        (
            _set(ctx, "do_bench_eval") and not (per_epoch or steps),
            "`do_bench_eval` needs `evals_per_epoch` or `eval_steps`",
            "add `evals_per_epoch: 1`",
            "do_bench_eval",
        ),
    ]
    return [_cadence(ctx, message, fix, key) for fires, message, fix, key in checks if fires]


def save_cadence(ctx: Ctx) -> list[Finding]:
    """TrainingValidationMixin.check_saves."""
    strategy = ctx.value("save_strategy")
    steps = _set(ctx, "save_steps")
    checks = [
        (
            bool(strategy) and steps and strategy != "steps",
            f"`save_strategy: {strategy}` contradicts `save_steps`",
            "set `save_strategy: steps`, or remove save_steps",
            "save_strategy",
        ),
        (
            _set(ctx, "saves_per_epoch") and steps,
            "`save_steps` and `saves_per_epoch` both set the save cadence",
            "keep one of them (a decision: --fix leaves it to you)",
            "saves_per_epoch",
        ),
    ]
    return [_cadence(ctx, message, fix, key) for fires, message, fix, key in checks if fires]


def _cadence(ctx: Ctx, message: str, fix: str, key: str) -> Finding:
    return ctx.at("error", "cadence", message, fix, (key,))


def eval_split(ctx: Ctx) -> list[Finding]:
    """DatasetValidationMixin.check_val_w_test_datasets and PretrainingValidationMixin's
    check_pretraining_w_val_set_size / check_streaming_w_val_set_size: a split of the training
    data needs the data up front, as a list, and only one source of eval data."""
    if not _set(ctx, "val_set_size"):
        return []
    for key, why in (
        ("test_datasets", "`test_datasets` already provides the eval data"),
        ("pretraining_dataset", "a pretraining_dataset streams, so there is no split to take"),
        ("streaming", "a streamed dataset cannot be split"),
    ):
        if _set(ctx, key):
            return [
                ctx.at(
                    "error",
                    "val-set-size",
                    f"`val_set_size` with `{key}`: {why}",
                    "remove val_set_size"
                    + ("" if key == "test_datasets" else " and give eval data in test_datasets"),
                    ("val_set_size",),
                )
            ]
    return []


EVAL_RULES: list[Rule] = [eval_packing, eval_cadence, save_cadence, eval_split]
