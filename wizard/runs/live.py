"""The live line of a launch: step/total, smoothed loss, learning rate, tokens/s, elapsed, ETA and
peak GPU memory against the estimate.

In a terminal it is one line at the bottom, redrawn with `\\r`: the child's own lines still pass
through above it, and only tqdm's redraws (which the line replaces) are left out. Elsewhere (a
pipe, a scheduler's log file) the child's output passes through unchanged and a plain line
`axolotl-wizard: step=5/48 loss=5.851 …` follows each training log, one `key=value` per figure.
Either way the child's output reaches the manifest's output.log unchanged: that is written
before this sees it.
"""

from __future__ import annotations

import shutil
from typing import TextIO

from wizard.runs.record import EstimateFigure, Measured
from wizard.runs.watch import Watch

PLAIN_PREFIX = "axolotl-wizard:"
_CLEAR = "\r\x1b[K"  # to the line's start, erase it: the live line makes way for the child's


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def figure(value: float | None, spec: str = ".4g") -> str:
    return "-" if value is None else format(value, spec)


def memory_text(watch: Watch, estimate: EstimateFigure | None) -> str:
    peak = watch.peaks.allocated
    measured = f"{peak:.1f} GiB" if peak is not None else "not measured"
    if estimate is None:
        return f"GPU memory {measured}"
    return f"GPU memory {measured} (estimate {estimate.allocated_gib:.1f} GiB)"


def status_line(watch: Watch, estimate: EstimateFigure | None) -> str:
    """The terminal's live line."""
    rate = watch.rates[-1] if watch.rates else None
    return " · ".join(
        [
            f"step {watch.step if watch.step is not None else '?'}/{watch.total or '?'}",
            f"loss {figure(watch.smoothed, '.3f')}",
            f"lr {figure(watch.learning_rate, '.3g')}",
            f"{figure(rate, '.0f')} tok/s/GPU",
            f"{clock(watch.elapsed_s)} elapsed",
            f"ETA {clock(watch.eta_s)}",
            memory_text(watch, estimate),
        ]
    )


def plain_line(watch: Watch, estimate: EstimateFigure | None) -> str:
    """The same figures for a log file or a script: `key=value`, `-` when not known."""
    last = watch.curve[-1] if watch.curve else None
    fields = {
        "step": f"{watch.step if watch.step is not None else '-'}/{watch.total or '-'}",
        "loss": figure(last.loss if last else None),
        "smoothed_loss": figure(watch.smoothed, ".4f"),
        "lr": figure(watch.learning_rate),
        "tokens_per_s_per_gpu": figure(watch.rates[-1] if watch.rates else None),
        "elapsed_s": f"{watch.elapsed_s:.0f}",
        "eta_s": figure(watch.eta_s, ".0f"),
        "peak_gib": figure(watch.peaks.allocated),
        "estimate_gib": figure(estimate.allocated_gib if estimate else None),
    }
    return " ".join([PLAIN_PREFIX, *(f"{key}={value}" for key, value in fields.items())])


class LiveDisplay:
    """Shows the child's output and the live figures on `out`: a `Watch` listener."""

    def __init__(self, out: TextIO, tty: bool, estimate: EstimateFigure | None,
                 logging_steps: int | None = None) -> None:  # fmt: skip
        self.out = out
        self.tty = tty
        self.estimate = estimate
        self.watch = Watch(listener=self.on_segment, logging_steps=logging_steps)
        self._owed = False  # a plain line is due at the next line end
        self._drawn = False

    def on_segment(self, segment: str, trained: bool) -> None:
        self._owed = self._owed or trained
        if self.tty:
            self._terminal(segment)
        else:
            self.out.write(segment)
            if self._owed and segment.endswith("\n"):
                self.out.write(plain_line(self.watch, self.estimate) + "\n")
                self._owed = False
        self.out.flush()

    def close(self) -> None:
        """The child has ended: what is left of its output, and the live line stays put."""
        self.watch.finish()
        if self.tty and self._drawn:
            self.out.write("\n")
        elif self._owed:
            self.out.write("\n" + plain_line(self.watch, self.estimate) + "\n")
        self.out.flush()

    def _terminal(self, segment: str) -> None:
        if segment.endswith("\r") and not segment.endswith("\r\n"):
            pass  # tqdm redrawing its bar: the live line says the same
        else:
            self.out.write(_CLEAR + segment)
        if self.watch.step is not None or self.watch.curve:
            width = shutil.get_terminal_size().columns
            self.out.write(_CLEAR + status_line(self.watch, self.estimate)[: max(width - 1, 20)])
            self._drawn = True


def measured_line(measured: Measured, estimate: EstimateFigure | None) -> str:
    """What the launch measured, in one line, once it has ended."""
    steps = f"{measured.steps if measured.steps is not None else '?'}/{measured.total_steps or '?'}"
    loss = "no loss logged"
    if measured.final_loss is not None:
        loss = f"final loss {measured.final_loss:.4g} (best {measured.best_loss:.4g})"
    rate = measured.tokens_per_second
    tokens = f"{rate:.0f} tokens/s per GPU" if rate is not None else "tokens/s not logged"
    peak = measured.peak_allocated_gib
    memory = f"peak GPU memory {peak:.2f} GiB" if peak is not None else "GPU memory not measured"
    if estimate is not None:
        memory += f" (estimate {estimate.allocated_gib:.2f} GiB)"
    return (f"measured: {steps} steps, {loss}, {tokens}, {clock(measured.wall_seconds)}, "
            f"{memory}")  # fmt: skip
