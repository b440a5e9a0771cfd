"""Reading a training's figures from its output as it passes: Axolotl 0.19's log lines.

What the child prints, and what is taken from it:
- tqdm's bar, `  4%|▍         | 2/48 [00:01<00:39,  1.17it/s]`: the step, the total, tqdm's ETA;
- the Hugging Face Trainer's log dict, once per `logging_steps`, printed after the bar on the same
  line, values as strings: `{'loss': '7.548', 'grad_norm': '4.261', 'learning_rate':
  '0.003333', 'ppl': '1896', 'memory/max_active (GiB)': '0', 'memory/max_allocated (GiB)': '0',
  'memory/device_reserved (GiB)': '0', 'tokens/train_per_sec_per_gpu': '73.66', …, 'epoch':
  '0.05263'}`. The memory keys are Axolotl's (core/trainers/base.py `log`): torch's peaks since
  the previous log (it resets them each time), on the main process only, 0 on a CPU;
- the run's summary dict at the end, `{'train_runtime': '35.33', …, 'train_loss': '3.819'}`.

Nothing here trusts the text: a dict is read with `ast.literal_eval` (data only) from lines
under MAX_DICT_CHARS, and a line longer than MAX_LINE_CHARS is cut into pieces.
"""

from __future__ import annotations

import ast
import math
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from wizard.runs.record import LossPoint, Measured

MAX_LINE_CHARS = 64 * 1024
MAX_DICT_CHARS = 8 * 1024
MAX_POINTS_KEPT = 100_000  # a curve longer than this keeps every other point (memory stays flat)
SMOOTHING = 0.9  # the loss shown: an exponential mean, weight of the past (TensorBoard's 0.9)
MEMORY_KEYS = {
    "memory/max_allocated (GiB)": "allocated",
    "memory/max_active (GiB)": "active",
    "memory/device_reserved (GiB)": "reserved",
}
TOKENS_KEY = "tokens/train_per_sec_per_gpu"
# The training bar has no description (the data's bars say "Tokenizing…", "Loading weights");
# the first such bar's total is the training's, and an eval bar (another total) is left aside.
_BAR = re.compile(r"^\s*\d+%\|[^|\n]*\| *(\d+)/(\d+) \[([\d:]+)<([\d:?]+)")
_SEGMENT = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")

# Called with each piece of output up to a line end (its end kept), and whether it carried a
# training log (the figures changed).
Listener = Callable[[str, bool], None]


@dataclass
class Peaks:
    """Per GPU, in GiB: the highest of each of Axolotl's memory figures seen (None: none > 0)."""

    allocated: float | None = None
    active: float | None = None
    reserved: float | None = None

    def see(self, which: str, gib: float) -> None:
        if gib > 0 and gib > (getattr(self, which) or 0.0):
            setattr(self, which, gib)


@dataclass
class Watch:
    """The figures of one training, updated line by line from its output."""

    listener: Listener | None = None
    logging_steps: int | None = None  # the config's; None: Axolotl's default (`interval`)
    started: float = field(default_factory=time.monotonic)
    step: int | None = None
    total: int | None = None
    eta_s: float | None = None  # tqdm's estimate of the time left
    curve: list[LossPoint] = field(default_factory=list)
    smoothed: float | None = None
    learning_rate: float | None = None
    rates: list[float] = field(default_factory=list)  # tokens/s per GPU, each log
    peaks: Peaks = field(default_factory=Peaks)
    train_loss: float | None = None  # the Trainer's mean over the run, from its summary
    logs: int = 0
    _pending: str = ""

    def feed(self, text: str) -> None:
        """More of the child's output: each complete line is read (a partial one waits)."""
        text = self._pending + text
        cut = max(text.rfind("\n"), text.rfind("\r")) + 1  # the regex never meets an endless line
        for match in _SEGMENT.finditer(text, 0, cut):
            self._segment(match.group(0))
        self._pending = text[cut:]
        while len(self._pending) > MAX_LINE_CHARS:
            piece, self._pending = self._pending[:MAX_LINE_CHARS], self._pending[MAX_LINE_CHARS:]
            self._segment(piece)

    def finish(self) -> None:
        """The output ended: read what is left of its last line."""
        if self._pending:
            self._segment(self._pending)
            self._pending = ""

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def measured(self, gpu_name: str | None, gpu_count: int | None) -> Measured:
        losses = [p.loss for p in self.curve]
        last_logged = self.curve[-1].step if self.curve else None
        steps = self.step if self.step is not None else last_logged
        return Measured(
            steps=steps,
            total_steps=self.total,
            final_loss=losses[-1] if losses else None,
            best_loss=min(losses) if losses else None,
            learning_rate=self.learning_rate,
            tokens_per_second=statistics.median(self.rates) if self.rates else None,
            wall_seconds=round(self.elapsed_s, 1),
            peak_allocated_gib=self.peaks.allocated,
            peak_active_gib=self.peaks.active,
            peak_reserved_gib=self.peaks.reserved,
            gpu_name=gpu_name,
            gpu_count=gpu_count,
            loss_curve=tuple(self.curve),
        )

    def _segment(self, segment: str) -> None:
        bar = _BAR.match(segment)
        if bar and self.total in (None, int(bar.group(2))):
            self.total = int(bar.group(2))
            self.step = max(self.step or 0, int(bar.group(1)))
            self.eta_s = clock_seconds(bar.group(4))
        logged = read_log_dict(segment)
        trained = logged is not None and self._take(logged)
        if self.listener is not None:
            self.listener(segment, trained)

    def _take(self, logged: dict[str, float]) -> bool:
        """A training log (True) or the run's summary; an eval log is left aside."""
        for key, which in MEMORY_KEYS.items():
            if key in logged:
                self.peaks.see(which, logged[key])
        if "train_loss" in logged:
            self.train_loss = logged["train_loss"]
            return False
        if "loss" not in logged:
            return False
        self.logs += 1
        self._add_loss(self._logged_step(), logged["loss"])
        self.learning_rate = logged.get("learning_rate", self.learning_rate)
        if TOKENS_KEY in logged and len(self.rates) < MAX_POINTS_KEPT:
            self.rates.append(logged[TOKENS_KEY])
        return True

    @property
    def interval(self) -> int:
        """Steps between two training logs: the config's `logging_steps`, else what Axolotl 0.19
        picks (core/builders/base.py: 0.5% of the steps, between 1 and 10)."""
        if self.logging_steps:
            return self.logging_steps
        return max(min(int(0.005 * self.total), 10), 1) if self.total else 1

    def _logged_step(self) -> int:
        """The step a training log belongs to. The Trainer logs at multiples of the interval;
        tqdm redraws its bar at most every 0.1 s, so the bar may show an earlier step than the
        log's, never a later one: the next multiple after the previous log's, or after the
        bar's step when that is further (a resumed run starts at its checkpoint's step)."""
        interval = self.interval
        after_last = (self.curve[-1].step if self.curve else 0) + interval
        bar = -(-(self.step or 0) // interval) * interval  # rounded up to a multiple
        step = max(after_last, bar)
        self.step = max(self.step or 0, step)
        return step

    def _add_loss(self, step: int, loss: float) -> None:
        self.curve.append(LossPoint(step, loss))
        if len(self.curve) > MAX_POINTS_KEPT:
            self.curve = self.curve[::2]
        past = self.smoothed if self.smoothed is not None else loss
        self.smoothed = SMOOTHING * past + (1 - SMOOTHING) * loss


def read_log_dict(line: str) -> dict[str, float] | None:
    """The Trainer's log dict at the end of a line: its numeric values (strings like '7.548'
    read as numbers); None when the line has none."""
    start = line.find("{'")
    stop = line.rfind("}")
    if start < 0 or stop < start or stop - start > MAX_DICT_CHARS:
        return None
    try:
        raw = ast.literal_eval(line[start : stop + 1])
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(raw, dict):
        return None
    found = {}
    for key, value in raw.items():
        figure = as_number(value)
        if isinstance(key, str) and figure is not None:
            found[key] = figure
    return found


def as_number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)) or len(str(value)) > 40:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def clock_seconds(text: str) -> float | None:
    """tqdm's `01:15` or `1:02:03` in seconds; None for `?`."""
    try:
        parts = [int(part) for part in text.split(":")]
    except ValueError:
        return None
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + part
    return float(seconds)
