"""What of one person's run a team preset keeps (`presets save`): the recipe, not the machine.

A run's answers name its model folder, its data files and maybe an absolute output folder; on
anyone else's machine those paths are wrong. They are left out: the model and the data are
required answers, so the placeholder mechanism stands in for them (`presets check` renders with
placeholders, `new` asks for them), and an output or prepared-data folder falls back to the
default, inside the run folder. A dataset keeps only the fields of its own format (an answers file
lists every field of every format, at its default). With `extends`, what the parent chain already
gives (its model and data paths included) is left to the parent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from wizard.answers.answer_keys import generic_key
from wizard.answers.layers import Answers, Layer, unflatten
from wizard.axolotl.paths import is_local_path
from wizard.runspec.datasets import FORMAT_FIELDS, OF_SOME_FORMAT

# Answers that name a place on the machine that made the run.
ANYWHERE_LOCAL = ("model.base_model", "datasets.N.path")  # a local folder or file
WHEN_ABSOLUTE = ("training.output_dir", "data.prepared_path")  # relative ones stay in the run
_MISSING = object()


@dataclass
class Recipe:
    """A preset's answers (nested, as written) and raw Axolotl keys, and what was left out."""

    answers: dict[str, Any]
    axolotl: dict[str, Any]
    machine_paths: list[str] = field(default_factory=list)  # keys left out, in order


def recipe_of(layer: Layer, parent: dict[str, Any] | None = None) -> Recipe:
    """The recipe of a run's answers `layer` (an answers file, or an imported config).

    Each answer is written as the spec reads it (`2e-4` becomes 0.0002), but only the answers the
    layer gives: defaults the spec fills in, and choices kept apart from the answers (auto-fit's),
    stay out. `parent`: the answers the preset's parent chain gives, flat (None: no parent).
    """
    answers = Answers([layer])
    spec_values = Layer.from_nested("spec", _spec_dump(answers)).values
    given = {key: spec_values.get(key, value) for key, value in answers.answer_values().items()}
    kept = _own_format_fields(given)
    raw = answers.raw_axolotl()
    if parent is not None:  # first: the parent's own paths are not this machine's
        kept = _beyond_parent(kept, parent)
        flat_raw = Layer.from_nested("raw", raw).values
        raw = unflatten({key: value for key, value in flat_raw.items()
                         if parent.get(f"axolotl.{key}", _MISSING) != value})  # fmt: skip
    kept, machine = _without_machine_paths(kept)
    return Recipe(unflatten(kept), raw, machine)


def _spec_dump(answers: Answers) -> dict[str, Any]:
    from wizard.answers.file import answers_of

    return answers_of(answers.resolve())


def _without_machine_paths(flat: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    kept: dict[str, Any] = {}
    left_out: list[str] = []
    for key, value in flat.items():
        shape, text = generic_key(key), value if isinstance(value, str) else ""
        local = shape in ANYWHERE_LOCAL and is_local_path(text)
        absolute = shape in WHEN_ABSOLUTE and text.startswith(("/", "~"))
        if local or absolute:
            left_out.append(key)
        else:
            kept[key] = value
    return kept, left_out


def _own_format_fields(flat: dict[str, Any]) -> dict[str, Any]:
    """Without a dataset's fields that belong to another format than its own."""
    kept: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.split(".")
        if parts[0] == "datasets" and len(parts) == 3 and parts[2] in OF_SOME_FORMAT:
            own = FORMAT_FIELDS.get(str(flat.get(f"datasets.{parts[1]}.format")), ())
            if parts[2] not in own:
                continue
        kept[key] = value
    return kept


def _beyond_parent(flat: dict[str, Any], parent: dict[str, Any]) -> dict[str, Any]:
    """What the parent does not give already. Datasets go whole or not at all: a preset's
    `datasets:` list replaces its parent's."""

    def datasets(values: dict[str, Any]) -> dict[str, Any]:
        return {key: _as_compared(key, value) for key, value in values.items()
                if key.startswith("datasets.")}  # fmt: skip

    def new_here(key: str, value: Any) -> bool:
        if key.startswith("datasets."):
            return datasets(flat) != datasets(parent)
        theirs = parent.get(key, _MISSING)
        return theirs is _MISSING or _as_compared(key, theirs) != _as_compared(key, value)

    return {key: value for key, value in flat.items() if new_here(key, value)}


def _as_compared(key: str, value: Any) -> Any:
    """`./data/a.jsonl` and `data/a.jsonl` are the same file."""
    if generic_key(key) in ANYWHERE_LOCAL and isinstance(value, str) and is_local_path(value):
        return os.path.normpath(value)
    return value
