"""The measured figures of launches: read from and written to their manifest folders
(`RUN_DIR/launches/<stamp>-node<rank>/manifest.json` + `output.log`), and the runs under a folder.

Read API (typed, bounded; a hostile manifest is a one-line error or listed as unreadable):
`find_runs(folder) -> list[RunSummary]`, `load_run(path) -> RunRecord`.

The names below are loaded when first used (PEP 562): `estimate`, a quick verb, reads the
calibration file through `wizard.runs.calibration` and should not pay for the records' classes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.runs.record import EstimateFigure, LossPoint, Measured, RunRecord, RunSummary
    from wizard.runs.store import find_runs, load_run, record_measured

_HOMES = {
    "EstimateFigure": "record", "LossPoint": "record", "Measured": "record",
    "RunRecord": "record", "RunSummary": "record",
    "find_runs": "store", "load_run": "store", "record_measured": "store",
}  # fmt: skip
__all__ = ["EstimateFigure", "LossPoint", "Measured", "RunRecord", "RunSummary", "find_runs",
           "load_run", "record_measured"]  # fmt: skip


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"wizard.runs.{_HOMES[name]}"), name)
