"""Starting a training run: preflight checks, the run manifest, the child process, clusters.

`session.prepare` + `session.start` are what `launch` and `demo` call; the pure command line is
built by `wizard.launch.command`. Nothing here imports axolotl, accelerate or torch: they run in
the child, and are probed in a subprocess of the Python that will run them.
"""

from __future__ import annotations

from wizard.launch.session import Prepared, prepare, start, write_through
from wizard.launch.target import LaunchOptions

__all__ = ["LaunchOptions", "Prepared", "prepare", "start", "write_through"]
