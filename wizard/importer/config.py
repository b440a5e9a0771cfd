"""`import_config`: an Axolotl config file -> one layer of answers, raw keys and carried files.

Paths move as the run does: the config's relative paths are read from the config's own folder;
answers that are paths (the model, local datasets) become relative to the working directory, as
typed answers are, and the raw keys that are folders (`dataset_prepared_path`, …) relative to
the run folder, where the run starts. A DeepSpeed JSON the config names travels with the answers
as `deepspeed/NAME.json` in the run folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.answers.layers import Layer, LayerKind, check_layer
from wizard.axolotl import keys as K
from wizard.axolotl.paths import FOLDER_KEYS, MAYBE_LOCAL_KEYS, is_local_path, keep_path, rebase
from wizard.importer.settle import settle
from wizard.importer.source import Source, read_source
from wizard.render.deepspeed_config import DEEPSPEED_DIR

# The keys whose local paths are answers (read from the working directory, as typed answers
# are) when they are imported as answers; as raw keys, they are read from the run folder.
PATH_ANSWER_KEYS = (K.BASE_MODEL, K.BASE_MODEL_CONFIG)
DATASET_LISTS = (K.DATASETS, K.TEST_DATASETS, K.PRETRAINING_DATASET)
ANSWER_PATHS = (*PATH_ANSWER_KEYS, *DATASET_LISTS)


@dataclass
class Imported:
    layer: Layer  # answers, `axolotl.KEY` raw keys and the carried files
    source: Source  # what was dropped or renamed on the way
    claimed: list[str]  # the config keys that became answers


def import_config(path: Path, *, cwd: Path, run_dir: Path | None = None) -> Imported:
    """Import the Axolotl config at `path`. `run_dir` is the run folder it is made into (None for
    a preset, whose folder keys stay as written)."""
    source = read_source(path, cwd)
    config_dir = str(path.parent.resolve())
    to_run = None if run_dir is None else str((cwd / run_dir).resolve())
    cfg = _moved_paths(source.cfg, config_dir, str(cwd.resolve()), to_run)
    # The paths of the keys that may be answers, as a raw key reads them (from the run folder).
    if_raw = _moved_paths(source.cfg, config_dir, to_run, to_run)
    files = _carry_deepspeed(cfg, source)
    settled = settle(cfg, str(path), source.deepspeed)
    if K.DEEPSPEED in settled.claimed:
        # The wizard's or Axolotl's own file the answers write again; a file of the config's own
        # travels, named by distributed.deepspeed_config.
        named = settled.answers.get("distributed.deepspeed_config")
        files = {name: data for name, data in files.items() if name == named}
    layer = Layer(f"imported {path}", kind=LayerKind.IMPORT, files=files)
    for key, value in settled.answers.items():
        layer.set(key, value)
    for key, value in settled.raw.items():
        layer.set(f"axolotl.{key}", if_raw[key] if key in ANSWER_PATHS else value)
    check_layer(layer, str(path))
    return Imported(layer, source, settled.claimed)


def _moved_paths(
    cfg: dict[str, Any], config_dir: str, answers_dir: str | None, run_dir: str | None
) -> dict[str, Any]:
    """`cfg` with its local paths relative to where each is read: the answers' to `answers_dir`,
    the rest to `run_dir` (None: as written)."""
    moved = dict(cfg)

    def to(target: str | None) -> Any:
        return keep_path if target is None else (lambda v: rebase(v, config_dir, target))

    for key in MAYBE_LOCAL_KEYS:
        if isinstance(moved.get(key), str) and is_local_path(moved[key]):
            moved[key] = to(answers_dir if key in PATH_ANSWER_KEYS else run_dir)(moved[key])
    for key in FOLDER_KEYS:
        if isinstance(moved.get(key), str):
            moved[key] = to(run_dir)(moved[key])
    for key in DATASET_LISTS:
        if isinstance(moved.get(key), list):
            moved[key] = [_moved_entry(entry, to(answers_dir)) for entry in moved[key]]
    return moved


def _moved_entry(entry: Any, move: Any) -> Any:
    path = entry.get("path") if isinstance(entry, dict) else None
    if isinstance(path, str) and is_local_path(path):
        return {**entry, "path": move(path)}
    return entry


def _carry_deepspeed(cfg: dict[str, Any], source: Source) -> dict[str, Any]:
    """The DeepSpeed JSON as a carried file, and `deepspeed:` naming it in the run folder."""
    if source.deepspeed is None:
        return {}
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(str(cfg[K.DEEPSPEED])).stem).strip(".-_")
    name = f"{DEEPSPEED_DIR}/{stem or 'deepspeed'}.json"
    cfg[K.DEEPSPEED] = name
    return {name: source.deepspeed}
