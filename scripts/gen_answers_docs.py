"""Regenerate `docs/answers.md`, the answers reference, from the code (the one source):

    python scripts/gen_answers_docs.py

One row per answer key, as `--set` takes it: its type and choices, its default and its meaning
come from the spec's Pydantic models (`wizard/runspec`); the Axolotl key it writes comes from
rendering (`wizard/render`): the key table's rows (`render/key_table.py`), the answer each
rendered entry is tagged with, and, for keys inside a mapping or a dataset entry,
what changes in the rendered config when the answer is left out of a sample run.
`tests/test_docs.py` fails when the page is stale.
"""

from __future__ import annotations

import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generated_file import write_generated

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "answers.md"
sys.path.insert(0, str(ROOT))

from answer_samples import SAMPLE_RUNS  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from pydantic.fields import FieldInfo  # noqa: E402
from pydantic_core import PydanticUndefined  # noqa: E402

from wizard.axolotl.schema import load_schema  # noqa: E402
from wizard.render.axolotl_config import render_axolotl  # noqa: E402
from wizard.render.key_table import ROWS  # noqa: E402
from wizard.runspec import (  # noqa: E402
    DATA_FORMAT,
    DEFAULT_METHOD,
    METHODS,
    OBJECTIVES,
    TRADE_OFFS,
    AxolotlChoices,
    RunSpec,
)
from wizard.runspec.field_docs import field_docs  # noqa: E402

LONG_CHOICES = 8  # more names than this go to the list at the end of the page
KEYS_SHOWN = 4


@dataclass(frozen=True)
class Answer:
    key: str  # dotted, as --set takes it: datasets.N.path
    info: FieldInfo
    kinds: tuple[str, ...] = ()  # the method or objective kinds that have it
    description: str | None = None  # the field's docstring


# --- the answers, from the spec -----------------------------------------------------------


def sections() -> list[tuple[str, str, list[Answer]]]:
    """(title, intro, answers) in the spec's order."""
    top: list[Answer] = []
    out: list[tuple[str, str, list[Answer]]] = []
    docs = field_docs(RunSpec)
    for name, info in RunSpec.model_fields.items():
        model = _model_of(info.annotation)
        if name == "method":
            out.append(("method", _kinds_intro("method"), _kind_answers("method", METHODS)))
        elif name == "objective":
            out.append(
                ("objective", _kinds_intro("objective"), _kind_answers("objective", OBJECTIVES))
            )
        elif model is not None:
            prefix = f"{name}.N." if _is_list(info.annotation) else f"{name}."
            title = prefix.rstrip(".")
            out.append((title, _doc(model), list(_walk(model, prefix))))
        else:
            top.append(Answer(name, info, description=docs.get(name)))
    return [("top level", "", top), *out]


def shared_entries() -> dict[str, str]:
    """A list of entries whose answers are another section's (`test_datasets.N.` -> `datasets.N.`):
    its row names that section instead of repeating it."""
    found = {}
    for name, info in RunSpec.model_fields.items():
        inner = [arg for arg in _union(info.annotation) if _is_list(arg)]
        model = _model_of(inner[0]) if inner and _model_of(info.annotation) is None else None
        if model is not None:
            found[f"{name}.N."] = f"{_section_of(model)}."
    return found


def _section_of(model: type[BaseModel]) -> str:
    """The section of the page whose answers are a model's fields (`datasets.N`)."""
    for name, info in RunSpec.model_fields.items():
        if _model_of(info.annotation) is model:
            return f"{name}.N" if _is_list(info.annotation) else name
    raise SystemExit(f"no section of the page has the answers of {model.__name__}")


def _walk(model: type[BaseModel], prefix: str) -> Iterator[Answer]:
    docs = field_docs(model)
    for name, info in model.model_fields.items():
        inner = _model_of(info.annotation)
        if inner is None:
            yield Answer(prefix + name, info, description=docs.get(name))
        else:
            yield from _walk(inner, f"{prefix}{name}.")


# The union's tag, which no model field describes.
KIND_MEANINGS = {
    "method": "which weights train: all of them (full), a LoRA adapter, or a LoRA adapter over "
    "4-bit weights (qlora)",
    "objective": "what the loss learns from (the table above)",
}


def _kind_answers(section: str, kinds: dict[str, type[BaseModel]]) -> list[Answer]:
    """A field of several kinds is one row that names them; its type and meaning are taken
    from the kind that describes it (an import-only `false` of the others aside)."""
    default = DEFAULT_METHOD if section == "method" else "sft"
    tag = FieldInfo(annotation=typing.Literal[tuple(kinds)], default=default)
    kind_rows = [Answer("kind", tag, (kind,), KIND_MEANINGS[section]) for kind in kinds]
    found: dict[str, list[Answer]] = {"kind": kind_rows}
    for kind, model in kinds.items():
        docs = field_docs(model)
        for name, info in model.model_fields.items():
            if name != "kind":
                found.setdefault(name, []).append(Answer(name, info, (kind,), docs.get(name)))
    rows = []
    for name, answers in found.items():
        described = [answer for answer in answers if answer.description] or answers
        kinds_with_it = tuple(answer.kinds[0] for answer in answers)
        rows.append(Answer(f"{section}.{name}", described[0].info, kinds_with_it,
                           described[0].description))  # fmt: skip
    return rows


def _kinds_intro(section: str) -> str:
    if section == "method":
        kinds = ", ".join(f"`{kind}`" for kind in METHODS)
        return (
            f"`method.kind` is one of {kinds} (default `{DEFAULT_METHOD}`); each kind has its "
            "own answers (the last column), and an answer of another kind is refused."
        )
    lines = [
        "`objective.kind` says what the loss learns from (default `sft`); each kind has its own "
        "answers (the last column), and an answer of another kind is refused.",
        "",
        "| kind | data (`datasets.N.format`) | what it does |",
        "| --- | --- | --- |",
    ]
    for kind in OBJECTIVES:
        data = f"`{DATA_FORMAT[kind]}`" if kind in DATA_FORMAT else "any SFT format"
        lines.append(f"| `{kind}` | {data} | {TRADE_OFFS[kind]} |")
    return "\n".join(lines)


def _doc(model: type[BaseModel]) -> str:
    doc = model.__doc__ or ""
    return " ".join(doc.split()) if doc and not doc.startswith("Usage docs") else ""


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The section model an annotation holds (a model, an optional one, a list of them)."""
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _is_list(annotation: Any) -> bool:
    return typing.get_origin(annotation) is list


# --- types, defaults, meanings ----------------------------------------------------------------


def type_text(answer: Answer) -> str:
    info = answer.info
    # A top-level Annotated is unpacked by Pydantic: its markers are the field's metadata.
    choices = next((m for m in info.metadata if isinstance(m, AxolotlChoices)), None)
    if choices is not None:
        return _names_text(choices)
    parts = [_type_part(arg) for arg in _union(info.annotation) if arg is not type(None)]
    text = " or ".join(dict.fromkeys(parts))
    bounds = _bounds(info.metadata)
    return f"{text} ({bounds})" if bounds else text


def _union(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _type_part(annotation: Any) -> str:
    choices = _choices(annotation)
    if choices is not None:
        return _names_text(choices)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return ", ".join(f"`{_yaml(arg)}`" for arg in args)
    if origin is typing.Annotated:
        return _type_part(args[0])
    if origin is list:
        return f"list of {_type_part(args[0])}"
    if origin is dict:
        return "mapping"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        section = _section_of(annotation)
        return f"[`{section}`](#{_anchor(section)}) entries"
    simple = {bool: "`true`/`false`", int: "whole number", float: "number", str: "text"}
    return simple.get(annotation, str(annotation))


def _names_text(choices: AxolotlChoices) -> str:
    names = choices.names()
    if len(names) > LONG_CHOICES:
        return f"an Axolotl `{choices.key}` name ([{len(names)} names](#{_anchor(choices.key)}))"
    return ", ".join(f"`{name}`" for name in names)


def _choices(annotation: Any) -> AxolotlChoices | None:
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    return next((m for m in annotation.__metadata__ if isinstance(m, AxolotlChoices)), None)


def _bounds(metadata: list[Any]) -> str:
    words = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    found = []
    for item in metadata:
        if getattr(item, "min_length", None) == 1:
            found.append("not empty")
        for name, word in words.items():
            value = getattr(item, name, None)
            if value is not None:
                found.append(f"{word} {value:,}" if isinstance(value, int) else f"{word} {value}")
    return ", ".join(found)


def default_text(answer: Answer) -> str:
    info = answer.info
    if info.default is PydanticUndefined:
        return "(required)" if info.default_factory is None else ""
    return "none" if info.default is None else f"`{_yaml(info.default)}`"


def _yaml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)) and not value:
        return "[]" if isinstance(value, list) else "{}"
    return str(value)


def meaning(answer: Answer, keys: list[str]) -> str:
    """The spec's description; else Axolotl's own for the one key the answer writes."""
    if answer.description:
        return answer.description
    if len(keys) == 1 and "." not in keys[0] and "[" not in keys[0]:
        found = load_schema().property(keys[0]) or {}
        text = " ".join(str(found.get("description") or "").split())
        if text:
            return f"Axolotl: {_first_sentence(text)}"
    return ""


def _first_sentence(text: str) -> str:
    """Up to the first full stop that ends a sentence (not `e.g. cosine`)."""
    ends = [i for i in range(len(text) - 2) if text[i : i + 2] == ". " and text[i + 2].isupper()]
    return text[: ends[0] + 1] if ends else text


# --- the Axolotl keys, from rendering -------------------------------------------------------


def axolotl_keys() -> dict[str, list[str]]:
    """Answer -> the Axolotl keys it writes: the key table's rows (a composite row's key gives
    way to the keys found inside it), the answer each rendered entry is tagged with, and the keys
    inside mappings and dataset entries that leaving the answer out of a sample run changes (the
    answer that changes the fewest keys owns a key)."""
    found: dict[str, list[str]] = {}
    tagged: dict[str, list[str]] = {}
    for row in ROWS:
        _add(found if row.crossing == "same" else tagged, row.answer, row.key)
    alone: dict[str, list[str]] = {}  # the one key an untagged answer changes
    for sample in SAMPLE_RUNS:
        base = _rendered(sample)
        if base is None:
            raise SystemExit(f"scripts/answer_samples.py: the spec refuses the sample {sample}")
        tags, leaves = base
        for answer, keys in tags.items():
            for key in keys:
                _add(tagged, answer, key)
        changes = _changes(sample, leaves)
        for answer in changes:
            for leaf in _owned(answer, changes):
                if "." in leaf or "[" in leaf:
                    _add(found, answer, leaf)
                elif answer not in tags and len(changes[answer]) == 1:
                    _add(alone, answer, leaf)
        required = [answer for answer in _set_answers(sample) if answer not in changes]
        for answer, leaf in _held_values(sample, required, leaves):
            _add(found, answer, leaf)
    return _merged(found, tagged, alone)


def _merged(
    found: dict[str, list[str]], tagged: dict[str, list[str]], alone: dict[str, list[str]]
) -> dict[str, list[str]]:
    """A tagged key gives way to the keys found inside it (`trl` to `trl.num_generations`); an
    untagged answer also writes the one key it alone changes when that key is written for an
    answer of its section (`training.effective_batch_size`: gradient accumulation)."""
    for answer, keys in tagged.items():
        nested = found.get(answer, [])
        for key in keys:
            if not any(leaf.startswith(f"{key}.") for leaf in nested):
                _add(found, answer, key)
    section_of = {key: answer.split(".")[0] for answer, keys in tagged.items() for key in keys}
    for answer, keys in alone.items():
        for key in keys:
            if section_of.get(key) == answer.split(".")[0]:
                _add(found, answer, key)
    return found


def _add(found: dict[str, list[str]], answer: str, key: str) -> None:
    keys = found.setdefault(_generic(answer), [])
    if key not in keys:
        keys.append(key)


def _generic(answer: str) -> str:
    return ".".join("N" if part.isdigit() else part for part in answer.split("."))


Rendered = tuple[dict[str, list[str]], dict[str, Any]]


def _rendered(sample: dict[str, Any]) -> Rendered | None:
    """(answer -> tagged keys, leaf -> value) of a sample run; None if the spec refuses it."""
    try:
        config = render_axolotl(RunSpec.model_validate(sample))
    except ValueError:
        return None
    tags: dict[str, list[str]] = {}
    for group in config.groups:
        for entry in group.entries:
            if entry.answer and not entry.opinion:
                tags.setdefault(entry.answer, []).append(entry.key)
    return tags, dict(_leaves(config.as_dict()))


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Leaf paths of a config: `fsdp_config.reshard_after_forward`, `datasets[0].type`."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, value


def _changes(sample: dict[str, Any], leaves: dict[str, Any]) -> dict[str, set[str]]:
    """For each answer the sample sets: the leaves that change or go when it is left out (none
    for an answer the spec cannot do without)."""
    changes = {}
    for answer in _set_answers(sample):
        without = _rendered(_without(sample, answer))
        if without is None:
            continue  # the spec needs it (a required answer, or one a rule asks for)
        after = without[1]
        changed = {leaf for leaf, value in leaves.items() if after.get(leaf, _GONE) != value}
        changes[answer] = {_shown(leaf, _value(sample, answer)) for leaf in changed}
    return changes


_GONE = object()


def _owned(answer: str, changes: dict[str, set[str]]) -> list[str]:
    """The leaves `answer` changes that no answer changing fewer leaves also changes."""
    mine = changes.get(answer, set())
    return sorted(
        leaf
        for leaf in mine
        if all(len(changes[other]) >= len(mine) for other in changes if leaf in changes[other])
    )


def _held_values(
    sample: dict[str, Any], required: list[str], leaves: dict[str, Any]
) -> Iterator[tuple[str, str]]:
    """An answer the spec cannot do without (a dataset's path) cannot be left out: the nested
    leaf that holds its value is its key."""
    for answer in required:
        value = _value(sample, answer)
        if isinstance(value, bool):
            continue
        for leaf, written in leaves.items():
            if ("." in leaf or "[" in leaf) and written == value:
                yield answer, _shown(leaf, value)


def _shown(leaf: str, value: Any) -> str:
    """`datasets[0].roles.assistant` -> `datasets[].roles` for the mapping answer `roles`."""
    head, bracket, rest = leaf.partition("[")
    leaf = f"{head}[]{rest.partition(']')[2]}" if bracket else leaf
    if isinstance(value, dict) and "." in leaf and leaf.rsplit(".", 1)[1] in value:
        return leaf.rsplit(".", 1)[0]
    return leaf


def _set_answers(sample: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for name, value in sample.items():
        if isinstance(value, dict) and name not in FREE_MAPPINGS:
            yield from _set_answers(value, f"{prefix}{name}.")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for index, item in enumerate(value):
                yield from _set_answers(item, f"{prefix}{name}.{index}.")
        elif name not in ("kind", "axolotl"):
            yield prefix + name


# Answers that are mappings themselves (their keys are the user's, not answers).
FREE_MAPPINGS = ("roles", "config_overrides", "type")


def _value(sample: dict[str, Any], answer: str) -> Any:
    node: Any = sample
    for part in answer.split("."):
        node = node[int(part)] if part.isdigit() else node[part]
    return node


def _without(sample: dict[str, Any], answer: str) -> dict[str, Any]:
    """A copy of the sample with one answer left out."""
    *parents, last = answer.split(".")
    copy = _copy(sample)
    parent = _value(copy, ".".join(parents)) if parents else copy
    del parent[last]
    return copy


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


# --- the page -------------------------------------------------------------------------------

HEADER = """\
# The answers

<!-- Generated by scripts/gen_answers_docs.py from the spec (wizard/runspec) and rendering
(wizard/render): edit those, then run the script. -->

Every answer `new` takes, as `--set KEY=VALUE`, a preset's `answers:` and an answers file spell
it (`datasets.N.path`: `N` is the dataset's position, from 0). **none** means the answer is left
unset: nothing is written for it, so Axolotl's own default holds, unless its meaning says what the
wizard chooses instead (the recipe's, the GPU's). The Axolotl column is the key the answer
writes in `axolotl.yml` (`datasets[].field` is a key of each dataset entry; a dotted key is
inside a mapping); an answer with none there sets the plan instead: the GPUs, the launch's
layout, the estimate. Answers are typed strictly: `true` is not 1 and `1` is not true; a number
answer takes number text (`2e-4`). Any other Axolotl key passes through as a raw key,
`--set axolotl.KEY=VALUE` (or `datasets.N.axolotl.KEY`), checked against Axolotl's schema.
How answers layer, and the rules between them: [new.md](new.md).
"""


def _table(answers: list[Answer], keys: dict[str, list[str]], kinds: bool) -> list[str]:
    head = "| answer | type | default | Axolotl | meaning |" + (" kinds |" if kinds else "")
    lines = [head, "| --- " * (6 if kinds else 5) + "|"]
    for answer in answers:
        written = keys.get(answer.key, [])
        shown = ", ".join(f"`{key}`" for key in written[:KEYS_SHOWN])
        shown += ", …" if len(written) > KEYS_SHOWN else ""
        if answer.key.endswith(".axolotl"):  # raw keys, passed through
            shown = "its keys, as given"
        cells = [f"`{answer.key}`", type_text(answer), default_text(answer), shown or "—",
                 meaning(answer, written).replace("|", "\\|")]  # fmt: skip
        if kinds:
            cells.append(", ".join(answer.kinds))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _names_section(all_answers: list[Answer]) -> list[str]:
    lines = [
        "## Names Axolotl accepts",
        "",
        "Read from Axolotl's bundled schema (`wizard/axolotl/schemas/`), never typed in the "
        "wizard: a misspelt name is refused with the nearest one.",
        "",
    ]
    users: dict[AxolotlChoices, list[str]] = {}
    for answer in all_answers:
        markers = [m for m in answer.info.metadata if isinstance(m, AxolotlChoices)]
        for choices in markers + [_choices(arg) for arg in _union(answer.info.annotation)]:
            if choices is not None and len(choices.names()) > LONG_CHOICES:
                users.setdefault(choices, []).append(f"`{answer.key}`")
    for choices, answers in users.items():
        names = ", ".join(f"`{name}`" for name in choices.names())
        lines += [f"### {choices.key}", "", f"For {', '.join(answers)}: {names}.", ""]
    return lines


def _anchor(key: str) -> str:
    return key.lower().replace(".", "").replace(" ", "-")


def render() -> str:
    keys = axolotl_keys()
    lines = [HEADER]
    every: list[Answer] = []
    for title, intro, answers in sections():
        every += answers
        lines += [f"## {title}", ""] + ([intro, ""] if intro else [])
        lines += _table(answers, keys, kinds=title in ("method", "objective"))
        lines.append("")
    lines += _names_section(every)
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> int:
    return write_generated(OUT, render())


if __name__ == "__main__":
    sys.exit(main())
