"""The answer keys: every dotted key the spec has, the shape of a key, and one-line errors for
unknown keys and answers the spec refuses (with the keys a refused rule concerns)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from functools import cache
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from wizard.errors import WizardError
from wizard.runspec import DEFAULT_METHOD, METHODS, OBJECTIVES, AnswerConflict, RunSpec
from wizard.terminal import shown as short

MAX_LIST_POSITION = 9_999  # datasets.N and raw lists: far more than any run has
NO_DEFAULT: Any = object()  # what `answer_default` gives for an answer without a default
_INDEX = re.compile(r"\.\d+(?=\.|$)")
_DATASET_RAW = re.compile(r"^datasets\.\d+\.axolotl\.")


def known_keys() -> frozenset[str]:
    """Every dotted answer key, with list positions written as `N` (datasets.N.path)."""
    return _keys()[0]


def open_keys() -> frozenset[str]:
    """The answers that are free mappings (`model.config_overrides`, a dataset's `roles`): any
    key below them is theirs."""
    return _keys()[1]


@cache  # the spec's models are fixed once imported; every answer layer is checked against them
def _keys() -> tuple[frozenset[str], frozenset[str]]:
    keys: set[str] = set()
    free: set[str] = set()
    _collect_keys(RunSpec, "", keys, free)
    for model in METHODS.values():
        _collect_keys(model, "method.", keys, free)
    for model in OBJECTIVES.values():
        _collect_keys(model, "objective.", keys, free)
    keys -= {"method", "objective"}
    return frozenset(keys), frozenset(free)


def _collect_keys(model: type[BaseModel], prefix: str, out: set[str], free: set[str]) -> None:
    for name, info in model.model_fields.items():
        annotation = _optional_inner(info.annotation)
        inner = _record_type(annotation)
        if inner is not None:
            _collect_keys(inner, f"{prefix}{name}.N.", out, free)
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            _collect_keys(annotation, f"{prefix}{name}.", out, free)
            if annotation is not info.annotation:
                out.add(prefix + name)  # an optional section may be null as a whole
        else:
            out.add(prefix + name)
            # A mapping, or a value that may be one (a dataset's `type`: a name or a mapping).
            if dict in (get_origin(a) for a in (annotation, *get_args(annotation))):
                free.add(prefix + name)


def _optional_inner(annotation: Any) -> Any:
    """`SpecialTokens | None` -> SpecialTokens: an optional section still has dotted keys (and
    an optional mapping is still a mapping)."""
    if get_origin(annotation) not in (Union, UnionType):
        return annotation
    args = [a for a in get_args(annotation) if a is not type(None)]
    return args[0] if len(args) == 1 else annotation


def _record_type(annotation: Any) -> type[BaseModel] | None:
    args = getattr(annotation, "__args__", ())
    if getattr(annotation, "__origin__", None) is list and args:
        item = args[0]
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
    return None


def answer_default(key: str, kinds: Mapping[str, Any]) -> Any:
    """The spec's default for a dotted answer (`datasets.0.role_key` -> "role"), or NO_DEFAULT
    for a required one, a key inside a free mapping, or no answer at all. `kinds` says which
    method and objective models to read (`method.kind`, `objective.kind`; else the defaults)."""
    model: type[BaseModel] = RunSpec
    parts = [part for part in key.split(".") if not part.isdigit()]
    kinds_of = {"method": (METHODS, DEFAULT_METHOD), "objective": (OBJECTIVES, "sft")}
    for depth, part in enumerate(parts):
        if model is RunSpec and part in kinds_of and depth < len(parts) - 1:
            table, usual = kinds_of[part]
            model = table.get(str(kinds.get(f"{part}.kind", usual))) or BaseModel
            continue
        info = model.model_fields.get(part)
        if info is None:
            return NO_DEFAULT
        if depth == len(parts) - 1:
            return NO_DEFAULT if info.is_required() else info.get_default(call_default_factory=True)
        inner = _optional_inner(info.annotation)
        model = _record_type(inner) or (inner if _is_model(inner) else BaseModel)
    return NO_DEFAULT


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def generic_key(key: str) -> str:
    """`datasets.3.path` -> `datasets.N.path`: the shape of a key, for checking and suggesting."""
    return _INDEX.sub(".N", key)


def is_raw_key(key: str) -> bool:
    """A raw Axolotl key: `axolotl.KEY` at the top, or `datasets.N.axolotl.KEY` in a dataset."""
    return key.startswith("axolotl.") or bool(_DATASET_RAW.match(key))


def check_keys(keys: Iterable[str], source: str) -> None:
    """Raise on the first unknown answer key, suggesting the closest known one, or on a list
    position past MAX_LIST_POSITION (before any list is built from it)."""
    valid, free = _keys()
    for key in keys:
        _check_positions(key, source)
        shape = generic_key(key)
        if is_raw_key(key) or shape in valid or any(shape.startswith(f"{k}.") for k in free):
            continue
        raise WizardError(f"{source}: unknown answer key {short(key)}", _suggest(key, valid))


def _check_positions(key: str, source: str) -> None:
    for part in key.split("."):
        if part.isdecimal() and (len(part) > 6 or int(part) > MAX_LIST_POSITION):
            shown = part if len(part) <= 12 else f"{part[:6]}…({len(part)} digits)"
            raise WizardError(
                f"{source}: {generic_key(key)}: list position {shown} is past the "
                f"{MAX_LIST_POSITION:,} a list of answers may reach",
                "number list entries from 0 without gaps (datasets.0, datasets.1, …)",
            )


def _suggest(key: str, valid: AbstractSet[str]) -> str:
    shape = generic_key(key)
    leaf_matches = [k for k in valid if k.rsplit(".", 1)[-1] == shape.rsplit(".", 1)[-1]]
    import difflib  # here: only a name that is not found pays for it

    close = leaf_matches or difflib.get_close_matches(shape, sorted(valid), n=1, cutoff=0.5)
    if not close:
        return "`axolotl-wizard presets show NAME` lists the answer keys"
    index = re.search(r"\.(\d+)(?=\.|$)", key)
    guess = close[0].replace(".N", f".{index.group(1)}" if index else ".0")
    hint = f"did you mean {guess!r}?"
    if key.split(".", 1)[0] not in RunSpec.model_fields:
        hint += " (raw Axolotl keys go under axolotl., e.g. axolotl.chat_template=llama3)"
    return hint


def spec_error(err: ValidationError) -> WizardError:
    """Turn Pydantic's errors into one line: all missing answers together, else the first error."""
    problems = err.errors(include_url=False)
    missing = [_dotted(p["loc"]) for p in problems if p["type"] == "missing"]
    if missing:
        return WizardError(
            f"missing answers: {', '.join(missing)}",
            "give them with --set KEY=VALUE, in an --answers file, or answer the interview",
        )
    first = problems[0]
    where = _dotted(first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        other = _kinds_with(where)
        if other:
            return WizardError(
                f"{where} is an answer of {where.split('.')[0]} {' / '.join(other)} only",
                f"set {where.split('.')[0]}.kind={other[0]}, or remove {where}",
            )
        return WizardError(f"unknown answer key {where!r}", _suggest(where, known_keys()))
    shown = f"{where}: {message}" if where else message
    value = first.get("input")
    if where and not isinstance(value, (dict, list)):
        shown += f" (got {short(value)})"
    return WizardError(shown, _hint_for(first["type"], where), keys=_concerned(first, where))


def _kinds_with(where: str) -> list[str]:
    """The method or objective kinds that have this field (`objective.reward_functions`: grpo),
    for a field given to a kind without it."""
    section, _, name = where.partition(".")
    kinds = {"method": METHODS, "objective": OBJECTIVES}.get(section, {})
    return list(dict.fromkeys(k for k, model in kinds.items() if name in model.model_fields))


def _concerned(problem: Any, where: str) -> tuple[str, ...]:
    """The answers a refused value or rule concerns: a rule names them (AnswerConflict, relative
    to the model that checks it), a field is its own key."""
    conflict = (problem.get("ctx") or {}).get("error")
    if isinstance(conflict, AnswerConflict):
        return tuple(f"{where}.{key}" if where else key for key in conflict.keys)
    return (where,) if where else ()


def _dotted(loc: tuple[Any, ...]) -> str:
    # The method and objective unions add their tag ('lora', 'dpo') to the location; the user
    # never typed that part.
    parts = [str(p) for p in loc if p not in METHODS and p not in OBJECTIVES]
    return ".".join(parts)


def _hint_for(error_type: str, where: str) -> str:
    if where:
        return f"change it with --set {where}=VALUE"
    return "change one of the answers it names"
