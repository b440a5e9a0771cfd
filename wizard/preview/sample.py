"""The first records of each dataset, and a copy of the run's config that points Axolotl at them.

Axolotl tokenizes what its config names; to show a handful of records without tokenizing a
dataset of gigabytes, the head of each local file is read through the wizard's bounded readers
(`wizard.datafiles`: bytes capped before reading, records of at most `MAX_RECORD_BYTES`), written
to a JSON lines file in a folder of our own, and a copy of the config names that file instead.
Everything else in the copy is the run's: its prompt format, field mapping, chat template,
tokenizer, sequence length. Only what would slow the preview down or write outside that folder
changes: no validation split, no packing, one process, no shuffling, caches in the folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.paths import is_local_path
from wizard.axolotl.view import AxolotlConfig
from wizard.datafiles import FORMATS, CountingReader, Limits, Malformed, open_regular, records
from wizard.errors import WizardError
from wizard.yamlio import dump_yaml

MAX_RECORDS = 50  # `--records`: a preview is read by a person
# A record of 4 MiB is about a million tokens, far past any sequence_len; no record is started
# after 16 MiB of a file.
LIMITS = Limits(max_record=4 * 1024 * 1024, budget=16 * 1024 * 1024)
CONFIG_NAME = "preview-config.yml"
# Keys of a dataset entry that name where its data is; the copy names the sample file instead.
_SOURCE_FIELDS = ("path", "data_files", "ds_type", "name", "split", "revision", "shards")
# What the copy changes: each makes the tokenization cheaper or local, none changes a token.
_OVERRIDES: dict[str, Any] = {
    K.VAL_SET_SIZE: 0.0,
    K.SAMPLE_PACKING: False,
    K.DATASET_NUM_PROC: 1,
    K.SHUFFLE_MERGED_DATASETS: False,
    K.SHUFFLE_BEFORE_MERGING_DATASETS: False,
}
# Sharding is a matter of the GPUs, not of the tokens (and a one-GPU check would refuse it).
_DROPPED = (K.TEST_DATASETS, K.DEEPSPEED, K.FSDP, K.FSDP_CONFIG, K.FSDP_VERSION)


@dataclass
class Sampled:
    """One dataset of the config: its index, where it comes from, and the records read."""

    index: int
    source: str
    kind: str
    records: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "line N: why", for the report
    complete: bool = False  # every record of the file was read
    beyond: int = 0  # records after those kept, counted when the whole file was read anyway
    file_bytes: int = 0

    def records_in_file(self) -> tuple[int, bool] | None:
        """How many records the whole file holds and whether that is exact: counted when the
        file was read to its end, else its size over the size of the records read (as JSON
        lines; None for Parquet, whose bytes are compressed)."""
        taken = len(self.records) + len(self.unreadable) + self.beyond
        if self.complete:
            return taken, True
        if self.kind == "parquet" or not self.records:
            return None
        sample_bytes = sum(len(json.dumps(r, default=str).encode()) + 1 for r in self.records)
        return max(taken, round(self.file_bytes * len(self.records) / sample_bytes)), False


@dataclass
class Sample:
    config: Path  # the copy, inside the preview's folder
    datasets: list[Sampled]
    skipped: list[str]  # one line per dataset that cannot be previewed, and why


def refuse_unsupported(cfg: AxolotlConfig) -> None:
    """Preference training and streamed pretraining tokenize elsewhere in Axolotl."""
    if cfg.has(K.RL):
        raise WizardError(
            f"preview shows supervised datasets; this run trains with rl: {cfg.value(K.RL)}",
            "preview a run without `rl:` (its datasets tokenize through another path)",
        )
    if cfg.has(K.PRETRAINING_DATASET) or cfg.on(K.STREAMING):
        raise WizardError(
            "preview reads `datasets:`; this run streams its data",
            "`axolotl preprocess` does not apply to streamed data either",
        )


def take_sample(
    cfg: AxolotlConfig, run_dir: Path, folder: Path, count: int, only: int | None
) -> Sample:
    """Read `count` records of each dataset (or of dataset `only`) into `folder`, and write the
    config copy beside them."""
    refuse_unsupported(cfg)
    count = min(count, MAX_RECORDS)
    entries = cfg.datasets
    if only is not None and not 0 <= only < len(entries):
        raise WizardError(
            f"--dataset {only}: the config has {len(entries)} datasets",
            f"pick one of 0 to {len(entries) - 1}",
        )
    picked, sampled, skipped = [], [], []
    for index, entry in enumerate(entries):
        if only is not None and index != only:
            continue
        reason, path = _local_file(entry, run_dir)
        if reason:
            skipped.append(f"datasets[{index}]: {reason}")
            continue
        assert path is not None
        one = read_head(path, index, count)
        if not one.records:
            why = one.unreadable[0] if one.unreadable else "the file has no records"
            skipped.append(f"datasets[{index}]: no record to show ({why})")
            continue
        sample_file = folder / f"dataset-{index}.jsonl"
        sample_file.write_text(
            "".join(json.dumps(r, default=str) + "\n" for r in one.records), encoding="utf-8"
        )
        picked.append(_pointed_at(entry, sample_file))
        sampled.append(one)
    if not sampled:
        raise WizardError(
            "no dataset of the config can be previewed: " + "; ".join(skipped),
            "preview reads local .jsonl, .json, .csv and .parquet files",
        )
    config = folder / CONFIG_NAME
    config.write_text(dump_yaml(copy_config(cfg, picked, folder)), encoding="utf-8")
    return Sample(config, sampled, skipped)


def _local_file(entry: Any, run_dir: Path) -> tuple[str | None, Path | None]:
    """Why the entry cannot be read here (None when it can), and its file."""
    value = entry.get("path") if isinstance(entry, dict) else None
    if not isinstance(value, str):
        return "no `path:`", None
    path = run_dir / Path(value).expanduser()
    if not path.exists():
        if is_local_path(value):
            return f"{value} does not exist (paths are relative to the config's folder)", None
        return f"{value} is a Hub dataset; preview reads local files only", None
    if path.suffix.lower() not in FORMATS or not path.is_file():
        return f"{value} is not a .jsonl, .json, .csv or .parquet file", None
    return None, path


def read_head(path: Path, index: int, count: int) -> Sampled:
    """The first `count` readable records of `path`, within `LIMITS`."""
    file_format = FORMATS[path.suffix.lower()]
    one = Sampled(index, str(path), file_format)
    with open_regular(path) as handle:
        one.file_bytes = os.fstat(handle.fileno()).st_size
        counter = CountingReader(handle)
        for line, item in records(file_format, counter, LIMITS):
            if len(one.records) >= count:
                one.beyond += 1  # the file's end is in memory already: counted, not kept
            elif isinstance(item, Malformed):
                one.unreadable.append(f"line {line}: {item.reason}")
            else:
                one.records.append(item)
            if len(one.records) >= count and counter.count < one.file_bytes:
                return one
        one.complete = not counter.cut
    return one


def _pointed_at(entry: dict[str, Any], sample_file: Path) -> dict[str, Any]:
    kept = {key: value for key, value in entry.items() if key not in _SOURCE_FIELDS}
    return {"path": str(sample_file), "ds_type": "json", **kept}


def copy_config(cfg: AxolotlConfig, datasets: list[dict[str, Any]], folder: Path) -> dict[str, Any]:
    """The run's config with the sampled datasets, and caches and outputs in `folder`."""
    copy = {key: value for key, value in cfg.raw.items() if key not in _DROPPED}
    copy.update(_OVERRIDES)
    copy[K.DATASETS] = datasets
    copy[K.DATASET_PREPARED_PATH] = str(folder / "prepared")
    copy[K.OUTPUT_DIR] = str(folder / "outputs")
    return copy
