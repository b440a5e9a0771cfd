"""The Runs tab: the launches under the page's folder, read through `wizard.runs` (the manifests
`launch` writes): outcome, loss curve, measured against estimated memory, a log's tail."""

from __future__ import annotations

from html import escape
from pathlib import Path

from wizard.runs import LossPoint, find_runs, load_run, views
from wizard.runs.store import OUTPUT_LOG
from wizard.terminal import visible

CURVE_W, CURVE_H, PAD = 640, 240, 40
TAIL_BYTES = 16 * 1024  # of a log: the last lines, never the whole file
TAIL_LINES = 40

HEADERS = ["launch", "outcome", "steps", "final loss", "peak GPU GiB (estimate)"]


def runs_rows(folder: Path) -> list[list[str]]:
    """One row a launch, newest first (`runs`' list); a launch still running has no outcome."""
    rows = []
    for run in find_runs(folder):
        steps = f"{_or(run.steps)}/{_or(run.total_steps)}"
        loss = "-" if run.final_loss is None else f"{run.final_loss:.4g}"
        memory = views.memory_text(run.peak_allocated_gib, run.estimated_allocated_gib)
        outcome = f"unreadable: {run.error}" if run.error else run.outcome or "running?"
        rows.append([views.where(run.path, folder), outcome, steps, loss, memory])
    return [[visible(cell) for cell in row] for row in rows]


def _or(value: object) -> str:
    return "-" if value is None else str(value)


def loss_svg(points: tuple[LossPoint, ...]) -> str:
    """The loss against the step, as a line; a note when the run logged none."""
    if not points:
        return "<p>No loss logged yet.</p>"
    steps = [p.step for p in points]
    losses = [p.loss for p in points]
    low, high = min(losses), max(losses)
    span_x, span_y = max(steps[-1] - steps[0], 1), max(high - low, 1e-9)

    def xy(point: LossPoint) -> str:
        x = PAD + (point.step - steps[0]) / span_x * (CURVE_W - 2 * PAD)
        y = CURVE_H - PAD - (point.loss - low) / span_y * (CURVE_H - 2 * PAD)
        return f"{x:.1f},{y:.1f}"

    line = " ".join(xy(p) for p in points)
    labels = (
        f'<text x="4" y="{PAD - 8}" font-size="11">loss {high:.3g}</text>'
        f'<text x="4" y="{CURVE_H - PAD + 14}" font-size="11">{low:.3g}</text>'
        f'<text x="{CURVE_W - PAD - 60}" y="{CURVE_H - 8}" font-size="11">'
        f"step {steps[-1]}</text>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CURVE_W}" height="{CURVE_H}" '
        f'data-points="{len(points)}" role="img" aria-label="loss curve">'
        f'<polyline fill="none" stroke="#4c78a8" stroke-width="2" points="{line}"/>{labels}</svg>'
    )


def log_tail(launch: Path) -> str:
    """The last lines of a launch's log, read from its end only."""
    path = launch / OUTPUT_LOG
    if not path.is_file() or path.is_symlink():
        return "(no log)"
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - TAIL_BYTES))
        lines = handle.read(TAIL_BYTES).decode("utf-8", "replace").splitlines()
    return "\n".join(visible(line) for line in lines[-TAIL_LINES:])


def run_view(folder: Path, launch: str) -> tuple[str, str, str]:
    """The loss curve (HTML), the memory line and the log's tail of one launch."""
    path = folder / launch
    record = load_run(path)
    outcome = record.summary.outcome or "running"
    head = f"<p id='run-outcome'>{escape(visible(launch))}: {escape(outcome)}</p>"
    measured, estimated = record.measured.peak_allocated_gib, record.summary.estimated_allocated_gib
    memory = f"Peak GPU memory per GPU, GiB: {views.memory_text(measured, estimated)}"
    curve = f"<div id='loss-curve'>{loss_svg(record.measured.loss_curve)}</div>"
    return head + curve, visible(memory), log_tail(record.summary.path)
