"""What a preset chain enforces: locked answers, and the Axolotl version it was written for.

`locked: [KEY, ...]` fixes answers for everyone who uses the preset. A locked entry is a dotted
answer key or a prefix of some, and it must have a value in the chain. It locks its whole subtree:
each value the chain gives under it stays, a locked list (`datasets`) neither grows nor shrinks,
and an answer under it that the chain leaves unset keeps its default. A child preset, an answers
file (replayed with or without `--preset`: it records the preset) or `--set` that changes any of
that is an error unless the user passes `--unlock`.

The locked values are then added as a top layer named `locked by preset …`, so `origin()` and
`presets explain` say the value is locked, and the interview can skip those questions
(`locked_keys(answers)`).
"""

import os
from typing import Any

from wizard.answers.answer_keys import NO_DEFAULT, answer_default, generic_key, known_keys
from wizard.answers.file import PATH_ANSWERS
from wizard.answers.layers import Answers, Layer, LayerKind
from wizard.errors import WizardError
from wizard.presets.reading import version_warnings
from wizard.presets.store import Preset, preset_layers, promoted_key
from wizard.records import Record
from wizard.terminal import shown

LOCK_LAYER_PREFIX = "locked by "
UNLOCK_HINT = "pass --unlock to change an answer the preset locks, or drop the change"
_MISSING = object()


class Lock(Record):
    key: str
    value: Any
    preset: str  # the qualified name of the preset that locks it
    entry: str  # the locked entry that covers it (`datasets` for `datasets.0.path`)


def covers(entry: str, key: str) -> bool:
    """Whether the locked entry `entry` covers the answer key `key` (itself or below it)."""
    return key == entry or key.startswith(entry + ".")


def chain_locks(chain: list[Preset]) -> dict[str, Lock]:
    """Every locked answer key of the chain, with its value and the preset that locks it."""
    layers = preset_layers(chain)
    locks: dict[str, Lock] = {}
    for index, preset in enumerate(chain):
        if not preset.data.locked:
            continue
        # The value is the one the chain gives up to and including the locking preset.
        values = Answers(layers[: index + 1]).merged()
        for listed in preset.data.locked:
            _check_entry(listed, preset)
            entry = promoted_key(listed)
            keys = [key for key in values if covers(entry, key)]
            if not keys:
                raise WizardError(
                    f"preset {preset.path}: locked answer {entry!r} has no value in "
                    f"{preset.qualified_name} or the presets it extends",
                    f"give {entry} a value under answers: (or axolotl:), or unlock it",
                )
            for key in keys:
                locks.setdefault(key, Lock(key, values[key], preset.qualified_name, entry))
    enforce_locks(
        Answers(layers),
        locks,
        "remove that answer from the child preset, or unlock it in the parent",
    )
    return locks


def _check_entry(entry: str, preset: Preset) -> None:
    if entry == "axolotl" or entry.startswith("axolotl."):
        return
    shape = generic_key(entry)
    if any(covers(shape, key) for key in known_keys()):
        return
    raise WizardError(
        f"preset {preset.path}: locked: {entry!r} is not an answer key",
        "lock dotted answer keys such as training.seed, method, or axolotl.chat_template",
    )


def enforce_locks(answers: Answers, locks: dict[str, Lock], hint: str = UNLOCK_HINT) -> None:
    """Raise when the layered answers change (or drop) a locked value, or add to a locked entry."""
    merged = answers.merged()
    for lock in locks.values():
        value = merged.get(lock.key, _MISSING)
        if _same(value, lock.value, lock.key):
            continue
        changer = answers.origin(lock.key) if value is not _MISSING else None
        change = (
            f"{changer} changes it to {shown(value)}" if changer else "another answer removes it"
        )
        raise WizardError(
            f"{lock.key} is locked by preset {lock.preset} (value {shown(lock.value)}), "
            f"but {change}",
            hint,
        )
    entries = {lock.entry: lock for lock in locks.values()}
    for key, value in merged.items():
        covering = next((lock for entry, lock in entries.items() if covers(entry, key)), None)
        if covering is None or key in locks:
            continue
        added = _added_to(key, value, covering, locks, merged)
        if added:
            raise WizardError(
                f"{added}, but {answers.origin(key)} gives {key}={shown(value)}", hint
            )


def _added_to(
    key: str, value: Any, lock: Lock, locks: dict[str, Lock], merged: dict[str, Any]
) -> str | None:
    """What is wrong with `key` under the locked entry of `lock` (a key the chain did not give),
    or None when it only spells out the default (an answers file writes every default)."""
    where = f"{lock.entry} is locked by preset {lock.preset}"
    below = key[len(lock.entry) + 1 :].split(".")
    position = next((i for i, part in enumerate(below) if part.isdigit()), None)
    if position is not None:
        item = ".".join([lock.entry, *below[: position + 1]])  # `datasets.1` of `datasets.1.path`
        if not any(covers(item, locked) for locked in locks):
            return f"{where}, so the list cannot grow"
    default = answer_default(key, merged)
    if default is not NO_DEFAULT and _same(value, default, key):
        return None
    return f"{where}, which leaves {key} at its default"


def _same(value: Any, locked: Any, key: str = "") -> bool:
    # An answers file writes 24 as 24.0 where the spec says float: the same answer. But `true`
    # is not `1`, and "8" is not 8, although Python says the first pair are equal. A local path
    # is the same file however it is spelt (`./data/x.jsonl`, `data/x.jsonl`).
    if _is_number(value) and _is_number(locked):
        return bool(value == locked)
    if isinstance(value, str) and isinstance(locked, str) and generic_key(key) in PATH_ANSWERS:
        return os.path.normpath(value) == os.path.normpath(locked)
    return type(value) is type(locked) and bool(value == locked)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def apply_locks(answers: Answers, locks: dict[str, Lock]) -> Answers:
    """Check the answers keep every locked value, then pin them in layers above the rest."""
    if not locks:
        return answers
    enforce_locks(answers, locks)
    by_preset: dict[str, Layer] = {}
    for lock in locks.values():
        name = f"{LOCK_LAYER_PREFIX}preset {lock.preset}"
        source = lock.preset.split(":", 1)[0]
        layer = by_preset.setdefault(name, Layer(name, kind=LayerKind.LOCK, source=source))
        layer.values[lock.key] = lock.value
    return Answers([*answers.layers, *by_preset.values()])


def locked_keys(answers: Answers) -> set[str]:
    """The answer keys a preset locked (for the interview: do not ask these)."""
    return {key for layer in answers.of_kind(LayerKind.LOCK) for key in layer.values}


def chain_version_warnings(chain: list[Preset]) -> list[str]:
    """Warnings for presets in the chain whose `axolotl_version` the Axolotl at hand misses."""
    return version_warnings((p.qualified_name, p.data.axolotl_version or "") for p in chain)


# Presets from these sources are shared checkouts: data from strangers until the user says not.
UNTRUSTED_SOURCES = ("team", "project")
REMOTE_CODE_KEYS = ("model.trust_remote_code", "axolotl.trust_remote_code")


def untrusted_remote_code(answers: Answers) -> list[str]:
    """The untrusted presets that switch on `trust_remote_code` (the model repository's own
    Python code then runs when the model loads), as `team:NAME`; empty when none does."""
    merged = answers.merged()
    found = []
    for key in REMOTE_CODE_KEYS:
        layer = answers.origin_layer(key)
        if merged.get(key) is not True or layer is None:
            continue
        if layer.kind in (LayerKind.PRESET, LayerKind.LOCK) and layer.source in UNTRUSTED_SOURCES:
            found.append(layer.name.removeprefix(LOCK_LAYER_PREFIX).removeprefix("preset "))
    return sorted(set(found))


def remote_code_refusal(sources: list[str]) -> WizardError:
    names = ", ".join(sources)
    return WizardError(
        f"preset {names} turns on trust_remote_code: the model repository's own Python code "
        "would run when the model loads, and that preset is not yours",
        f"pass --trust-remote-code if you trust {names} and the model it names, or "
        "--set model.trust_remote_code=false",
    )
