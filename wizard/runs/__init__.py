"""The measured figures of launches: read from and written to their manifest folders
(`RUN_DIR/launches/<stamp>-node<rank>/manifest.json` + `output.log`), and the runs under a folder.

Read API (typed, bounded; a hostile manifest is a one-line error or listed as unreadable):
`find_runs(folder) -> list[RunSummary]`, `load_run(path) -> RunRecord`.
"""

from wizard.runs.record import EstimateFigure, LossPoint, Measured, RunRecord, RunSummary
from wizard.runs.store import find_runs, load_run, record_measured

__all__ = ["EstimateFigure", "LossPoint", "Measured", "RunRecord", "RunSummary", "find_runs",
           "load_run", "record_measured"]  # fmt: skip
