"""The answers a run starts from, assembled one way for `new`, `demo` and the interview:
the preset chain, an answers file, `--set`, and the preset's locked answers pinned on top.

It lives with the presets, not in `answers/`, because it needs the preset chain and its locks,
and presets are made of answers (answers/ stays below presets).
"""

from collections.abc import Callable
from pathlib import Path

from wizard.answers.file import PresetRef, load_answers_file
from wizard.answers.layers import Answers, Layer
from wizard.answers.sets import parse_sets
from wizard.errors import WizardError
from wizard.presets.locks import Lock, apply_locks, chain_locks, chain_version_warnings
from wizard.presets.store import (
    chain_hash,
    preset_chain,
    preset_layers,
    promote_raw_answers,
    shadow_warning,
)
from wizard.records import Record
from wizard.terminal import warn

Warn = Callable[[str], None]


class PresetStart(Record):
    """What a preset contributes: its chain's layers, the answers it locks, and its reference."""

    layers: list[Layer]
    locks: dict[str, Lock]
    ref: PresetRef
    warnings: list[str]


def preset_start(name: str) -> PresetStart:
    chain = preset_chain(name)
    shadowed = shadow_warning(name, chain[-1])
    warnings = [*chain_version_warnings(chain), *([shadowed] if shadowed else [])]
    ref = PresetRef(chain[-1].name, chain_hash(chain))
    return PresetStart(preset_layers(chain), chain_locks(chain), ref, warnings)


def recorded_locks(ref: PresetRef, answers_path: Path, warn: Warn) -> dict[str, Lock]:
    """The locks of the preset an answers file was made from, so replaying the file (without
    --preset) keeps them too. A preset gone from here, or changed since, is said in one line;
    a changed one is held to the locks it has now."""
    try:
        chain = preset_chain(ref.name)
        locks = chain_locks(chain)
    except WizardError as err:
        warn(f"{answers_path} was made from preset {ref.name}, which is not found or broken "
             f"here ({err.message}): its locked answers are not checked")  # fmt: skip
        return {}
    if chain_hash(chain) != ref.sha256:
        warn(f"preset {chain[-1].qualified_name} changed since {answers_path} was made from it "
             f"(sha256 {ref.sha256}, now {chain_hash(chain)}): its locked answers are checked "
             "as they are now")  # fmt: skip
    return locks


def collect_answers(
    preset_name: str | None,
    answers_path: Path | None,
    sets: list[str],
    unlock: bool = False,
    warn: Warn = warn,
) -> tuple[Answers, PresetRef | None]:
    """Every layer below the interview: preset chain, answers file, --set; then the preset's
    locked answers on top (`wizard.presets.locks.locked_keys` lists them for the interview),
    unless `unlock`."""
    layers: list[Layer] = []
    preset: PresetRef | None = None
    locks: dict[str, Lock] = {}
    if preset_name:
        start = preset_start(preset_name)
        layers, locks, preset = list(start.layers), start.locks, start.ref
        for warning in start.warnings:
            warn(warning)
    if answers_path is not None:
        loaded = load_answers_file(answers_path)
        layers.append(promote_raw_answers(loaded.layer))
        if preset is None and loaded.preset is not None:
            preset = loaded.preset
            locks = recorded_locks(loaded.preset, answers_path, warn)
    layers.append(promote_raw_answers(parse_sets(sets)))
    answers = Answers(layers)
    return (answers if unlock else apply_locks(answers, locks)), preset
