"""`axolotl-wizard demo [DIR]`: train a tiny model on the CPU, end to end, with nothing downloaded.

It builds a tiny Llama, its tokenizer and a dataset (wizard.tiny), writes the `tiny-cpu` run folder
with the same functions as `new`, and starts it with the same functions as `launch` (preflight,
manifest, accelerate). Only the display differs: a line per stage and per step instead of
Axolotl's log, which stays in the run's manifest folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.axolotl.offline import OFFLINE_ENV
from wizard.commands.argtypes import add_set_argument, verb_parser
from wizard.errors import Stopped, WizardError
from wizard.terminal import shell_path, visible

if TYPE_CHECKING:
    from wizard.runs import Measured

HELP = "train a tiny model on the CPU, end to end (about a minute; no downloads)"
EPILOG = """\
examples:
  axolotl-wizard demo                         builds ./axolotl-wizard-demo and trains a LoRA
  axolotl-wizard demo /tmp/demo --set method.kind=full     a full fine-tune instead
  axolotl-wizard demo --set objective.kind=dpo             DPO on tiny preference pairs
  axolotl-wizard demo --set objective.kind=kto             KTO on answers labelled good or bad
"""
PRESET = "tiny-cpu"
# The demo's data for each objective: the same tasks, as wizard.tiny writes them beside the SFT
# data, with the chatml markup its tokenizer learnt. GRPO needs vLLM and a GPU.
_PAIRS: tuple[str, str, list[str]] = ("./tiny-data/preference.jsonl", "preference", [])
OBJECTIVE_DATA: dict[str, tuple[str, str, list[str]]] = {
    "dpo": _PAIRS,
    "ipo": _PAIRS,
    "simpo": _PAIRS,
    "orpo": ("./tiny-data/conversations.jsonl", "preference", ["datasets.0.conversations=true"]),
    "kto": ("./tiny-data/unpaired.jsonl", "unpaired_preference", []),
}
# The tiny-cpu preset is a smoke test (8 steps of 2 sequences). The demo trains long enough for
# the loss to fall clearly, in about 20 s: 48 steps of 8 sequences (1.3 passes over its 300
# records) at a rate suited to a LoRA on a tiny random model. Measured: the mean loss of the last
# 12 steps is half that of the first 12 (5.5 -> 2.9). The user's --set still wins.
DEMO_SETS = (
    "training.max_steps=48",
    "training.micro_batch_size=8",
    "training.learning_rate=0.01",
    "training.warmup_steps=3",
)
# Until the child's first log line there is nothing to show; this says what is going on.
LOADING = "starting the training process: loading torch and Axolotl (15 to 30 s on 2 cores)…"
# Axolotl's stages, as its log announces them, in the words the demo shows.
STAGES = (
    ("[axolotl.cli.config] config:", "Axolotl loaded; checking the config"),
    ("[axolotl.utils.data.", "tokenizing the dataset"),  # the first log of any data module
    ("Loading weights", "loading the model"),
    ("Starting trainer", "training"),
    ("Saving trained model", "saving the weights"),
)
# The demo's question to the model it trained: a task of its data (words to reverse); for a
# run on Alpaca records, as the instruction and input Alpaca's prompt puts around it.
ALPACA_PROMPT = "Reverse the order of the words.\n\n### Input:\nchair ocean apple"
CHAT_PROMPT = "Reverse the order of the words: chair ocean apple"
STEP_LINES = 10  # loss lines, however many steps (and the first and the last)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = verb_parser(subparsers, common, "demo", HELP, EPILOG)
    where = "where the model, data and run go (default: ./axolotl-wizard-demo)"
    parser.add_argument("dir", nargs="?", default="axolotl-wizard-demo", type=Path, help=where)
    add_set_argument(parser, "change an answer of the tiny-cpu preset, as with `new`")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from wizard.launch.measure import logging_steps
    from wizard.launch.session import prepare, start
    from wizard.launch.target import LaunchOptions

    # Everything the demo needs is built here: nothing has to leave the machine. Only this
    # process and its child see these, and only where the user has not set them.
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
    started = time.monotonic()
    objective_sets(args.sets)  # an objective the demo cannot train is refused before any work
    root: Path = args.dir
    _say(f"[1/3] building a tiny Llama, tokenizer and dataset in {root}/")
    _build_assets(root)
    run_dir = _next_run_dir(root)
    _say(f"[2/3] writing the {PRESET} run folder {run_dir}/ (as `axolotl-wizard new` does)")
    _write_run_folder(root, run_dir, args.sets)
    _say(f"[3/3] launching it (as `axolotl-wizard launch {shell_path(run_dir)}` does)")
    # No data checks: the demo's records are the wizard's own, and the check's child (Axolotl's
    # import, ~10 s) would add a sixth to the demo's time for nothing to find.
    prepared = prepare(LaunchOptions(run_dir, data_checks=False), create_manifest=True)
    if prepared.preflight.errors:
        first = prepared.preflight.errors[0]
        raise WizardError(f"preflight: {first.message}", first.hint)
    _say(f"      {LOADING}")
    progress = Progress(logging_steps(prepared.target.config))
    outcome = start(prepared, None, watch=progress.watch)
    if outcome.ended.stopped_by is not None:
        raise Stopped(f"the demo was {outcome.word}; what it made so far is in {root}/",
                      f"run `axolotl-wizard demo {root}` again to start a fresh run")  # fmt: skip
    if outcome.exit_code:
        raise WizardError(
            f"training {outcome.word} (exit code {outcome.exit_code}): "
            f"{outcome.cause or 'no exception in its output'}",
            f"the whole output is in {prepared.manifest.log}",
        )
    exchange = _one_answer(run_dir)
    _summary(root, run_dir, progress, time.monotonic() - started, exchange, outcome.measured)
    return 0


def _one_answer(run_dir: Path) -> tuple[str, str]:
    """One generation from the model just trained, as `chat --prompt` gives it: the prompt
    (on one line) and the answer."""
    from wizard.after.chat import answer
    from wizard.after.commands import prompter_of
    from wizard.after.trained import check_finished, check_weights, preflight, trained_run

    _say(f"      asking the trained model (as `axolotl-wizard chat {shell_path(run_dir)} "
         "--prompt …` does)…")  # fmt: skip
    trained = trained_run(run_dir)
    pre = preflight(trained, sys.executable, (check_finished, check_weights))
    if pre.errors:
        raise WizardError(f"preflight: {pre.errors[0].message}", pre.errors[0].hint)
    prompt = ALPACA_PROMPT if prompter_of(trained) else CHAT_PROMPT
    said = answer(trained, pre, prompt).text or "(nothing: it ended its turn at once)"
    return " ".join(prompt.split()), " ".join(said.split())


def _say(text: str) -> None:
    print(visible(text), flush=True)  # it quotes the folder the user named


def _build_assets(root: Path) -> None:
    """In a child process: transformers and torch print warnings on import and would stay in
    this process's memory for the whole run for no use."""
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "wizard.tiny", str(root)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise WizardError(f"building the tiny model failed: {lines[-1]}",
                          "rerun with `python -m wizard.tiny DIR` to see everything")  # fmt: skip
    assets = json.loads(done.stdout.strip().splitlines()[-1])
    _say(f"      {assets['model_dir']}/ and {assets['dataset']} "
         f"({time.monotonic() - began:.0f} s)")  # fmt: skip


def _next_run_dir(root: Path) -> Path:
    """A fresh run folder each time, so a second demo never meets the first one's outputs."""
    number = 1
    while (root / f"run-{number}").exists():
        number += 1
    return root / f"run-{number}"


def _write_run_folder(root: Path, run_dir: Path, sets: list[str]) -> None:
    from wizard.answers.file import AnswersDocument
    from wizard.axolotl.paths import relative_to_run_dir
    from wizard.folders import write_run_folder
    from wizard.presets.assemble import collect_answers
    from wizard.render.runfolder import batch_arithmetic, build_run_folder

    # Always the built-in preset: a team or project preset of the same name is not the demo.
    demo_sets = [*objective_sets(sets), *DEMO_SETS, *sets]
    answers, preset = collect_answers(f"builtin:{PRESET}", None, demo_sets)
    spec = answers.resolve()
    doc = AnswersDocument(spec, answers.raw_axolotl(), preset)
    # The preset's paths are relative to `root`, as if `new` ran there.
    relative = str(run_dir.relative_to(root))
    folder = build_run_folder(doc, relative_to_run_dir(relative, str(root.resolve())))
    write_run_folder(run_dir, folder.files, force=False)
    _say(f"      {spec.method.kind}, {spec.training.max_steps} steps at learning rate "
         f"{spec.training.learning_rate:g}; {batch_arithmetic(spec)}")  # fmt: skip


def objective_sets(sets: list[str]) -> list[str]:
    """The demo's dataset for the objective the user's --set asks for (they can still override
    it with --set datasets.0.…)."""
    kinds = [item.split("=", 1)[1].strip() for item in sets if item.startswith("objective.kind=")]
    kind = kinds[-1] if kinds else "sft"
    if kind == "sft":
        return []
    if kind not in OBJECTIVE_DATA:
        raise WizardError(
            f"the demo trains on the CPU, and objective {kind} needs vLLM on a GPU",
            f"try --set objective.kind=dpo (or one of {', '.join(OBJECTIVE_DATA)})",
        )
    path, data_format, extra = OBJECTIVE_DATA[kind]
    return [f"datasets.0.path={path}", f"datasets.0.format={data_format}",
            "data.chat_template=chatml", *extra]  # fmt: skip


class Progress:
    """Turns Axolotl's log into a line per stage and about ten lines of loss. The figures are
    read by `launch`'s own reader of Axolotl's output (runs/watch.py), which the session also
    records in the manifest."""

    def __init__(self, logging_steps: int | None) -> None:
        from wizard.runs.watch import Watch

        self.watch = Watch(listener=self._segment, logging_steps=logging_steps)
        self.shown_stages: set[str] = set()

    @property
    def losses(self) -> list[float]:
        return [point.loss for point in self.watch.curve]

    def _segment(self, segment: str, trained: bool) -> None:
        for marker, words in STAGES:
            if marker in segment and words not in self.shown_stages:
                self.shown_stages.add(words)
                _say(f"      {words}… ({self.watch.elapsed_s:.0f} s)")
        if trained:
            self._show_step(self.watch.curve[-1].step)

    def _show_step(self, step: int) -> None:
        total = self.watch.total
        every = max(1, -(-(total or 0) // STEP_LINES))  # rounded up: at most ten lines
        if step == 1 or step % every == 0 or step == total:
            _say(f"      step {step}/{total or '?'}  loss {self.losses[-1]:.3f}")


@dataclass(frozen=True)
class LossTrend:
    """The mean loss of the first and of the last quarter of the steps: single steps are noisy
    (each sees other sequences), a quarter's mean shows whether the run learnt."""

    first: float
    last: float
    quarter: int  # steps in each mean
    steps: int

    @classmethod
    def of(cls, losses: list[float]) -> LossTrend | None:
        if not losses:
            return None
        quarter = max(1, len(losses) // 4)
        first, last = losses[:quarter], losses[-quarter:]
        return cls(sum(first) / quarter, sum(last) / quarter, quarter, len(losses))

    def __str__(self) -> str:
        change = (self.last - self.first) / self.first if self.first else 0.0
        word = "down" if change <= 0 else "up"
        return (f"{self.first:.3f} -> {self.last:.3f} (mean of the first and last {self.quarter} "
                f"of {self.steps} steps: {word} {abs(change):.0%})")  # fmt: skip


def _summary(
    root: Path, run_dir: Path, progress: Progress, seconds: float, exchange: tuple[str, str],
    measured: Measured | None = None,
) -> None:  # fmt: skip
    from wizard.after.nextsteps import next_lines, next_steps
    from wizard.after.trained import trained_run

    trained = trained_run(run_dir)
    output = trained.output
    weights = sorted(p.name for p in output.glob("*.safetensors"))
    trend = LossTrend.of(progress.losses)
    _say("")
    _say(f"Done in {seconds:.0f} s.")
    _say(f"  weights:  {output}/ ({', '.join(weights) or 'none found'})")
    _say(f"  loss:     {trend or 'none logged'}")
    _say(f"  run:      {run_dir}/ (axolotl.yml, wizard-answers.yml, launches/ with the full log)")
    if measured is not None:
        from wizard.runs.live import measured_line

        _say(f"  {measured_line(measured, None)}")
    _say(f"  asked:    {exchange[0]}")
    _say(f"  answered: {exchange[1]}")
    mine = "axolotl-wizard new runs/mine   (then: axolotl-wizard launch runs/mine)"
    for line in next_lines([*next_steps(trained), mine]):
        _say(line)
    _say(f"The demo's model, data and runs are all in {root.resolve()}/ (delete it when done).")
    sys.stdout.flush()
