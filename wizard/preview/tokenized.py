"""The sampled records as Axolotl tokenizes them: `wizard.preview.child` run in a child process.

The child imports torch, transformers and Axolotl (seconds); the `preview` command itself
imports none of them. It runs offline, in the config's folder (Axolotl reads the config's paths
from there, as `launch` runs it), with the datasets library's cache in the preview's folder.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.axolotl.offline import run_axolotl_child
from wizard.axolotl.paths import is_local_path
from wizard.errors import WizardError
from wizard.models.hub_cache import cached_snapshot
from wizard.terminal import shell_word

CHILD = "wizard.preview.child"
# A folder holds a tokenizer when it has one of these (transformers' fast or slow files).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")
IGNORED = -100  # the label of a token that carries no loss (PyTorch's ignore_index)
TIMEOUT_S = 600.0
REFUSALS = (
    WizardError(
        f"Axolotl's tokenization took more than {TIMEOUT_S:.0f} s",
        "preview fewer records: --records 2",
    ),
    WizardError(
        "preview needs Axolotl installed in this Python environment",
        "pip install 'axolotl==0.19.0'",
    ),
)


@dataclass(frozen=True)
class TokenizerFacts:
    bos_id: int | None
    eos_id: int | None
    special_ids: frozenset[int]
    end_of_turn: dict[str, int]  # the end-of-turn tokens this tokenizer has, by text
    own_template: str | None  # the chat template the model ships
    used_template: str | None  # the one the run tokenizes with


@dataclass(frozen=True)
class Turn:
    role: str
    start: int
    end: int  # token positions [start, end)


@dataclass(frozen=True)
class TokenizedRecord:
    input_ids: list[int]
    labels: list[int]
    pieces: list[str]  # the text of each token (of the first ones: see `max_pieces`)
    turns: list[Turn] = field(default_factory=list)

    @property
    def trained(self) -> list[bool]:
        """Whether each token carries loss."""
        return [label != IGNORED for label in self.labels]


@dataclass(frozen=True)
class Tokenized:
    facts: TokenizerFacts
    datasets: list[list[TokenizedRecord]]  # in the order of the sample's datasets


class TokenizationFailed(WizardError):
    """Axolotl itself fails on the records (a field the prompt format wants is missing, say):
    the training would fail the same way."""


def tokenizer_missing(source: str | None, run_dir: Path) -> WizardError | None:
    """The error for a tokenizer that is not on this machine (nothing is downloaded)."""
    if not source:
        return WizardError("the config names no base_model", "add base_model: <hub id or folder>")
    if is_local_path(source):
        return _folder_missing(source, run_dir / Path(source).expanduser())
    folder = cached_snapshot(source)
    if folder is not None and _holds_tokenizer(folder):
        return None
    return WizardError(
        f"the tokenizer of {source} is not on this machine (preview downloads nothing)",
        f"fetch it: hf download {shell_word(source)} --include '*.json' '*.model' '*.txt' "
        "'*.jinja', then run the command again",
    )


def _folder_missing(source: str, folder: Path) -> WizardError | None:
    if not folder.is_dir():
        return WizardError(
            f"the tokenizer folder {source} does not exist",
            "paths in the config are relative to its folder; fix base_model or tokenizer_config",
        )
    if not _holds_tokenizer(folder):
        return WizardError(
            f"the folder {source} holds no tokenizer ({', '.join(TOKENIZER_FILES)})",
            "save the model's tokenizer there, or point tokenizer_config at a folder that has it",
        )
    return None


def _holds_tokenizer(folder: Path) -> bool:
    return any((folder / name).is_file() for name in TOKENIZER_FILES)


def tokenize(
    config: Path, run_dir: Path, end_of_turn: list[str], max_pieces: int, python: str | None = None
) -> Tokenized:
    """The sample `config` names, tokenized by Axolotl in `python` (default: this one)."""
    request = {"config": str(config), "end_of_turn": end_of_turn, "max_pieces": max_pieces}
    proc = run_axolotl_child(
        python or sys.executable, CHILD, json.dumps(request), REFUSALS, timeout=TIMEOUT_S,
        cwd=run_dir, extra_env={"HF_DATASETS_CACHE": str(config.parent / "cache")},
    )  # fmt: skip
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise WizardError(
            f"Axolotl's tokenization stopped: {tail}",
            "rerun with --debug, or run `axolotl preprocess` on the config",
        )
    return parse_result(json.loads(lines[-1]))


def parse_result(data: dict[str, Any]) -> Tokenized:
    if "error" in data:
        raise _child_error(str(data["error"]), str(data.get("message", "")))
    facts = data["tokenizer"]
    return Tokenized(
        TokenizerFacts(
            facts["bos_id"],
            facts["eos_id"],
            frozenset(facts["special_ids"]),
            dict(facts["end_of_turn"]),
            facts["own_template"],
            facts["used_template"],
        ),
        [[_record(row) for row in dataset["records"]] for dataset in data["datasets"]],
    )


def _record(row: dict[str, Any]) -> TokenizedRecord:
    turns = [Turn(str(role), int(start), int(end)) for role, start, end in row["turns"]]
    return TokenizedRecord(row["input_ids"], row["labels"], row["pieces"], turns)


def _child_error(kind: str, message: str) -> WizardError:
    if kind == "tokenizer":
        return WizardError(
            f"the tokenizer cannot be loaded here: {message}",
            "preview runs offline: fetch the model's tokenizer files with `hf download "
            "MODEL --include '*.json' '*.model' '*.txt' '*.jinja'`",
        )
    if kind == "config":
        return WizardError(
            f"Axolotl refuses the config: {message}",
            "`axolotl-wizard check --axolotl CONFIG` says more",
        )
    return TokenizationFailed(
        f"Axolotl cannot tokenize the records: {message}",
        "change what Axolotl's message names (the dataset's type, field mapping or "
        "tokens), then run the command again",
    )
