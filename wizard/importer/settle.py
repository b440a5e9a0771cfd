"""From a cleaned config to answers that render back to exactly that config.

Each proposal (`importer.proposals`) is kept only when the answers with it render keys that are
all in the config with the same values, so an answer can never add or change a key: what is not
claimed by an answer stays a raw key, unchanged. Only the answers a config gives are set
(`defaults: axolotl`), so the wizard's own defaults and opinions are never rendered either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from wizard.answers.layers import unflatten
from wizard.axolotl import keys as K
from wizard.axolotl.view import AxolotlConfig
from wizard.errors import WizardError
from wizard.importer.proposals import (
    dataset_answers,
    deepspeed_file_proposals,
    deepspeed_proposals,
    method_kind,
    proposals,
    raw_dataset,
)
from wizard.render.axolotl_config import render_axolotl
from wizard.render.deepspeed_config import run_deepspeed
from wizard.render.key_table import answers_of_key
from wizard.runspec import RunSpec
from wizard.runspec.base import number_in_text

# The answers every import gives, as the key table names them.
(MODEL,) = answers_of_key(K.BASE_MODEL)
(DATASETS,) = answers_of_key(K.DATASETS)
(METHOD,) = answers_of_key(K.ADAPTER)
# The other lists of dataset entries, each an answer read like `datasets` when every entry is.
OTHER_DATASET_LISTS = {key: answers_of_key(key)[0]
                       for key in (K.TEST_DATASETS, K.PRETRAINING_DATASET)}  # fmt: skip
ANSWER_KEYS = {DATASETS: K.DATASETS, **{a: k for k, a in OTHER_DATASET_LISTS.items()}}


@dataclass
class Settled:
    answers: dict[str, Any]  # flat dotted answers; `datasets` is the list of dataset answers
    raw: dict[str, Any]  # the keys no answer renders, in the config's order
    claimed: list[str]  # the config keys the answers render


def settle(cfg: dict[str, Any], source: str, deepspeed: dict[str, Any] | None = None) -> Settled:
    """The answers of `cfg` (`deepspeed`: the JSON its `deepspeed:` names, when carried)."""
    config = AxolotlConfig(cfg)
    base = _base(config)
    datasets = [_settle_dataset(base, DATASETS, entry) for entry in _datasets(config, source)]
    answers, rendered = _first_rendered(base, datasets, cfg, source)
    for proposal in proposals(config):
        trial = {**answers, **proposal}
        again = _rendered_as(trial, cfg)
        if again is not None:
            answers, rendered = trial, again
    if deepspeed is not None:
        answers, rendered = _deepspeed_answers(answers, rendered, cfg, deepspeed)
    raw = {key: value for key, value in cfg.items() if key not in rendered}
    return Settled(answers, raw, list(rendered))


def _first_rendered(
    base: dict[str, Any], datasets: list[dict[str, Any]], cfg: dict[str, Any], source: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model, method and dataset answers, with what they render: the other dataset lists
    as answers unless they cannot be said exactly, and the method as `full` when an adapter
    cannot be (qlora without 4 bit)."""
    lists = _other_lists(base, cfg)
    for method in (method_kind(AxolotlConfig(cfg)), "full"):
        for others in (lists, {}):
            answers = {**base, METHOD: method, **others}
            if datasets:  # none in a pretraining run
                answers[DATASETS] = datasets
            rendered = _rendered_as(answers, cfg)
            if rendered is not None:
                return answers, rendered
    raise WizardError(f"{source}: its model or datasets cannot be imported", "report this")


def _base(config: AxolotlConfig) -> dict[str, Any]:
    """The answers every trial starts from: an imported run, its model."""
    return {"defaults": "axolotl", MODEL: config.value(K.BASE_MODEL)}


def _datasets(config: AxolotlConfig, source: str) -> list[dict[str, Any]]:
    """The `datasets:` entries; none in a pretraining run, which trains on its own list."""
    datasets = config.datasets
    if not datasets and not config.value(K.PRETRAINING_DATASET):
        raise WizardError(
            f"{source}: the config has no `datasets:` (nor `pretraining_dataset:`), so there is "
            "nothing to train on",
            "add the datasets to the config, then import it",
        )
    for index, entry in enumerate(datasets):
        if not _has_path(entry):
            raise WizardError(
                f"{source}: datasets[{index}] names no `path:`, which an import needs",
                "give each dataset a path (a Hub id or a local file)",
            )
    return datasets


def _has_path(entry: Any) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("path"), str)


def _other_lists(base: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """`test_datasets` and `pretraining_dataset` as answers, when each entry has a path."""
    answers: dict[str, Any] = {}
    for key, answer in OTHER_DATASET_LISTS.items():
        entries = cfg.get(key)
        if isinstance(entries, list) and entries and all(map(_has_path, entries)):
            answers[answer] = [_settle_dataset(base, answer, entry) for entry in entries]
    return answers


def _settle_dataset(base: dict[str, Any], answer: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The dataset's answers when they render it exactly, else its path and raw keys (which
    always render it: the path and each key as written)."""
    key = ANSWER_KEYS[answer]
    trials = {**base, METHOD: "full", DATASETS: [{"path": "org/any", "format": "alpaca"}]}
    for candidate in (dataset_answers(entry), raw_dataset(entry)):
        rendered = _render({**trials, answer: [candidate]})
        if rendered is not None and same(rendered[key][0], entry):
            return candidate
    return raw_dataset(entry)


def _deepspeed_answers(
    answers: dict[str, Any], rendered: dict[str, Any], cfg: dict[str, Any], carried: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The distributed answers whose DeepSpeed file is exactly the carried JSON, with the
    rendered keys: the wizard's own file (a run it made, imported again), else Axolotl's own
    file of that name, else the carried file named as it is (`distributed.deepspeed_config`).
    Its file name may change, but not whether it says `zero3`, which Axolotl reads from it."""
    written = str(cfg[K.DEEPSPEED])
    for proposal in (*deepspeed_proposals(), *deepspeed_file_proposals(written)):
        trial = {**answers, **proposal}
        spec = _spec(trial)
        named = None if spec is None else run_deepspeed(spec, {written: carried})
        if named is None or not same(named[1], carried):
            continue
        name = named[0]
        if ("zero3" in name) == ("zero3" in written):
            again = _rendered_as(trial, {**cfg, K.DEEPSPEED: name})
            if again is not None:
                return trial, again
    return answers, rendered


def _rendered_as(answers: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any] | None:
    """What `answers` render, when every key of it is in `cfg` with the same value."""
    rendered = _render(answers)
    if rendered is None:
        return None
    if all(key in cfg and same(value, cfg[key]) for key, value in rendered.items()):
        return rendered
    return None


def _render(answers: dict[str, Any]) -> dict[str, Any] | None:
    spec = _spec(answers)
    try:
        return None if spec is None else render_axolotl(spec).as_dict()
    except WizardError:
        return None


def _spec(answers: dict[str, Any]) -> RunSpec | None:
    try:
        return RunSpec.model_validate(unflatten(answers))
    except (ValidationError, WizardError):
        return None


def same(ours: Any, theirs: Any) -> bool:
    """Equal as Axolotl reads them: `2e-4` (text to PyYAML) is the number 0.0002, 1 is 1.0,
    but true is never 1."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return ours.keys() == theirs.keys() and all(same(v, theirs[k]) for k, v in ours.items())
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(map(same, ours, theirs))
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return ours is theirs
    a, b = _number(ours), _number(theirs)
    if a is not None and b is not None:
        return a == b
    return bool(type(ours) is type(theirs) and ours == theirs)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return number_in_text(value)
    return None
