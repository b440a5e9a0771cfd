"""The review screen and the dataset preview, drawn with rich (imported here only, lazily).

Both return text, so a Prompter shows them like any other line and the scripted tests can read
them. `color` is true only when the interview runs in a terminal.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.terminal import visible

if TYPE_CHECKING:
    from rich.console import RenderableType

    from wizard.preview.report import Preview
    from wizard.render.plan import RunPlan

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
    """The first records of a dataset as a table, one column per field (the dataset's text is
    shown as text: no markup, no terminal controls)."""
    from rich.table import Table

    columns = list(dict.fromkeys(k for row in rows for k in row))
    table = Table(title="first records", title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(_text(str(column)), overflow="fold")
    for row in rows:
        table.add_row(*[_text(str(row.get(c, ""))) for c in columns])
    return render([table], color)


def review_text(
    plan: RunPlan,
    run_dir: Path | None,
    asked: set[str],
    color: bool,
    preview: Preview | None = None,
) -> str:
    """Summary table, batch arithmetic, memory fit, the files and the YAML, highlighted: all of
    it from the plan `new` writes (auto-fit already applied). `asked` are the questions the
    interview asked: their answers are shown even where they equal the defaults. The steps per
    epoch come from the interview's `preview` when it ran."""
    from rich.syntax import Syntax

    from wizard.interview.data_answers import epoch_steps
    from wizard.render.runfolder import CONFIG_FILENAME, batch_arithmetic

    where = f"{visible(str(run_dir))}/" if run_dir is not None else "the run folder"
    facts = [f"Batch:  {batch_arithmetic(plan.spec)}", f"Recipe: {recipe_text(plan)}"]
    steps = epoch_steps(plan.spec, Path.cwd(), preview)
    if steps is not None:
        facts.append(visible(steps.line()))
        if steps.warning():
            facts.append(f"! {steps.warning()}")
    if plan.fit.plan is not None:
        facts.append(f"Auto-fit: {plan.fit.plan.describe()}")
    facts += [
        f"Memory: {memory_text(plan)}",
        f"Files:  {', '.join(plan.folder.files)} in {where}",
    ]
    theme = "ansi_dark" if color else "default"
    yaml_view = Syntax(plan.folder.files[CONFIG_FILENAME], "yaml", theme=theme, word_wrap=True)
    return render([summary_table(plan, asked), "\n".join(facts), yaml_view], color)


def summary_table(plan: RunPlan, asked: set[str]) -> Any:
    from rich.table import Table

    from wizard.answers.layers import Layer, LayerKind

    table = Table(title="Review", title_justify="left")
    for name in ("answer", "value", "from"):
        table.add_column(name)
    flat = Layer.from_nested("spec", plan.spec.model_dump(mode="json")).values
    for key, value in flat.items():
        origin = plan.answers.origin_layer(key)
        if origin is None and key not in asked:
            continue  # a spec default nobody was asked about: the YAML below shows it
        if origin is None:
            shown = "default"
        else:
            shown = "typed" if origin.kind is LayerKind.INTERVIEW else origin.name
        table.add_row(key, _text(_short(value)), _text(shown))
    return table


def _text(value: str) -> Any:
    """A cell that is the user's text, shown as it is written (rich would read `[x]` as markup)."""
    from rich.text import Text

    return Text(visible(value))


def _short(value: Any) -> str:
    from wizard.interview.questions import answer_text

    text = ", ".join(map(str, value)) if isinstance(value, list) else answer_text(value)
    return text if len(text) <= 60 else text[:59] + "…"


def memory_text(plan: RunPlan) -> str:
    from wizard.render.autofit_layer import memory_line

    if plan.estimate is None:
        if plan.spec.hardware.accelerator == "cpu":
            return "a CPU run: no GPU memory to estimate"
        return plan.fit.note or "unknown here (the model architecture was not found)"
    line = memory_line(plan.estimate, plan.spec).removeprefix("Memory: ")
    ram = plan.spec.hardware.host_ram
    source = "" if ram is None or ram.answered else f" (host RAM {ram.text()})"
    return f"{line}{source} (`axolotl-wizard estimate` gives the breakdown)"


def recipe_text(plan: RunPlan) -> str:
    """`DPO with qlora: lr 5e-06 (usual 1e-06 to 5e-05), flash attention, bf16; from ...`"""
    spec = plan.spec
    recipe = spec.recipe
    low, high = recipe.lr_range
    gpu = spec.hardware.gpu or "an unnamed GPU (name it: hardware.gpu)"
    return (
        f"{recipe.objective.upper()} with {spec.method.kind} on {gpu}: learning rate "
        f"{spec.learning_rate:g} (usual {low:g} to {high:g}), {spec.resolved_precision}, "
        f"{spec.resolved_attention} attention, packing {'on' if spec.resolved_packing else 'off'};"
        f" after {recipe.sources[0]}"
    )
