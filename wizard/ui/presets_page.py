"""The Presets tab: what `presets list|show|explain|diff|save` say, as tables and text."""

from __future__ import annotations

from pathlib import Path

from wizard.errors import WizardError
from wizard.presets.views import Resolved
from wizard.terminal import visible
from wizard.ui.review import markdown_line

PROJECT_PRESETS = Path(".axolotl-wizard") / "presets"  # the project folder, under the page's DIR


def listing_rows() -> list[list[str]]:
    from wizard.presets.views import list_presets

    rows = []
    for item in list_presets():
        if item.preset is None:
            rows.append([item.qualified_name, item.source, "-", f"BROKEN: {item.problem}"])
            continue
        data = item.preset.data
        rows.append([item.qualified_name, item.source, data.version, data.description])
    return [[visible(cell) for cell in row] for row in rows]


def resolved(name: str) -> Resolved:
    from wizard.presets.store import preset_chain
    from wizard.presets.views import resolve_chain

    return resolve_chain(preset_chain(name))


def show_rows(name: str) -> list[list[str]]:
    """Each answer the preset gives with the layer it comes from, as `presets show` lists them."""
    from wizard.presets.views import show_value

    rows = []
    for row in resolved(name).rows:
        if row.origin == "default" and row.value is None:
            continue  # unset: Axolotl's default holds
        origin = row.origin + (" [locked]" if row.locked_by else "")
        rows.append([row.key, show_value(row), origin])
    return [[visible(cell) for cell in row] for row in rows]


def explain_text(name: str, key: str) -> str:
    from wizard.presets.views import explain

    found = resolved(name)
    lines = explain(found, key.strip())
    return "\n".join(
        visible(line) for line in [f"in preset {found.preset.qualified_name}:", *lines]
    )


def diff_rows(a: str, b: str) -> list[list[str]]:
    from wizard.presets.views import diff

    return [[visible(c) for c in change] for change in diff(resolved(a), resolved(b))]


def save_text(name: str, run_dir: Path, description: str, locked: str) -> str:
    """Save the answers of a run folder Write made as a project preset (`presets save`'s rules:
    placeholders for machine paths, no auto-fit values, the locks given)."""
    from wizard.answers.file import ANSWERS_FILENAME
    from wizard.presets.tools import SaveRequest, save_preset

    if not (run_dir / ANSWERS_FILENAME).is_file():
        raise WizardError(
            f"{run_dir} has no {ANSWERS_FILENAME} yet",
            "press Write on the Review tab first: a preset is saved from the run folder's answers",
        )
    locks = tuple(key.strip() for key in locked.split(",") if key.strip())
    saved = save_preset(
        SaveRequest(
            name.strip(), run_dir, PROJECT_PRESETS, description.strip() or None, locked=locks
        )
    )
    left = saved.machine_paths
    note = f" (left out, paths on this machine: {', '.join(left)})" if left else ""
    return markdown_line(f"Saved preset {name.strip()} as {saved.path}{note}")
