"""The page: five tabs on one Gradio Blocks, every figure from the packages the terminal uses.

Each change walks the interview again over the tab's draft (`walk`), plans the run (`review`)
and redraws the form, the memory chart and the review from that one plan. Writing and launching
are callbacks the command gives (`Actions`): `new`'s own write path and the `launch` verb.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from wizard.errors import WizardError
from wizard.interview.start import NOTHING
from wizard.terminal import visible
from wizard.ui import form, memory, review
from wizard.ui.catalog import model_choices
from wizard.ui.tabs import presets_tab, runs_tab
from wizard.ui.walk import PREVIEW_KEY, START, Draft, walk

MAX_FIXES = 4  # buttons for the estimate's advice, the most useful first
HEADER = """# axolotl-wizard
The terminal wizard's questions, memory estimate and run folder on one page. Nothing trains
unless you press **Launch** and confirm."""


@dataclass(frozen=True)
class Actions:
    """What the page does to the world, given by the command: write a run folder (`new`'s
    path: answers, preset, folder, overwrite) and start a launch (returns what to show)."""

    write: Callable[..., Any]
    launch: Callable[[Path], str]


class Page:
    """The widgets of the page, and the outputs every refresh fills, in one fixed order."""

    def __init__(self, actions: Actions) -> None:
        self.actions = actions
        self.fields = form.fields()
        self.widgets: dict[str, Any] = {}

    def build(self) -> Any:
        with gr.Blocks(title="axolotl-wizard") as blocks:
            gr.Markdown(HEADER)
            self.draft = gr.State(asdict(Draft()))
            with gr.Tab("New run", id="new", render_children=True):
                self._new_run_tab()
            with gr.Tab("Memory", id="memory", render_children=True):
                self._memory_tab()
            with gr.Tab("Review and write", id="review", render_children=True):
                self._review_tab()
            with gr.Tab("Presets", id="presets", render_children=True):
                presets_tab(self)
            with gr.Tab("Runs", id="runs", render_children=True):
                runs_tab()
            self._wire()
            blocks.load(self.refresh, [self.draft, self.run_dir], self.outputs())
        return blocks

    # -- tabs ---------------------------------------------------------------------------------

    def _new_run_tab(self) -> None:
        self.start = gr.Dropdown(
            label="Start from",
            value=NOTHING,
            elem_id="q-start",
            choices=[NOTHING],
            interactive=True,
        )
        self.message = gr.Markdown(elem_id="validation")
        self.run_dir = gr.Textbox(
            label="Run folder (under the page's folder)", value="run", elem_id="run-dir"
        )
        section = None
        for field in self.fields:
            if field.section is not section:
                section = field.section
                accordion = gr.Accordion(section.title, open=section.gate is None)
            with accordion:
                self.widgets[field.key] = _widget(field)
        with gr.Row():
            self.preview_button = gr.Button("Preview tokens", elem_id="preview-tokens")
        self.notes = gr.Code(label="What the interview says", elem_id="notes", language=None)

    def _memory_tab(self) -> None:
        self.chart = gr.HTML(elem_id="memory")
        self.fixes = gr.Radio(
            label="What would make it fit (pick one, then Apply)", elem_id="fixes", choices=[]
        )
        self.fix_values = gr.State([])  # (label, answers) of each choice
        self.apply_fix = gr.Button("Apply the change to the answers", elem_id="apply-fix")

    def _review_tab(self) -> None:
        with gr.Row():
            self.config_text = gr.Code(
                label="axolotl.yml", language="yaml", elem_id="config", scale=3
            )
            with gr.Column(scale=2):
                self.facts = gr.Textbox(label="Batch, recipe, memory", lines=8, elem_id="facts")
                self.other_text = gr.Code(
                    label="DeepSpeed / FSDP files", language="json", elem_id="other-files"
                )
        with gr.Row():
            self.force = gr.Checkbox(label="Overwrite files that exist", value=False)
            self.write_button = gr.Button("Write", variant="primary", elem_id="write")
        self.write_result = gr.Markdown(elem_id="write-result")
        self.launch_text = gr.Code(label="Launch it (copy)", language="shell", elem_id="launch")
        with gr.Row():
            self.confirm = gr.Checkbox(
                label="Start training now on this machine", elem_id="launch-confirm"
            )
            self.launch_button = gr.Button("Launch", variant="stop", elem_id="launch-button")
        self.launch_result = gr.Markdown(elem_id="launch-result")

    # -- events -------------------------------------------------------------------------------

    def outputs(self) -> list[Any]:
        return [
            self.draft,
            self.start,
            self.message,
            self.notes,
            *self.widgets.values(),
            self.chart,
            self.fixes,
            self.fix_values,
            self.config_text,
            self.other_text,
            self.facts,
            self.launch_text,
        ]

    def _wire(self) -> None:
        inputs = [self.draft, self.run_dir]
        self.start.input(self.on_start, [self.start, *inputs], self.outputs())
        for field in self.fields:
            widget = self.widgets[field.key]
            handler = self._answer_handler(field.key)
            events = (
                [widget.submit, widget.blur] if isinstance(widget, gr.Textbox) else [widget.input]
            )
            for event in events:
                event(handler, [widget, *inputs], self.outputs())
        self.run_dir.blur(self.refresh, inputs, self.outputs())
        self.preview_button.click(self.on_preview, inputs, self.outputs())
        self.apply_fix.click(self.on_fix, [self.fixes, self.fix_values, *inputs], self.outputs())
        self.write_button.click(self.on_write, [*inputs, self.force], self.write_result)
        self.launch_button.click(self.on_launch, [self.run_dir, self.confirm], self.launch_result)

    def _answer_handler(self, key: str) -> Callable[..., list[Any]]:
        def handler(value: Any, draft: dict[str, Any], run_dir: str) -> list[Any]:
            given = {**draft["given"], key: value}
            return self.refresh({**draft, "given": given}, run_dir)

        return handler

    def on_start(self, start: str, draft: dict[str, Any], run_dir: str) -> list[Any]:
        return self.refresh({**draft, "start": start or NOTHING}, run_dir)

    def on_preview(self, draft: dict[str, Any], run_dir: str) -> list[Any]:
        once = {**draft, "given": {**draft["given"], PREVIEW_KEY: True}}
        return self.refresh(draft, run_dir, walk_draft=once)

    def on_fix(
        self, choice: str | None, fixes: list[Any], draft: dict[str, Any], run_dir: str
    ) -> list[Any]:
        values = dict((label, answers) for label, answers in fixes).get(choice or "", {})
        return self.refresh({**draft, "given": {**draft["given"], **values}}, run_dir)

    def refresh(
        self, draft: dict[str, Any], run_dir: str, walk_draft: dict[str, Any] | None = None
    ) -> list[Any]:
        """Walk the interview over the draft, plan the run; every output from that one plan."""
        walked = walk(Draft(**(walk_draft or draft)))
        folder = _inside(run_dir)
        planned = review.plan_page(walked, folder) if isinstance(folder, Path) else None
        problem = planned.problem if planned is not None else folder
        plan = planned.plan if planned is not None else None
        start = walked.prompter.prompts.get(START)
        starts = [(c.label, c.value) for c in start.choices if not c.header] if start else []
        updates = [
            draft,
            gr.update(choices=starts, value=draft["start"]),
            _message(walked.prompter.refusals, problem),
            _notes(walked.prompter.shown),
        ]
        updates += [self._field_update(walked, field) for field in self.fields]
        updates += _memory_updates(
            plan, str(problem.message) if isinstance(problem, WizardError) else None
        )
        updates += _review_updates(plan, folder)
        return updates

    def _field_update(self, walked: Any, field: form.Field) -> Any:
        if not form.shown(walked, field):
            return gr.update(visible=False)
        update: dict[str, Any] = {
            "visible": True,
            "value": form.value_of(walked, field),
            "interactive": not form.locked(walked, field),
        }
        if field.question.kind in (*form.DROPDOWN_KINDS, "checkbox"):
            extra = model_choices() if field.question.kind == "model" else []
            update["choices"] = form.choices_of(walked, field, extra)
        return gr.update(**update)

    def on_write(self, draft: dict[str, Any], run_dir: str, force: bool) -> str:
        from wizard.interview.data_answers import with_data_proposals

        walked = walk(Draft(**draft))
        folder = _inside(run_dir)
        try:
            if isinstance(folder, WizardError):
                raise folder
            if walked.problem is not None:
                raise walked.problem
            answers = with_data_proposals(walked.answers, Path.cwd())  # as `new --yes` does
            written = self.actions.write(answers, walked.preset, folder, force)
        except WizardError as err:
            return review.problem_text(err)
        lines = [f"Wrote {folder}/: {', '.join(written.plan.folder.files)}"]
        lines += [f"warning: {line}" for line in written.warnings]
        lines += [f"note: {line}" for line in written.notes]
        return "  \n".join(review.markdown_line(line) for line in lines)

    def on_launch(self, run_dir: str, confirmed: bool) -> str:
        folder = _inside(run_dir)
        if isinstance(folder, WizardError):
            return review.problem_text(folder)
        if not confirmed:
            return "Tick 'Start training now on this machine' to confirm; nothing was started."
        if not (folder / "axolotl.yml").is_file():
            return "Write the run folder first; nothing was started."
        return review.markdown_line(self.actions.launch(folder))


def _widget(field: form.Field) -> Any:
    question = field.question
    common: dict[str, Any] = {
        "label": question.message,
        "info": question.help,
        "elem_id": field.elem_id,
        "visible": False,
    }
    if question.kind == "confirm":
        return gr.Checkbox(**common)
    if question.kind == "checkbox":
        return gr.Dropdown(multiselect=True, allow_custom_value=True, **common)
    if question.kind in form.DROPDOWN_KINDS:
        return gr.Dropdown(allow_custom_value=question.kind == "model", filterable=True, **common)
    return gr.Textbox(**common)


def _inside(run_dir: str) -> Path | WizardError:
    """The run folder, which must lie under the page's folder (the working directory)."""
    here = Path.cwd().resolve()
    folder = Path(run_dir.strip() or "run")
    try:
        (here / folder).resolve().relative_to(here)
    except ValueError:
        return WizardError(
            f"{run_dir} is outside {here}",
            "the page writes only under the folder it was started in",
        )
    return folder


def _notes(shown: list[str]) -> str:
    """What the interview printed besides each question's help (the widget shows that): the
    model described, the dataset's records and proposal, the token preview."""
    helps = {f"  {field.question.help}" for field in form.fields()}
    lines = [line for text in shown if text not in helps for line in text.splitlines()]
    return "\n".join(visible(line) for line in lines)


def _message(refusals: dict[str, str], problem: WizardError | Path | None) -> str:
    lines = [review.markdown_line(f"{key}: {reason}") for key, reason in refusals.items()]
    if isinstance(problem, WizardError):
        lines.append(review.problem_text(problem))
    return "  \n".join(lines) if lines else "All answers are valid."


def _memory_updates(plan: Any, problem: str | None) -> list[Any]:
    found = memory.fixes(plan)[:MAX_FIXES]
    choices = gr.update(choices=[label for label, _answers in found], value=None)
    return [memory.memory_html(plan, problem), choices, found]


def _review_updates(plan: Any, folder: Path | WizardError) -> list[Any]:
    if plan is None or not isinstance(folder, Path):
        return ["", "", "", ""]
    files = review.file_texts(plan)
    config = next((text for name, text in files if name == "axolotl.yml"), "")
    others = "\n".join(f"// {name}\n{text}" for name, text in files if name.endswith(".json"))
    return [
        config,
        others or "(none: this run uses no DeepSpeed or FSDP file)",
        review.facts_text(plan),
        review.launch_commands(folder),
    ]
