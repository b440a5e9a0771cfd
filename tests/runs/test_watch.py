"""Reading Axolotl 0.19's output as it passes: the real line formats (a CPU run's log, copied
from a launch of the tiny model; GPU memory as Axolotl's trainer logs it), fed in pieces."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from wizard.runs.live import PLAIN_PREFIX, LiveDisplay, status_line
from wizard.runs.record import EstimateFigure, LossPoint
from wizard.runs.watch import MAX_LINE_CHARS, Watch, read_log_dict

CPU_LOG = Path(__file__).parent.parent / "data" / "runs" / "axolotl-0.19-cpu-train.log"


def cpu_log() -> str:
    with CPU_LOG.open(encoding="utf-8", newline="") as handle:  # tqdm's \r kept
        return handle.read()


def gpu_log_line(step: int, allocated: str, active: str, reserved: str) -> str:
    """A training log as Axolotl 0.19 prints it on CUDA: core/trainers/base.py `log` adds
    `memory/max_active (GiB)`, `memory/max_allocated (GiB)`, `memory/device_reserved (GiB)`
    (round(x, 2)); the Trainer's progress callback prints every value as text."""
    bar = f"\r  {step}%|▏         | {step}/100 [00:{step:02d}<01:40,  1.00it/s]"
    log = (
        f"{{'loss': '{2.0 - step / 100:.4g}', 'grad_norm': '0.8', 'learning_rate': '2e-05', "
        f"'ppl': '7.1', 'memory/max_active (GiB)': '{active}', "
        f"'memory/max_allocated (GiB)': '{allocated}', 'memory/device_reserved (GiB)': "
        f"'{reserved}', 'tokens/train_per_sec_per_gpu': '4512', 'tokens/trainable': 1000, "
        f"'tokens/total': 2048, 'epoch': '0.{step:02d}'}}"
    )
    return f"{bar}\r{' ' * 46}\r{log}\n"


@pytest.mark.parametrize("piece", [1, 7, 100_000])
def test_a_cpu_run_read_in_pieces_of_any_size(piece: int) -> None:
    text = cpu_log()
    watch = Watch()
    for start in range(0, len(text), piece):
        watch.feed(text[start : start + piece])
    watch.finish()
    measured = watch.measured(None, 0)
    # tqdm redraws lazily (the bar may still show 1/48 when step 2 logs): the steps come from
    # the logs' interval, which Axolotl picks as 1 for 48 steps.
    assert [p.step for p in measured.loss_curve] == [1, 2, 3, 4, 5, 6]
    assert measured.loss_curve[0] == LossPoint(1, 6.944)
    assert measured.final_loss == 5.329 and measured.best_loss == 5.329
    assert measured.steps == 48 and measured.total_steps == 48
    assert measured.learning_rate == 0.009951
    assert measured.tokens_per_second is not None and measured.tokens_per_second > 0
    assert measured.peak_allocated_gib is None  # a CPU logs 0: not measured
    assert watch.train_loss == 3.857  # the summary line is not a step


def test_gpu_memory_is_the_highest_logged_over_the_run() -> None:
    watch = Watch()
    watch.feed(gpu_log_line(10, "11.5", "11.62", "13.1"))
    watch.feed(gpu_log_line(20, "12.25", "12.3", "14.0"))  # Axolotl resets the peak each log
    watch.feed(gpu_log_line(30, "11.9", "12.0", "14.0"))
    measured = watch.measured("H100 80GB HBM3", 8)
    assert measured.peak_allocated_gib == 12.25
    assert measured.peak_active_gib == 12.3
    assert measured.peak_reserved_gib == 14.0
    assert measured.learning_rate == 2e-05 and measured.tokens_per_second == 4512
    assert (measured.gpu_name, measured.gpu_count) == ("H100 80GB HBM3", 8)


def test_a_configured_logging_interval_places_the_logs() -> None:
    watch = Watch(logging_steps=5)
    for _ in range(3):  # the bar lags: it shows step 1 at each log
        watch.feed("\r  1%|▏         | 1/100 [00:01<01:40,  1.00it/s]\r{'loss': '2.0'}\n")
    assert [p.step for p in watch.curve] == [5, 10, 15]


@pytest.mark.parametrize(
    "line",
    [
        "{'loss': __import__('os').system('echo pwned')}\n",  # code is not data
        "{'loss': '1.0', " + "'x': [" * 500 + "]" * 500 + "}\n",  # nested deep
        "{'loss': '" + "9" * 5000 + "'}\n",  # a number no loss is
        "{'loss': 'nan'}\n",
        "{'loss': True}\n",
        "{'loss': '1.0'" + " " * 10_000 + "}\n",  # longer than a log dict is
    ],
)
def test_hostile_lines_are_not_losses(line: str) -> None:
    watch = Watch()
    watch.feed(line)
    assert watch.curve == []


def test_a_line_without_end_is_read_in_bounded_pieces() -> None:
    seen: list[str] = []
    watch = Watch(listener=lambda segment, _trained: seen.append(segment))
    watch.feed("x" * (3 * MAX_LINE_CHARS + 5))
    assert all(len(piece) <= MAX_LINE_CHARS for piece in seen) and len(seen) == 3
    watch.finish()
    assert "".join(seen) == "x" * (3 * MAX_LINE_CHARS + 5)


def test_read_log_dict_reads_text_values_as_numbers() -> None:
    assert read_log_dict("junk {'loss': '6.944', 'tokens/trainable': 26, 'x': 'y'}") == {
        "loss": 6.944,
        "tokens/trainable": 26.0,
    }
    assert read_log_dict("[INFO] no dict here") is None


def test_plain_lines_follow_each_training_log_and_the_child_output_is_unchanged() -> None:
    out = io.StringIO()
    display = LiveDisplay(out, tty=False, estimate=EstimateFigure(0.015, 0.9))
    display.watch.feed(cpu_log())
    display.close()
    shown = out.getvalue()
    plain = [line for line in shown.split("\n") if line.startswith(PLAIN_PREFIX)]
    child = shown
    for line in plain:
        child = child.replace(line + "\n", "", 1)
    assert child == cpu_log()
    assert len(plain) == 6
    fields = dict(pair.split("=", 1) for pair in plain[1].split()[1:])
    assert fields["step"] == "2/48" and fields["loss"] == "7.548"
    assert fields["lr"] == "0.003333" and fields["peak_gib"] == "-"
    assert fields["estimate_gib"] == "0.015"


def test_in_a_terminal_one_live_line_replaces_tqdm_redraws(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    out = io.StringIO()
    display = LiveDisplay(out, tty=True, estimate=None)
    display.watch.feed(gpu_log_line(10, "11.5", "11.62", "13.1"))
    display.watch.feed("[INFO] [axolotl.train] a log line\n")
    display.close()
    shown = out.getvalue()
    assert "10/100 [00:10" not in shown  # the bar's redraw is not passed on
    assert "[INFO] [axolotl.train] a log line\n" in shown
    last = shown.rsplit("\r\x1b[K", 1)[-1]
    assert last == status_line(display.watch, None) + "\n"
    assert "step 10/100" in last and "GPU memory 11.5 GiB" in last and "ETA 1:40" in last
