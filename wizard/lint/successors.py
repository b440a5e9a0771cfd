"""`check --fix` for refusals that are about values, not key names: a value Axolotl spells
differently now, a setting older Axolotl ignored that Axolotl 0.19 refuses, one entry written
where a list belongs, and GRPO's generation batch on a known number of GPUs.

Each fix keeps what the config did (its message says why); where a refusal has more than one
reasonable answer, the change is a decision, listed and not made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.attention import LEGACY_FLAGS, backend
from wizard.axolotl.flags import is_on
from wizard.axolotl.schema import AxolotlSchema
from wizard.axolotl.view import AxolotlConfig
from wizard.lint.findings import KeyPath
from wizard.lint.fsdp_rules import BNB_ADAMW_8BIT
from wizard.lint.textedit import Change, Edit
from wizard.lint.typecheck import check_value

Line = Callable[[KeyPath], "int | None"]
# A single dataset written as a mapping, where Axolotl reads a list of them.
DATASET_KEYS = (K.DATASETS, K.TEST_DATASETS, K.PRETRAINING_DATASET)
_GENERATIONS = (K.TRL, "num_generations")


def plan_successors(
    view: AxolotlConfig, schema: AxolotlSchema, world: int | None, line: Line
) -> list[Change]:
    """`world`: the number of training processes (GPUs × nodes), when known."""
    return [
        *_values(view, schema, line),
        *_nulls(view, schema, line),
        *_moved(view, line),
        *_single_entries(view, line),
        *_ignored(view, line),
        *_attention_flags(view, line),
        *_legacy_flags_off(view, line),
        *grpo_generation_batch(view, world, line),
    ]


def _values(view: AxolotlConfig, schema: AxolotlSchema, line: Line) -> list[Change]:
    raw = view.raw
    out = [
        _empty_string(key, line) for key, value in raw.items() if _typed_empty(key, value, schema)
    ]
    if raw.get(K.GRADIENT_CHECKPOINTING) == "unsloth":
        out.append(_unsloth_checkpointing(view, line))
    if raw.get(K.RESUME_FROM_CHECKPOINT) is True:
        out.append(_resume_latest(view, line))
    if view.fsdp_version == 2 and view.fsdp_settings and view.optimizer in BNB_ADAMW_8BIT:
        out.append(
            Change(
                line((K.OPTIMIZER,)),
                f"`optimizer: {view.optimizer}` → `adamw_torch_8bit` (the 8-bit AdamW FSDP2 can "
                "shard: the replacement Axolotl names)",
                (Edit("set", (K.OPTIMIZER,), value="adamw_torch_8bit"),),
            )
        )
    if raw.get(K.SAVE_SAFETENSORS) is False:
        out.append(
            Change(
                line((K.SAVE_SAFETENSORS,)),
                "`save_safetensors: false` dropped: Transformers 5 saves safetensors only, and "
                "Axolotl refuses `false`",
                (Edit("delete", (K.SAVE_SAFETENSORS,)),),
            )
        )
    return out


def _nulls(view: AxolotlConfig, schema: AxolotlSchema, line: Line) -> list[Change]:
    """`key:` with nothing on a key that takes no null (`output_dir:`): unset, Axolotl's
    default; a required key stays (it has no default to fall back on)."""
    required = set(schema.config.get("required", []))
    out = []
    for key, value in view.raw.items():
        prop = schema.property(key) if isinstance(key, str) and value is None else None
        if prop is None or key in required or not check_value(None, prop, schema, (key,)):
            continue
        what = f"`{key}:` (empty) dropped: unset, it takes Axolotl's default (Axolotl refuses "
        what += "an empty value there)"
        out.append(Change(line((key,)), what, (Edit("delete", (key,)),)))
    return out


def _moved(view: AxolotlConfig, line: Line) -> list[Change]:
    """Values older Axolotl read under another key: `tokens:` as a mapping of special tokens
    (its first name for them), `warmup_steps` as a fraction of the run (Transformers' form)."""
    out = []
    tokens = view.raw.get(K.TOKENS)
    if isinstance(tokens, dict) and tokens and all(str(k).endswith("_token") for k in tokens):
        out.append(_move(view, K.TOKENS, K.SPECIAL_TOKENS, "special tokens", line))
    warmup = view.raw.get(K.WARMUP_STEPS)
    if isinstance(warmup, float) and 0 < warmup < 1:
        out.append(_move(view, K.WARMUP_STEPS, K.WARMUP_RATIO, "a fraction of the run", line))
    return out


def _move(view: AxolotlConfig, old: str, new: str, what: str, line: Line) -> Change:
    where, path = line((old,)), (old,)
    if view.raw.get(new) is not None:
        return Change(where, f"`{old}` ({what}) and `{new}` are both set; keep one", decision=True)
    edits = [Edit("delete", (new,))] if new in view.raw else []  # `new:` written empty
    edits.append(Edit("rename", path, new))
    return Change(where, f"`{old}` → `{new}` (where Axolotl reads {what} now)", tuple(edits))


def _typed_empty(key: Any, value: Any, schema: AxolotlSchema) -> bool:
    """`key: ""` on a key that takes no string: older Axolotl read the empty string as unset."""
    if value != "" or not isinstance(key, str):
        return False
    prop = schema.property(key)
    if prop is None:
        return False
    return not any(_takes_empty(branch) for branch in prop.get("anyOf", [prop]))


def _takes_empty(branch: dict[str, Any]) -> bool:
    if not {"type", "$ref", "enum", "const"} & set(branch):
        return True  # any value
    return branch.get("type") == "string" and "" in branch.get("enum", [""])


def _empty_string(key: str, line: Line) -> Change:
    return Change(
        line((key,)),
        f'`{key}: ""` → `{key}:` (unset: older Axolotl read the empty string so, Axolotl 0.19 '
        "refuses a string there)",
        (Edit("set", (key,), value=""),),
    )


def _unsloth_checkpointing(view: AxolotlConfig, line: Line) -> Change:
    """Axolotl's `unsloth` checkpointing became `offload`, and `offload` became checkpointing
    with `activation_offloading: legacy`: the same CPU-offloaded checkpointer."""
    path: KeyPath = (K.GRADIENT_CHECKPOINTING,)
    edits = [Edit("set", path, value="true")]
    if K.ACTIVATION_OFFLOADING not in view.raw:
        edits.append(Edit("insert", path, lines={K.ACTIVATION_OFFLOADING: "legacy"}))
    return Change(
        line(path),
        "`gradient_checkpointing: unsloth` → `gradient_checkpointing: true` with "
        "`activation_offloading: legacy` (Unsloth's CPU-offloaded checkpointing, renamed)",
        tuple(edits),
    )


def _resume_latest(view: AxolotlConfig, line: Line) -> Change:
    """`resume_from_checkpoint: true` asked the trainer for the latest checkpoint in
    output_dir; Axolotl takes a path there now, and says "the latest" with
    auto_resume_from_checkpoints."""
    path: KeyPath = (K.RESUME_FROM_CHECKPOINT,)
    auto = view.raw.get(K.AUTO_RESUME_FROM_CHECKPOINTS, None)
    what = "`resume_from_checkpoint: true` → `auto_resume_from_checkpoints: true` (resume from "
    what += "the latest checkpoint in output_dir)"
    if K.AUTO_RESUME_FROM_CHECKPOINTS not in view.raw:
        edit = Edit("rename", path, K.AUTO_RESUME_FROM_CHECKPOINTS, "true")
        return Change(line(path), what, (edit,))
    if auto is False:
        return Change(
            line(path),
            "`resume_from_checkpoint: true` and `auto_resume_from_checkpoints: false` disagree; "
            "keep one",
            decision=True,
        )
    auto_path: KeyPath = (K.AUTO_RESUME_FROM_CHECKPOINTS,)
    edits = (Edit("delete", path), Edit("set", auto_path, value="true"))
    return Change(line(path), what, edits)


def _single_entries(view: AxolotlConfig, line: Line) -> list[Change]:
    return [
        Change(
            line((key,)),
            f"`{key}` is one entry written as a mapping → a list holding that entry",
            (Edit("itemize", (key,)),),
        )
        for key in DATASET_KEYS
        if isinstance(view.raw.get(key), dict) and view.raw[key]
    ]


def _ignored(view: AxolotlConfig, line: Line) -> list[Change]:
    """Settings older Axolotl accepted and did nothing with, which Axolotl 0.19 refuses."""
    out = []
    raw = view.raw
    if is_on(raw.get(K.VAL_SET_SIZE)) and view.has(K.PRETRAINING_DATASET):
        out.append(
            Change(
                line((K.VAL_SET_SIZE,)),
                "`val_set_size` dropped: a pretraining_dataset streams and was never split, so "
                "it gave no eval set (eval data goes in test_datasets)",
                (Edit("delete", (K.VAL_SET_SIZE,)),),
            )
        )
    if raw.get(K.VAL_SET_SIZE, None) == 0 and not view.has(K.TEST_DATASETS):
        for key in (K.EVAL_STEPS, K.EVAL_STRATEGY):
            if is_on(raw.get(key)) and raw.get(K.EVAL_STRATEGY) != "no":
                out.append(
                    Change(
                        line((key,)),
                        f"`{key}` dropped: `val_set_size: 0` and no test_datasets leave nothing "
                        "to evaluate on (older Axolotl skipped evaluation here)",
                        (Edit("delete", (key,)),),
                    )
                )
    if view.sample_packing and view.rl:
        out.append(
            Change(
                line((K.SAMPLE_PACKING,)),
                f"`sample_packing: false`: the `rl: {view.rl}` trainer never packs, and Axolotl "
                "refuses `true` with it",
                (Edit("set", (K.SAMPLE_PACKING,), value="false"),),
            )
        )
    return out


def _attention_flags(view: AxolotlConfig, line: Line) -> list[Change]:
    """A legacy flag next to attn_implementation: dropped when it names the same backend (or
    is off); two different backends are a decision."""
    impl = backend(view.raw)
    if not isinstance(view.raw.get(K.ATTN_IMPLEMENTATION), str) or impl is None:
        return []
    out = []
    for flag, name in LEGACY_FLAGS.items():
        if not is_on(view.raw.get(flag)):
            continue
        where = line((flag,))
        if name.split("_")[0] in impl:
            what = f"`{flag}` dropped: `attn_implementation: {impl}` already names the backend "
            what += "(Axolotl refuses the legacy flag next to it)"
            out.append(Change(where, what, (Edit("delete", (flag,)),)))
        else:
            what = f"`{flag}` ({name}) and `attn_implementation: {impl}` name two attention "
            what += "backends; keep one"
            out.append(Change(where, what, decision=True))
    return out


def _legacy_flags_off(view: AxolotlConfig, line: Line) -> list[Change]:
    """A legacy attention flag that is off sets nothing (Axolotl strips it): dropped."""
    return [
        Change(line((flag,)), f"`{flag}: {str(view.raw[flag]).lower()}` dropped: a legacy "
               "attention flag that is off sets nothing", (Edit("delete", (flag,)),))
        for flag in LEGACY_FLAGS
        if flag in view.raw and view.raw[flag] is not None and not is_on(view.raw[flag])
    ]  # fmt: skip


def packed_sequence_len(view: AxolotlConfig, line: Line) -> list[Change]:
    """`max_packed_sequence_len: N` packed samples into sequences of N tokens; its successor is
    `sample_packing: true`, which packs into `sequence_len`: the same when that is N."""
    key: KeyPath = (K.MAX_PACKED_SEQUENCE_LEN,)
    length, packed = view.raw.get(K.SEQUENCE_LEN), view.raw.get(K.MAX_PACKED_SEQUENCE_LEN)
    if length is not None and length != packed:
        what = f"`max_packed_sequence_len: {packed}` was removed; its successor "
        what += f"`sample_packing: true` packs into sequence_len ({length}): choose the length"
        return [Change(line(key), what, decision=True)]
    what = f"`max_packed_sequence_len: {packed}` → `sample_packing: true` (its successor: packs "
    what += "into sequence_len)"
    if K.SAMPLE_PACKING in view.raw:
        edits = [Edit("delete", key), Edit("set", (K.SAMPLE_PACKING,), value="true")]
    else:
        edits = [Edit("rename", key, K.SAMPLE_PACKING, "true")]
    if length is None:
        edits.append(Edit("insert", key, lines={K.SEQUENCE_LEN: packed}))
    return [Change(line(key), what, tuple(edits))]


def grpo_generation_batch(view: AxolotlConfig, world: int | None, line: Line) -> list[Change]:
    """Axolotl 0.19 checks GRPO's generation batch per GPU (micro_batch_size ×
    gradient_accumulation_steps), where TRL generates micro_batch_size × accumulation × GPUs a
    step. Writing TRL's own number as `trl.generation_batch_size` keeps the run as it was; with
    the GPU count unknown, or that number not a multiple of num_generations, it is a decision."""
    trl, groups = view.trl, view.trl.get("num_generations")
    if view.rl != "grpo" or not isinstance(groups, int) or isinstance(groups, bool) or groups < 2:
        return []
    if trl.get("generation_batch_size") is not None:
        return []
    batch = view.micro_batch_size * view.gradient_accumulation_steps
    if batch % groups == 0 and not (world and batch < groups * world):
        return []
    where = line(_GENERATIONS)
    if not world or world == 1:
        what = f"GRPO's generation batch on one GPU ({batch}) is not a multiple of "
        what += f"num_generations ({groups}): change gradient_accumulation_steps or "
        what += "num_generations, or for several GPUs say how many (--gpus N)"
        return [Change(where, what, decision=True)]
    total = batch * world
    if total % groups or total < groups * world:
        what = f"GRPO on {world} GPUs generates {total} completions a step, which Axolotl "
        what += f"refuses with num_generations {groups} (a multiple of it, and at least "
        what += f"{groups * world}): change gradient_accumulation_steps or num_generations"
        return [Change(where, what, decision=True)]
    what = f"`trl.generation_batch_size: {total}` (what TRL generates on {world} GPUs: "
    what += "micro_batch_size × gradient_accumulation_steps × GPUs; Axolotl checks one GPU's)"
    edit = Edit("insert", _GENERATIONS, lines={"generation_batch_size": total})
    return [Change(where, what, (edit,))]
