"""The Runs tab: the launches under the page's folder, read through `wizard.runs` (the manifests
`launch` writes): outcome, loss curve, measured against estimated memory, a log's tail."""

from __future__ import annotations

from html import escape
from pathlib import Path

from wizard.runs import LossPoint, RunRecord, find_runs, load_run
from wizard.terminal import visible

CURVE_W, CURVE_H, PAD = 640, 240, 40
TAIL_BYTES = 16 * 1024  # of a log: the last lines, never the whole file
TAIL_LINES = 40
OUTPUT_LOG = "output.log"  # wizard.runs.store's name for a launch's log
HEADERS = ["launch", "outcome", "steps", "final loss", "measured GiB", "estimated GiB"]


def _figure(value: float | int | None, spec: str = ".3g") -> str:
    return "-" if value is None else format(value, spec)


def runs_rows(folder: Path) -> list[list[str]]:
    """One row a launch, newest first; a launch still running has no outcome yet."""
    rows = []
    for run in find_runs(folder):
        steps = f"{_figure(run.steps)}/{_figure(run.total_steps)}"
        rows.append(
            [
                str(run.path.relative_to(folder))
                if run.path.is_relative_to(folder)
                else str(run.path),
                run.error or run.outcome or "running",
                steps,
                _figure(run.final_loss),
                _figure(run.peak_allocated_gib),
                _figure(run.estimated_allocated_gib),
            ]
        )
    return [[visible(cell) for cell in row] for row in rows]


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


def memory_text(record: RunRecord) -> str:
    measured = record.measured.peak_allocated_gib
    estimate = record.estimate
    if measured is None:
        return "No GPU memory measured (a CPU run, or it has not logged yet)."
    if estimate is None:
        return f"Measured {measured:.2f} GiB per GPU (no estimate recorded)."
    error = (estimate.allocated_gib - measured) / measured * 100 if measured else 0.0
    return (
        f"Measured {measured:.2f} GiB allocated per GPU; estimated {estimate.allocated_gib:.2f}"
        f" GiB ({error:+.0f}%), {estimate.peak_gib:.2f} GiB with overheads."
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
    return (
        head + f"<div id='loss-curve'>{loss_svg(record.measured.loss_curve)}</div>",
        visible(memory_text(record)),
        log_tail(record.summary.path),
    )
