"""How each kind of question is asked: the plain ones, and the composites that ask a little more
(the model picker, the dataset file with its sniffed format, the GPU model, the starting preset)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.axolotl.paths import is_local_path
from wizard.errors import WizardError
from wizard.interview.prompter import Choice
from wizard.interview.questions import QuestionDef, answer_text, parse_answer

if TYPE_CHECKING:
    from wizard.interview.session import Interview, Offer

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
LOCAL, HUB, SEARCH = "<local folder>", "<hub id>", "<search the catalog>"
# The model select's lines besides the featured models: question, help, the three other ways,
# the current answer, and the lines the interview printed just above it.
SELECT_CHROME_ROWS, MIN_FEATURED = 9, 4
DEFAULT_TARGETS = ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]


def is_hub_id(value: str) -> bool:
    return not is_local_path(value) and bool(HUB_ID.match(value))


def ask_kind(iv: Interview, question: QuestionDef, key: str, offer: Offer) -> Any:
    kinds = {
        "text": _text, "path": _dataset_path, "confirm": _confirm, "select": _select,
        "checkbox": _targets, "model": _model, "gpu": _gpu,
    }  # fmt: skip
    return kinds[question.kind](iv, question, key, offer)


def _default_text(value: Any) -> str:
    return "" if value is None else answer_text(value)


def _text(iv: Interview, question: QuestionDef, key: str, offer: Offer) -> Any:
    default = answer_text(offer.value) if offer.value is not None or iv.allows_none(key) else ""
    typed = iv.prompter.text(key, question.message, default, iv.validator(question, key))
    return parse_answer(key, typed, iv.method_kind())


def _confirm(iv: Interview, question: QuestionDef, key: str, offer: Offer) -> Any:
    return iv.prompter.confirm(key, question.message, bool(offer.value))


def _select(iv: Interview, question: QuestionDef, key: str, offer: Offer) -> Any:
    from wizard.interview.session import literal_choices

    choices = literal_choices(question, iv.method_kind())
    if question.notes == "method_memory":
        choices = method_choices(iv, choices)
    default = answer_text(offer.value)
    values = [c.value for c in choices]
    picked = iv.prompter.select(key, question.message, choices,
                                default if default in values else None)  # fmt: skip
    return parse_answer(key, picked, iv.method_kind())


def method_choices(iv: Interview, choices: list[Choice]) -> list[Choice]:
    """Each method's note with the memory it would need for this model on these GPUs."""
    from wizard.build.memoryfit import method_note

    cwd = Path.cwd()
    noted = []
    for choice in choices:
        memory = method_note(iv.answers, iv.preset, choice.value, cwd)
        noted.append(
            Choice(choice.value, note=f"{choice.note}; {memory}" if memory else choice.note)
        )
    return noted


# -- datasets ---------------------------------------------------------------------------------


def _dataset_path(iv: Interview, question: QuestionDef, key: str, offer: Offer) -> Any:
    below = iv.below(key)

    def check(text: str) -> str | None:
        return path_reason(text.strip(), below)

    value = iv.prompter.path(key, question.message, _default_text(offer.value), check).strip()
    index = int(key.split(".")[1])
    _sniff_into(iv, index, value, changed=value != below)
    return value


def path_reason(value: str, below: Any) -> str | None:
    """Why `value` is not a dataset: not a file we can read, not a Hub id."""
    from wizard.interview.sniff import SUFFIX_FORMATS

    if not value:
        return "give a data file or a Hub dataset id (org/name)"
    path = Path(value).expanduser()
    if path.is_dir():
        return f"{value} is a folder; give a data file (jsonl, json, parquet, csv)"
    if path.is_file():
        if path.suffix.lower() not in SUFFIX_FORMATS:
            suffix = path.suffix or "files without suffix"
            return f"cannot read {suffix}; use jsonl, json, parquet or csv"
        return None
    if is_hub_id(value) or value == below:
        return None
    return f"no such file: {value} (a Hub dataset id looks like org/name)"


def _sniff_into(iv: Interview, index: int, value: str, changed: bool) -> None:
    """Read a local file's head, show what it holds, and propose the format and mapping."""
    from wizard.interview.sniff import sniff

    prefix = f"datasets.{index}."
    for key in [k for k in iv.proposals if k.startswith(prefix)]:
        del iv.proposals[key]
    path = Path(value).expanduser()
    if not path.is_file():
        note = "a Hub dataset: fetched at training time" if is_hub_id(value) else "not found here"
        iv.prompter.show(f"  {value}: {note}")
        return
    report = sniff(path)
    iv.sniffs[index] = report
    from wizard.interview.review import preview_text

    iv.prompter.show("\n".join(f"  {line}" for line in report.lines()))
    if report.preview:
        iv.prompter.show(preview_text(report.preview, iv.color))
    proposal = report.proposal
    if proposal is None or proposal.format is None:
        return
    for name, proposed in {"format": proposal.format, **proposal.mapping}.items():
        if changed or not iv.given_below(prefix + name):
            iv.proposals[prefix + name] = proposed


# -- LoRA targets -----------------------------------------------------------------------------


def _targets(iv: Interview, question: QuestionDef, key: str, offer: Offer) -> Any:
    from wizard.models import linear_names

    names = linear_names(iv.arch) if iv.arch is not None else DEFAULT_TARGETS
    current = offer.value
    checked = list(names) if current == "all-linear" else list(current or [])
    names += [n for n in checked if n not in names]
    choices = [Choice(n) for n in names]

    def check(selected: list[str]) -> str | None:
        return iv.submodel_reason(key, selected)

    picked = iv.prompter.checkbox(key, question.message, choices, checked, check)
    if set(picked) == set(names):
        return "all-linear"
    return [n for n in names if n in picked]


# -- model ------------------------------------------------------------------------------------


def _model(iv: Interview, question: QuestionDef, key: str, offer: Offer) -> Any:
    from wizard.models import catalog_names

    current = offer.value
    shown = _featured(str(current or ""))
    choices = [Choice(current, note="current answer")] if current else []
    choices += [Choice(n) for n in shown]
    choices += [Choice(SEARCH, f"Search all {len(catalog_names())} catalog models…"),
                Choice(LOCAL, "A local folder…"), Choice(HUB, "Another Hub id…")]  # fmt: skip
    picked = iv.prompter.select(key, question.message, choices, current or shown[0], search=True)
    if picked == SEARCH:
        picked = _search_catalog(iv, key)
    elif picked == LOCAL:
        picked = iv.prompter.path(f"{key}:local", "Model folder (holds config.json)", "./",
                                  lambda text: _folder_reason(text.strip())).strip()  # fmt: skip
    elif picked == HUB:
        picked = iv.prompter.text(f"{key}:hub", "Hub model id (org/name)", "",
                                  lambda text: _hub_reason(text.strip())).strip()  # fmt: skip
    iv.prompter.show(describe_model(iv, picked))
    return picked


def _featured(current: str) -> list[str]:
    """The catalog's featured ids, as many as fit the terminal with the question around them
    (a select taller than the terminal scrolls its top off the screen)."""
    from wizard.models import featured_names

    rows = shutil.get_terminal_size(fallback=(100, 24)).lines
    room = max(MIN_FEATURED, rows - SELECT_CHROME_ROWS - (1 if current else 0))
    return [n for n in featured_names() if n != current][:room]


def _search_catalog(iv: Interview, key: str) -> str:
    from wizard.models import catalog_names

    names = {name.lower(): name for name in catalog_names()}

    def check(text: str) -> str | None:
        found = text.strip().lower() in names
        return None if found else "not a catalog model; type part of a name and pick from the list"

    typed = iv.prompter.autocomplete(f"{key}:search", "Catalog model (type part of its name)",
                                     list(names.values()), check)  # fmt: skip
    return names[typed.strip().lower()]


def _folder_reason(value: str) -> str | None:
    folder = Path(value).expanduser()
    if not folder.is_dir():
        return f"no such folder: {value}"
    if not (folder / "config.json").is_file():
        return f"{value} has no config.json (its architecture cannot be read)"
    return None


def _hub_reason(value: str) -> str | None:
    return None if HUB_ID.match(value) else "a Hub id looks like org/name"


def describe_model(iv: Interview, value: str) -> str:
    from wizard.models import resolve_arch, total_params

    try:
        arch = resolve_arch(value)
    except WizardError:
        iv.arch = None
        where = "fetched at training time" if HUB_ID.match(value) else "not found here"
        return f"  {value}: {where}; architecture unknown, so memory figures are skipped"
    iv.arch = arch
    billions = total_params(arch) / 1e9
    return (
        f"  {value}: {arch.model_type}, {billions:.2f} B parameters, {arch.num_layers} layers, "
        f"context {arch.max_positions:,} tokens ({arch.source})"
    )


# -- GPU --------------------------------------------------------------------------------------


def _gpu(iv: Interview, question: QuestionDef, key: str, offer: Offer) -> Any:
    from wizard.interview.hardware import COMMON_GPUS

    options = {gpu.label: (gpu.memory_gib, gpu.bf16) for gpu in COMMON_GPUS}
    choices = []
    if iv.detected is not None:
        found = iv.detected.gpu
        options = {"detected": (found.memory_gib, found.bf16), **options}
        choices.append(Choice("detected", f"{found.label} × {iv.detected.count}", "this machine"))
    choices += [Choice(label) for label in options if label != "detected"]
    default = _gpu_default(iv, options, choices)
    choices += [Choice("other", "Another GPU (type its memory)"),
                Choice("unset", "Not sure (leave the memory unset)")]  # fmt: skip
    picked = iv.prompter.select(key, question.message, choices, default)
    bf16 = bool(iv.value("hardware.bf16_supported"))
    memory: float | None = None
    if picked == "other":
        memory = parse_answer(key, iv.prompter.text(f"{key}:other", "GPU memory (GiB)", "",
                                                    iv.validator(question, key)))  # fmt: skip
        bf16 = iv.prompter.confirm("hardware.bf16_supported", "Does it support bf16?", bf16)
    elif picked in options:
        memory, bf16 = options[picked]
    elif picked == "keep":
        memory = iv.value(key)
    iv.record(key, memory)
    iv.record("hardware.bf16_supported", bf16)
    from wizard.interview.session import MISSING

    return MISSING


def _gpu_default(
    iv: Interview, options: dict[str, tuple[float, bool]], choices: list[Choice]
) -> str:
    memory, bf16 = iv.value("hardware.gpu_memory_gib"), bool(iv.value("hardware.bf16_supported"))
    if memory is None:
        return "detected" if "detected" in options else "unset"
    for label, spec in options.items():
        if spec == (memory, bf16):
            return label
    choices.insert(0, Choice("keep", f"{memory:g} GB" + ("" if bf16 else " (no bf16)"), "current"))
    return "keep"


# -- suggestions ------------------------------------------------------------------------------


def suggest(iv: Interview, name: str, key: str) -> Offer | None:
    from wizard.interview.session import Offer

    if name == "effective_batch":
        from wizard.axolotl.batch import sequences_per_step

        accumulation = iv.value("training.gradient_accumulation_steps") or 1
        world = int(iv.value("hardware.gpus_per_node")) * int(iv.value("hardware.nodes"))
        micro = int(iv.value("training.micro_batch_size"))
        return Offer(sequences_per_step(micro, accumulation, world), False)
    if name == "detected_gpu_count":
        return None if iv.detected is None else Offer(iv.detected.count)
    if name == "sequence_len":
        return _sequence_len(iv)
    raise KeyError(name)


def _sequence_len(iv: Interview) -> Offer | None:
    """Long enough for the longest sampled record (~4 characters a token), within the context."""
    from wizard.interview.session import Offer

    longest = max((r.longest_chars for r in iv.sniffs.values()), default=0)
    if not longest:
        return None
    length = 512
    while length < longest / 4 and length < 32768:
        length *= 2
    if iv.arch is not None:
        length = min(length, iv.arch.max_positions)
    return Offer(length)
