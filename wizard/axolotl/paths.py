"""Which answers are local paths, and how a relative path moves from one folder to another.

A run folder's files are read from the run folder (`launch` runs Axolotl there), an answers file
is read relative to its own folder, and what the user types is relative to where `new` runs; a
relative path is rewritten whenever it crosses from one of these to another.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import PurePosixPath

# What Axolotl's dataset loader reads as a local file by its suffix.
DATA_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv", ".arrow", ".txt", ".tsv")
LOCAL_PREFIXES = ("/", "./", "../", "~")

# Axolotl keys that always name a local folder, and keys that name one when they look local (a
# Hub id otherwise). Axolotl reads both relative to where it runs: for a run folder, the folder.
FOLDER_KEYS = ("output_dir", "dataset_prepared_path", "lora_model_dir", "resume_from_checkpoint")
MAYBE_LOCAL_KEYS = ("base_model", "base_model_config", "tokenizer_config")

PathMapper = Callable[[str], str]
# A Hugging Face Hub id: `org/name`, exactly one slash.
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def is_local_path(value: str) -> bool:
    """Hub ids look like `org/name`; local paths start with `/`, `.`, `~` or name a data file."""
    return value.startswith(LOCAL_PREFIXES) or value.endswith(DATA_SUFFIXES)


def is_hub_id(value: str) -> bool:
    return not is_local_path(value) and bool(HUB_ID.match(value))


def keep_path(value: str) -> str:
    return value


def rebase(value: str, from_dir: str, to_dir: str) -> str:
    """`value`, relative to `from_dir`, as a path relative to `to_dir`; absolute paths stay and
    `~` is expanded. The result still reads as local (`./model`, never a bare `model` that would
    look like a Hub id)."""
    if value.startswith("~"):
        return os.path.expanduser(value)
    if value.startswith("/"):
        return value
    absolute = os.path.normpath(os.path.join(from_dir, value))
    relative = str(
        PurePosixPath(*os.path.relpath(absolute, os.path.normpath(to_dir)).split(os.sep))
    )
    if relative.startswith("../") or relative == "..":
        return relative
    if value.startswith("./") or not is_local_path(relative):
        return "./" + relative  # as the user wrote it; and never a bare name like a Hub id
    return relative


def relative_to_run_dir(run_dir: str, cwd: str) -> PathMapper:
    """Rewrite a user path (relative to where `new` runs) relative to the run folder, because the
    run is launched from that folder."""
    target = os.path.join(cwd, run_dir)
    return lambda value: rebase(value, cwd, target)


def from_answers_file(answers_dir: str, cwd: str) -> PathMapper:
    """Paths written in an answers file (relative to its folder) as paths relative to `cwd`."""
    return lambda value: rebase(value, answers_dir, cwd)
