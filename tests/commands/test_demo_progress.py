"""The demo's display of Axolotl's log (pure: fed text, no training): a line per stage, about ten
lines of loss however many steps, and the figure that says whether the run learnt."""

from __future__ import annotations

import pytest

from wizard.commands.demo import LossTrend, Progress


def _log(steps: int, losses: list[float]) -> str:
    lines = [
        "[2026-01-01 00:00:00,000] [INFO] [axolotl.cli.config] config:",
        "[2026-01-01 00:00:01,000] [INFO] [axolotl.utils.data.sft] Loading raw datasets...",
        "Loading weights:   0%|          | 0/21 [00:00<?, ?it/s]",
        "[2026-01-01 00:00:02,000] [INFO] [axolotl.train] Starting trainer...",
    ]
    for step, loss in enumerate(losses, 1):  # tqdm's bar, then the Trainer's log on its line
        bar = f"{step * 100 // steps:3d}%|#         | {step}/{steps} [00:01<00:01,  1.00it/s]"
        lines.append(f"{bar}{{'loss': '{loss}', 'grad_norm': '1'}}")
    lines.append("{'train_runtime': '1.5', 'train_loss': '4.2'}")
    return "\r".join(lines) + "\n"


def test_a_line_per_stage_and_about_ten_lines_of_loss(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(logging_steps=None)
    text = _log(48, [6.0 - step / 10 for step in range(48)])
    for start in range(0, len(text), 7):  # the child's output comes in arbitrary pieces
        progress.watch.feed(text[start : start + 7])
    progress.watch.finish()
    out = capsys.readouterr().out
    stages = [
        "Axolotl loaded; checking the config",
        "tokenizing the dataset",
        "loading the model",
        "training",
    ]
    assert [line for line in out.splitlines() if "step" not in line] == [
        f"      {stage}… (0 s)" for stage in stages
    ]
    steps = [line.split()[1] for line in out.splitlines() if "step" in line]
    assert steps == ["1/48", *[f"{n}/48" for n in range(5, 48, 5)], "48/48"]
    assert len(progress.losses) == 48 and progress.watch.train_loss == 4.2


def test_the_loss_figure_is_the_mean_of_the_first_and_last_quarter() -> None:
    trend = LossTrend.of([6.0, 5.0, 4.0, 4.0, 3.0, 3.0, 2.0, 1.0])
    assert trend == LossTrend(5.5, 1.5, 2, 8)
    assert str(trend) == "5.500 -> 1.500 (mean of the first and last 2 of 8 steps: down 73%)"
    assert str(LossTrend.of([6.0, 6.5])) == (
        "6.000 -> 6.500 (mean of the first and last 1 of 2 steps: up 8%)"
    )
    assert LossTrend.of([]) is None
