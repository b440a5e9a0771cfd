"""The Presets and Runs tabs: views of the presets and of the runs under the page's folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from wizard.errors import WizardError
from wizard.ui import presets_page
from wizard.ui.review import problem_text


def _guarded(work: Any, markdown: bool = True) -> Any:
    """A handler whose WizardError is shown as the terminal shows it, not as a page error."""

    def handler(*args: Any) -> Any:
        try:
            return work(*args)
        except WizardError as err:
            return problem_text(err, markdown)

    return handler


def presets_tab(page: Any) -> None:
    names = [row[0] for row in presets_page.listing_rows()]
    listing = gr.Dataframe(
        presets_page.listing_rows(),
        headers=["name", "source", "version", "description"],
        elem_id="presets-list",
        interactive=False,
    )
    with gr.Row():
        name = gr.Dropdown(names, label="Preset", elem_id="preset-name", value=names[0])
        key = gr.Textbox(
            label="Answer to explain (a dotted key)",
            elem_id="explain-key",
            value="training.micro_batch_size",
        )
    with gr.Row():
        show = gr.Button("Show", elem_id="preset-show")
        explain = gr.Button("Explain", elem_id="preset-explain")
    shown = gr.Dataframe(
        headers=["answer", "value", "from"], elem_id="preset-rows", interactive=False
    )
    explained = gr.Code(label="Where it comes from", elem_id="preset-explained", language=None)
    show.click(lambda n: presets_page.show_rows(n), name, shown)
    explain.click(_guarded(presets_page.explain_text, markdown=False), [name, key], explained)
    with gr.Row():
        other = gr.Dropdown(names, label="Diff against", elem_id="preset-other", value=names[-1])
        diff = gr.Button("Diff", elem_id="preset-diff")
    changes = gr.Dataframe(
        headers=["answer", "first", "second"], elem_id="preset-diffs", interactive=False
    )
    diff.click(lambda a, b: presets_page.diff_rows(a, b), [name, other], changes)
    gr.Markdown(
        "Save the answers of the run folder Write made as a project preset "
        f"({presets_page.PROJECT_PRESETS}/NAME.yml)."
    )
    with gr.Row():
        new_name = gr.Textbox(label="New preset name", elem_id="save-name")
        description = gr.Textbox(label="Description", elem_id="save-description")
        locks = gr.Textbox(label="Locked answers (comma-separated keys)", elem_id="save-locks")
    save = gr.Button("Save as preset", elem_id="preset-save")
    saved = gr.Markdown(elem_id="preset-saved")

    def on_save(preset: str, run_dir: str, text: str, locked: str) -> Any:
        message = _guarded(presets_page.save_text)(preset, Path(run_dir), text, locked)
        rows = presets_page.listing_rows()
        return message, rows, gr.update(choices=[r[0] for r in rows])

    save.click(on_save, [new_name, page.run_dir, description, locks], [saved, listing, name])


def runs_tab() -> None:
    from wizard.ui import runs_page

    refresh = gr.Button("Refresh", elem_id="runs-refresh")
    table = gr.Dataframe(headers=runs_page.HEADERS, elem_id="runs-list", interactive=False)
    with gr.Row():
        launch = gr.Dropdown(label="Launch", elem_id="run-pick", allow_custom_value=True)
        show = gr.Button("Open", elem_id="run-open")
    curve = gr.HTML(elem_id="run-curve")
    memory = gr.Markdown(elem_id="run-memory")
    tail = gr.Code(label="The log's last lines", elem_id="run-log", language=None)

    def on_refresh() -> Any:
        rows = _guarded(runs_page.runs_rows)(Path.cwd())
        if isinstance(rows, str):
            return [], gr.update(), rows
        names = [row[0] for row in rows]
        return rows, gr.update(choices=names, value=names[0] if names else None), ""

    def on_show(name: str) -> Any:
        if not name:
            return "", "Pick a launch (Refresh lists them).", ""
        try:
            return runs_page.run_view(Path.cwd(), name)
        except WizardError as err:
            return "", problem_text(err), ""

    refresh.click(on_refresh, None, [table, launch, memory])
    show.click(on_show, launch, [curve, memory, tail])
