"""The review screen and the dataset preview, drawn with rich (imported here only, lazily).

Both return text, so a Prompter shows them like any other line and the scripted tests can read
them. `color` is true only when the interview runs in a terminal.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import RenderableType

    from wizard.interview import Interview
    from wizard.runfolder import RunFolder
    from wizard.spec import RunSpec

WIDTH = 100


def render(parts: list[RenderableType], color: bool) -> str:
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer, width=WIDTH, force_terminal=color, color_system="standard" if color else None,
        highlight=False, emoji=False,
    )  # fmt: skip
    for part in parts:
        console.print(part)
    return buffer.getvalue().rstrip("\n")


def preview_text(rows: list[dict[str, Any]], color: bool) -> str:
    """The first records of a dataset as a table, one column per field."""
    from rich.table import Table

    columns = list(dict.fromkeys(k for row in rows for k in row))
    table = Table(title="first records", title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*[str(row.get(c, "")) for c in columns])
    return render([table], color)


def build_folder(iv: Interview, spec: RunSpec) -> RunFolder:
    from wizard.answers_file import AnswersDocument
    from wizard.render import keep_path, relative_to_run_dir
    from wizard.runfolder import build_run_folder

    doc = AnswersDocument(spec, iv.answers.raw_axolotl(), iv.preset)
    mapper = keep_path if iv.run_dir is None else relative_to_run_dir(str(iv.run_dir), os.getcwd())
    return build_run_folder(doc, mapper)


def review_text(iv: Interview, spec: RunSpec) -> str:
    """Summary table, batch arithmetic, memory fit, the files and the YAML, highlighted."""
    from rich.syntax import Syntax

    from wizard.runfolder import CONFIG_FILENAME, batch_arithmetic

    folder = build_folder(iv, spec)
    where = f"{iv.run_dir}/" if iv.run_dir is not None else "the run folder"
    facts = [
        f"Batch:  {batch_arithmetic(spec)}",
        f"Memory: {memory_line(iv, spec)}",
        f"Files:  {', '.join(folder.files)} in {where}",
    ]
    theme = "ansi_dark" if iv.color else "default"
    yaml_view = Syntax(folder.files[CONFIG_FILENAME], "yaml", theme=theme, word_wrap=True)
    return render([summary_table(iv, spec), "\n".join(facts), yaml_view], iv.color)


def summary_table(iv: Interview, spec: RunSpec) -> Any:
    from rich.table import Table

    from wizard.layers import Layer

    table = Table(title="Review", title_justify="left")
    for name in ("answer", "value", "from"):
        table.add_column(name)
    flat = Layer.from_nested("spec", spec.model_dump(mode="json")).values
    for key, value in flat.items():
        origin = iv.answers.origin(key)
        if origin is None and key not in iv.asked:
            continue  # a spec default nobody was asked about: the YAML below shows it
        shown = "typed" if origin == "interview" else origin or "default"
        table.add_row(key, _short(value), shown)
    return table


def _short(value: Any) -> str:
    from wizard.questions import answer_text

    text = ", ".join(map(str, value)) if isinstance(value, list) else answer_text(value)
    return text if len(text) <= 60 else text[:59] + "…"


def memory_line(iv: Interview, spec: RunSpec) -> str:
    from wizard.memoryfit import spec_note

    if iv.arch is None:
        return "unknown here (model architecture not found); run `axolotl-wizard estimate` later"
    return f"{spec_note(iv.arch, spec)} (`axolotl-wizard estimate` gives the breakdown)"
