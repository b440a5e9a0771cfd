"""Nothing lost, nothing mixed: concurrent writers, answers files cut short, loose types, and the
file system failing under us (a file in the way, a read-only place, a full disk)."""

from __future__ import annotations

import fcntl
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from helpers import HOSTILE_TIMEOUT, new_tiny, one_line_error, project, wizard

__all__ = ["project"]


def new_process(cwd: Path, name: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "wizard", "new", name, "--preset", "tiny-cpu", *args, "--yes"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_writers_of_a_run_folder_take_turns(project: Path) -> None:
    """A run folder is swapped in under a lock on its parent folder: a writer that finds the
    lock held waits (neither refused nor writing), and writes once it is free."""
    fd = os.open(project, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another writer is swapping a folder in
        process = new_process(project, "run")
        time.sleep(3)
        assert process.poll() is None and not (project / "run").exists()
    finally:
        os.close(fd)
    assert process.wait(HOSTILE_TIMEOUT) == 0, process.communicate()
    assert (project / "run" / "axolotl.yml").is_file()


def test_two_writers_never_both_win_nor_mix_their_files(project: Path) -> None:
    for round_ in range(4):
        name = f"race-{round_}"
        a = new_process(project, name, "--set", "training.seed=1")
        b = new_process(project, name, "--set", "training.seed=2")
        codes = [a.wait(HOSTILE_TIMEOUT), b.wait(HOSTILE_TIMEOUT)]
        assert sorted(codes) == [0, 1], codes
        seeds = _seeds(project / name)
        assert len(set(seeds)) == 1, seeds
    # With --force both may write, one after the other: never a mixed folder.
    a = new_process(project, "race-0", "--set", "training.seed=3", "--force")
    b = new_process(project, "race-0", "--set", "training.seed=4", "--force")
    for process in (a, b):
        process.wait(HOSTILE_TIMEOUT)
    assert len(set(_seeds(project / "race-0"))) == 1


def _seeds(folder: Path) -> list[int]:
    config = yaml.safe_load((folder / "axolotl.yml").read_text())
    answers = yaml.safe_load((folder / "wizard-answers.yml").read_text())
    return [config["seed"], answers["answers"]["training"]["seed"]]


def test_an_answers_file_cut_short_is_refused_at_every_line(project: Path) -> None:
    assert new_tiny(project).returncode == 0
    whole = (project / "run" / "wizard-answers.yml").read_text()
    lines = whole.splitlines(keepends=True)
    cuts = project / "cuts"
    cuts.mkdir()
    from wizard.answers.file import load_answers_file
    from wizard.errors import WizardError

    refused = 0
    for keep in range(1, len(lines)):
        cut = cuts / f"cut-{keep}.yml"
        cut.write_text("".join(lines[:keep]))
        try:
            load_answers_file(cut)
        except WizardError as err:
            refused += 1
            assert "incomplete" in err.message or "format_version" in err.message, err.message
    assert refused == len(lines) - 1
    # The message names what is missing, and the whole file still loads.
    (cuts / "mid.yml").write_text("".join(lines[: whole[: whole.index("  training:")].count("\n")]))
    one_line_error(
        wizard(project, "new", "again", "--answers", "cuts/mid.yml", "--yes"),
        "is incomplete",
        "answers.training, answers.distributed",
    )
    assert (
        wizard(project, "new", "again", "--answers", "run/wizard-answers.yml", "--yes").returncode
        == 0
    )


def test_answers_of_the_wrong_type_are_refused_not_converted(project: Path) -> None:
    one_line_error(
        new_tiny(project, "a", "--set", "training.micro_batch_size=true"),
        "training.micro_batch_size",
        "valid integer",
    )
    one_line_error(
        new_tiny(project, "b", "--set", "model.trust_remote_code=1"),
        "model.trust_remote_code",
        "valid boolean",
    )
    one_line_error(new_tiny(project, "c", "--set", "training.learning_rate=yes"), "learning_rate")
    assert new_tiny(project, "d", "--set", "training.learning_rate=2e-4").returncode == 0
    assert new_tiny(project).returncode == 0
    answers = project / "run" / "wizard-answers.yml"
    answers.write_text(answers.read_text().replace("seed: 42", "seed: true"))
    one_line_error(wizard(project, "new", "e", "--answers", str(answers), "--yes"), "seed")


def test_a_file_or_folder_in_the_way_is_named(project: Path) -> None:
    (project / "afile").write_text("x")
    one_line_error(new_tiny(project, "afile"), "afile", "a file of that name is in the way")
    one_line_error(new_tiny(project, "afile/run"), "part of the path is a file")
    (project / "r" / "axolotl.yml").mkdir(parents=True)
    one_line_error(new_tiny(project, "r", "--force"), "is a folder, where a file is to be written")
    assert new_tiny(project, "ok").returncode == 0
    one_line_error(
        wizard(project, "presets", "save", "p", "--from", "ok", "--to", "afile"),
        "--to",
        "is a file, not a folder",
    )
    (project / "ok" / "launches").write_text("not a folder")
    one_line_error(wizard(project, "launch", "ok"), "launches", "a file of that name")
    assert (project / "afile").read_text() == "x"


def test_a_place_that_cannot_be_written_is_named(project: Path) -> None:
    # sysfs refuses new folders even to root: a real "not permitted" from the kernel.
    one_line_error(new_tiny(project, "/sys/wizard-run"), "/sys/wizard-run", "not permitted")


def test_a_full_disk_leaves_nothing_behind(project: Path) -> None:
    """The file size limit makes the kernel refuse a write past it (EFBIG), as a full disk does
    (ENOSPC): first for the run folder's first file, then for a later one (sixty datasets read
    by an Axolotl type make the answers file the larger: about 5.8 kB, each entry saying its
    format and type, against the config's 5.2 kB)."""
    datasets = [
        f"datasets.{i}.{key}={value}"
        for i in range(60)
        for key, value in (
            ("path", "tiny-data/alpaca.jsonl"),
            ("format", "axolotl"),
            ("type", "alpaca"),
        )
    ]
    many = [arg for item in datasets for arg in ("--set", item)]
    for limit, extra in ((1500, []), (5500, many)):
        config_fits = limit > 5300

        def small_files(limit: int = limit) -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "wizard",
                "new",
                "deep/er/run",
                "--preset",
                "tiny-cpu",
                *extra,
                "--yes",
            ],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=HOSTILE_TIMEOUT,
            preexec_fn=small_files,
            check=False,
        )
        name = "wizard-answers.yml" if config_fits else "axolotl.yml"
        one_line_error(done, f"cannot write deep/er/run/{name}", "nothing was written")
        assert not (project / "deep").exists()
        assert not list(project.rglob("*.tmp"))
