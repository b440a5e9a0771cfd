"""`axolotl-wizard ui [DIR]`: the wizard as a local web page (Gradio, an optional extra)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from wizard.commands.argtypes import verb_parser, whole_number
from wizard.errors import WizardError

HELP = "the interview, memory chart, presets and runs on a local web page"
EPILOG = """\
examples:
  axolotl-wizard ui runs                       a page on 127.0.0.1 and a free port, opened
  axolotl-wizard ui runs --no-browser --port 7860
  axolotl-wizard ui runs --host 0.0.0.0        reachable from elsewhere: a token in the URL

The page writes only under DIR (run folders, the presets you save in DIR/.axolotl-wizard/presets)
and starts a training only when you press Launch and confirm. Paths you type are relative to
DIR. Needs Gradio: pip install 'axolotl-wizard[ui]'. docs/ui.md shows each tab.
"""
INSTALL_HINT = "pip install 'axolotl-wizard[ui]' (Gradio 6; it comes with Axolotl 0.19.0)"
LAUNCH_LOG = "ui-launch.log"


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = verb_parser(subparsers, common, "ui", HELP, EPILOG)
    parser.add_argument(
        "dir",
        nargs="?",
        default=".",
        type=Path,
        help="the folder the page works in (default: here)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    parser.add_argument(
        "--port",
        type=whole_number(0, 65535, "a port"),
        default=0,
        help="port to listen on (default: a free one)",
    )
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("gradio") is None:
        raise WizardError("the page needs Gradio, which is not installed", INSTALL_HINT)
    folder: Path = args.dir
    if not folder.is_dir():
        raise WizardError(f"{folder} is not a folder", "create it, or give the folder to work in")
    os.chdir(folder)  # paths typed on the page, and everything it writes, are under DIR
    # Gradio reports usage to its makers unless told not to: a local page tells no one.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from wizard.ui.app import Actions, Page
    from wizard.ui.server import MainThread, bind, serve

    sock, address = bind(args.host, args.port)
    main = MainThread()
    page = Page(Actions(write=lambda *given: main.call(_write, *given), launch=_launch))
    serve(page.build(), sock, address, main, open_browser=not args.no_browser)
    return 0


def _write(answers: Any, preset: Any, run_dir: Path, force: bool) -> Any:
    from wizard.commands.new import write_answers

    return write_answers(answers, preset, run_dir, force, trust_remote_code=False)


def _launch(run_dir: Path) -> str:
    """The `launch` verb itself, in its own process: its preflight, manifest and log."""
    log = run_dir / LAUNCH_LOG
    with log.open("ab") as sink:
        child = subprocess.Popen(
            # The folder as an absolute path: a name such as `-rf` is never read as an option.
            [sys.executable, "-m", "wizard", "launch", str(run_dir.resolve())],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return f"Started `axolotl-wizard launch {run_dir}` (process {child.pid}); its output: {log}"
