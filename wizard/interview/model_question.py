"""The model question: the featured catalog models (as many as fit the terminal), a search of the
whole catalog, a local folder with config.json, or a Hub id."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from wizard.axolotl.paths import HUB_ID
from wizard.errors import WizardError
from wizard.interview.prompter import Choice
from wizard.interview.questions import QuestionDef
from wizard.interview.state import InterviewState, Offer
from wizard.models import catalog_names, featured_names, resolve_arch, total_params

LOCAL, HUB, SEARCH = "<local folder>", "<hub id>", "<search the catalog>"
# The model select's lines besides the featured models: question, help, the three other ways,
# the current answer, and the lines the interview printed just above it.
SELECT_CHROME_ROWS, MIN_FEATURED = 9, 4


def model_question(iv: InterviewState, question: QuestionDef, key: str, offer: Offer) -> Any:
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
    rows = shutil.get_terminal_size(fallback=(100, 24)).lines
    room = max(MIN_FEATURED, rows - SELECT_CHROME_ROWS - (1 if current else 0))
    return [n for n in featured_names() if n != current][:room]


def _search_catalog(iv: InterviewState, key: str) -> str:
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


def describe_model(iv: InterviewState, value: str) -> str:
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
