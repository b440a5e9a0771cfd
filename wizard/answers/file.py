"""The answers file `wizard-answers.yml`: every answer, so a run folder can be made again.

`axolotl-wizard new DIR2 --answers DIR/wizard-answers.yml --yes` reproduces DIR's files byte for
byte. The file is versioned so a later wizard can read (or clearly refuse) an older one, and it
ends with `complete: true`: a file cut short (a full disk, a copy that stopped) is refused by
name instead of silently making another run from the defaults of what is missing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from wizard import AXOLOTL_TARGET_VERSION, __version__
from wizard.answers.answer_keys import generic_key
from wizard.answers.layers import Layer, LayerKind, check_layer
from wizard.axolotl.paths import PathMapper, from_answers_file, is_local_path, keep_path
from wizard.errors import WizardError
from wizard.records import Record
from wizard.runspec import RunSpec
from wizard.runspec.datasets import other_formats_fields
from wizard.runspec.distributed import CARRIED_DEEPSPEED
from wizard.yamlio import dump_yaml, load_yaml_mapping, non_finite_paths

ANSWERS_FILENAME = "wizard-answers.yml"
FORMAT_VERSION = 2
# The answers that may be local paths: written relative to the answers file, read from the cwd.
MODEL_PATHS = ("base_model", "base_model_config")
DATASET_LISTS = ("datasets", "test_datasets", "pretraining_dataset")
PATH_ANSWERS = (*(f"model.{n}" for n in MODEL_PATHS), *(f"{n}.N.path" for n in DATASET_LISTS))
# The top level of a file this version writes, in order; the last key is written last.
TOP_KEYS = ("format_version", "wizard_version", "axolotl_version", "preset", "answers", "axolotl")
OPTIONAL_KEYS = ("auto_fit", "files")
# The answers auto-fit decides when nobody gave them (the batch layout, checkpointing, sharding,
# and the FSDP layer class the model catalog names). They are not written among the answers, so
# a later `new --answers` fits them again for whatever answers it has: a replay with the same
# answers gets the same values, a replay with another method or GPU gets a plan that fits it.
FITTED_KEYS = (
    "training.micro_batch_size",
    "training.gradient_accumulation_steps",
    "training.gradient_checkpointing",
    "distributed.backend",
    "distributed.zero_stage",
    "distributed.offload_optimizer",
    "distributed.offload_params",
    "distributed.fsdp.transformer_layer_cls_to_wrap",
)
END_KEY = "complete"
SECTIONS = ("model", "datasets", "method", "hardware", "training", "distributed")


class PresetRef(Record):
    name: str
    sha256: str


class AnswersDocument:
    """What `wizard-answers.yml` holds. A plain class: never compared or shown (a dataclass
    would compile its methods at every start)."""

    def __init__(
        self,
        spec: RunSpec,
        raw_axolotl: dict[str, Any] | None = None,
        preset: PresetRef | None = None,
        files: dict[str, Any] | None = None,
        fitted: dict[str, Any] | None = None,
        unfitted: frozenset[str] = frozenset(),
    ) -> None:
        self.spec, self.preset = spec, preset
        self.raw_axolotl: dict[str, Any] = {} if raw_axolotl is None else raw_axolotl
        # Files an imported config brought along (its DeepSpeed JSON), by their path in the run
        # folder: kept here so `new --answers` makes them again.
        self.files: dict[str, Any] = {} if files is None else files
        # What auto-fit chose (flat keys), recorded for the reader, and the fitted answers nobody
        # gave, which are left out of `answers:` (FITTED_KEYS).
        self.fitted: dict[str, Any] = {} if fitted is None else fitted
        self.unfitted = unfitted


def answers_text(doc: AnswersDocument, path_for: PathMapper = keep_path) -> str:
    """The answers file; `path_for` writes local paths relative to the file's own folder."""
    header = [
        f"# Every answer given to axolotl-wizard {__version__}. Make the run folder again with:",
        f"#   axolotl-wizard new NEW_DIR --answers {ANSWERS_FILENAME} --yes",
    ]
    body: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "wizard_version": __version__,
        "axolotl_version": AXOLOTL_TARGET_VERSION,
        "preset": None
        if doc.preset is None
        else {"name": doc.preset.name, "sha256": doc.preset.sha256},
        "answers": _map_paths(answers_of(doc.spec, doc.unfitted), path_for),
        **({"auto_fit": doc.fitted} if doc.fitted else {}),
        "axolotl": doc.raw_axolotl,
        **({"files": doc.files} if doc.files else {}),
        END_KEY: True,
    }
    return "\n".join(header) + "\n" + dump_yaml(body)


class LoadedAnswers(Record):
    layer: Layer
    preset: PresetRef | None


def load_answers_file(path: Path) -> LoadedAnswers:
    data = load_yaml_mapping(path, "answers file")
    _check_version(data, path)
    unknown = set(data) - {*TOP_KEYS, *OPTIONAL_KEYS, END_KEY}
    if unknown:
        raise WizardError(
            f"{path}: unknown top-level key {sorted(unknown)[0]!r}",
            "an answers file has format_version, preset, answers, axolotl and complete",
        )
    answers, raw = data.get("answers") or {}, data.get("axolotl") or {}
    if not isinstance(answers, dict) or not isinstance(raw, dict):
        raise WizardError(f"{path}: answers and axolotl must be mappings", "fix the file")
    _check_complete(data, answers, path)
    layer = Layer.from_nested(f"answers file {path}", answers, LayerKind.ANSWERS_FILE)
    for key, value in raw.items():
        layer.set(f"axolotl.{key}", value)
    check_layer(layer, str(path))
    layer.files = carried_files(data.get("files"), str(path))
    _check_fitted(data.get("auto_fit"), path)
    # Written relative to the file's own folder; everything else reads them from the cwd.
    to_cwd = from_answers_file(str(path.parent.resolve()), os.getcwd())
    for key in _path_keys(layer.values):
        layer.values[key] = to_cwd(layer.values[key])
    return LoadedAnswers(layer, _preset_ref(data.get("preset"), path))


def carried_files(value: Any, source: str) -> dict[str, Any]:
    """The `files:` of an answers file or preset: DeepSpeed JSON objects by their path in the run
    folder. Untrusted like the rest of the file, so a name can only be `deepspeed/NAME.json`
    (never a path that leaves the run folder) and a value only a JSON object."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WizardError(f"{source}: files must be a mapping", "fix the file")
    for name, content in value.items():
        if not isinstance(name, str) or not re.fullmatch(CARRIED_DEEPSPEED, name):
            raise WizardError(
                f"{source}: files: {name!r} is not a carried file name",
                "only deepspeed/NAME.json files travel with answers",
            )
        if not isinstance(content, dict):
            raise WizardError(f"{source}: files: {name} is not a JSON object", "fix the file")
        bad = non_finite_paths(content)
        if bad:
            where = ", ".join(f"{'.'.join(map(str, key))} is {spelling}" for key, spelling in bad)
            raise WizardError(
                f"{source}: files: {name}: {where}; a DeepSpeed file needs finite numbers",
                "write a number there (or remove the key), then run the command again",
            )
    return dict(value)


def _check_fitted(value: Any, path: Path) -> None:
    """`auto_fit:` is a record of what auto-fit chose, never read back as answers (auto-fit
    chooses again); it must still be what this wizard writes."""
    if value is None:
        return
    if not isinstance(value, dict) or not set(value) <= set(FITTED_KEYS):
        raise WizardError(
            f"{path}: auto_fit must map fitted answers ({', '.join(FITTED_KEYS[:2])}, ...) to "
            "values",
            "remove the auto_fit section: auto-fit chooses its answers again",
        )


def _check_version(data: dict[str, Any], path: Path) -> None:
    version = data.get("format_version")
    if version == 1:
        raise WizardError(
            f"{path}: format_version 1 has no end marker, so a copy cut short cannot be told "
            "from a whole one",
            f"check the file is whole, then set `format_version: {FORMAT_VERSION}` and add "
            f"`{END_KEY}: true` as its last line",
        )
    if version != FORMAT_VERSION:
        raise WizardError(
            f"{path}: format_version is {version!r}; this wizard reads version {FORMAT_VERSION}",
            "make the answers again with this version of axolotl-wizard",
        )


def _check_complete(data: dict[str, Any], answers: dict[str, Any], path: Path) -> None:
    """The file must end with `complete: true`; say what a cut-short file is missing."""
    if data.get(END_KEY) is True and list(data)[-1] == END_KEY:
        return
    missing = [f"answers.{s}" for s in SECTIONS if s not in answers]
    missing += [key for key in (*TOP_KEYS, END_KEY) if key not in data]
    present = [f"answers.{s}" for s in SECTIONS if s in answers]
    present = present or [key for key in TOP_KEYS if key in data]
    stops = f"it stops in {present[-1]}; " if present else ""
    raise WizardError(
        f"{path} is incomplete: {stops}{', '.join(missing) or 'its end'} "
        f"{'is' if len(missing) == 1 else 'are'} missing (a whole answers file ends with "
        f"`{END_KEY}: true`)",
        "it was probably cut short: make it again with `axolotl-wizard new`, or restore a whole "
        "copy",
    )


def answers_of(spec: RunSpec, unfitted: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every answer, defaults included, so a later wizard's defaults cannot change the run; for
    an import only the answers its config gave (the rest is Axolotl's default, not ours).

    An answer that is none (not set, so not written into the config) is left out: it reads back
    as none, and the file lists what the run is, not every option the wizard has. So are the
    `unfitted` answers: auto-fit's to choose again (FITTED_KEYS)."""
    imported = not spec.policy.records_every_answer
    dumped: dict[str, Any] = spec.model_dump(mode="json", exclude_unset=imported)
    for key in unfitted:
        _drop(dumped, key.split("."))
    if not imported:  # what every answers file means unless it says otherwise: not written
        dumped.pop("defaults")
        for dataset in dumped["datasets"]:
            if not dataset["axolotl"]:
                del dataset["axolotl"]
            for name in other_formats_fields(dataset):  # defaults another format would read
                del dataset[name]
    return _without_none(dumped)


def _drop(values: dict[str, Any], parts: list[str]) -> None:
    for part in parts[:-1]:
        values = values.get(part)  # type: ignore[assignment]
        if not isinstance(values, dict):
            return
    values.pop(parts[-1], None)


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            value = _without_none(value)
            if not value:
                continue
        elif isinstance(value, list):
            value = [_without_none(v) if isinstance(v, dict) else v for v in value]
        if value is not None:
            kept[key] = value
    return kept


def _path_keys(values: dict[str, Any]) -> list[str]:
    """The answers that are local paths: the model's folders, local dataset files."""
    return [
        key
        for key, value in values.items()
        if generic_key(key) in PATH_ANSWERS and isinstance(value, str) and is_local_path(value)
    ]


def _map_paths(answers: dict[str, Any], path_for: PathMapper) -> dict[str, Any]:
    places = [(answers.get("model") or {}, name) for name in MODEL_PATHS]
    places += [(dataset, "path") for name in DATASET_LISTS for dataset in answers.get(name) or []]
    for place, name in places:
        if isinstance(place.get(name), str) and is_local_path(place[name]):
            place[name] = path_for(place[name])
    return answers


def _preset_ref(value: Any, path: Path) -> PresetRef | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not {"name", "sha256"} <= set(value):
        raise WizardError(f"{path}: preset must have name and sha256", "fix the file")
    return PresetRef(str(value["name"]), str(value["sha256"]))
