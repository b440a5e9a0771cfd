"""The `Next:` lines after a run trained: the follow-ups that apply to it."""

from __future__ import annotations

from wizard.after.trained import Trained
from wizard.terminal import shell_path


def next_steps(trained: Trained) -> list[str]:
    """merge for an adapter, chat always, evaluate with an eval split, export always, and
    `runs` for what the launch measured."""
    run = shell_path(trained.run_dir)
    steps = []
    if trained.adapter is not None:
        steps.append(f"axolotl-wizard merge {run}      the adapter merged into its base model")
    steps.append(f"axolotl-wizard chat {run}       talk to the trained model")
    if trained.has_eval_split:
        steps.append(f"axolotl-wizard evaluate {run}   the eval loss on its eval split")
    steps.append(f"axolotl-wizard export {run} --format safetensors|gguf [--push-to-hub REPO]")
    steps.append(f"axolotl-wizard runs {run}       the loss curve and the measured figures")
    return steps


def next_lines(steps: list[str]) -> list[str]:
    """`Next: first`, then the others aligned under it."""
    return [f"{'Next:' if number == 0 else '     '} {step}" for number, step in enumerate(steps)]
