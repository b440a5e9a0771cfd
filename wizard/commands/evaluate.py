"""`axolotl-wizard evaluate RUN_DIR`: the trained model's loss on the run's eval split, through
Axolotl's evaluate; and Axolotl's lm-eval integration where the config names `lm_eval_tasks`."""

from __future__ import annotations

import argparse
from typing import Any

from wizard.commands.after_common import add_run_arguments, checked_run, say
from wizard.commands.argtypes import verb_parser

HELP = "the trained model's eval loss (Axolotl's evaluate), and lm-eval tasks"
EPILOG = """\
examples:
  axolotl-wizard evaluate runs/llama8b         eval loss on the run's eval split

The run needs an eval split (val_set_size or test_datasets). Axolotl's summary
(eval_summary.csv) and log go to the manifest folder this evaluation leaves in RUN_DIR/launches/.
Where the config names lm_eval_tasks, Axolotl's lm-eval integration runs them afterwards (it
needs the lm-eval package).
"""


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = verb_parser(subparsers, common, "evaluate", HELP, EPILOG)
    add_run_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from wizard.after.evaluate import (
        check_eval_split,
        check_lm_eval,
        evaluate,
        has_lm_eval,
        lm_eval_tasks,
        run_lm_eval,
    )
    from wizard.after.trained import check_finished, check_weights
    from wizard.launch.session import write_through

    checks = (check_finished, check_weights, check_eval_split, check_lm_eval)
    trained, pre = checked_run(args, "evaluate", checks)
    say(f"evaluating the model of {trained.run_dir} on its eval split (Axolotl's evaluate)…")
    losses = evaluate(trained, pre)
    if losses.eval_loss is None:
        say(f"no eval loss in Axolotl's summary: see {losses.ran.manifest.path}")
        return 1
    extra = f", perplexity {losses.perplexity:.2f}" if losses.perplexity is not None else ""
    train = f"; train loss {losses.train_loss:.4f}" if losses.train_loss is not None else ""
    say(f"eval loss {losses.eval_loss:.4f}{extra}{train}  (record: {losses.ran.manifest.path})")
    if lm_eval_tasks(trained) and has_lm_eval(pre.python):  # else preflight said so
        say(f"lm-eval: {', '.join(lm_eval_tasks(trained))} (Axolotl's lm-eval integration)…")
        run_lm_eval(trained, pre, write_through)
    return 0
