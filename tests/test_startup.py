"""What the quick commands load and leave behind, through the real console entry (collector off,
`os._exit`): none imports the training stack, and none writes outside the folder it is given."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_wizard

# gradio too: the page is an optional extra, imported only when `ui` runs.
HEAVY = {"torch", "transformers", "axolotl", "deepspeed", "accelerate", "gradio"}
# Imported only where they are used: plotext when `runs` draws a loss curve.
LAZY = {"plotext"}
NEW = ["new", "run", "--preset", "llama-3.1-8b-qlora", "--set", "datasets.0.path=d.jsonl"]
# Each quick command with a module its work cannot do without: proof that it ran.
QUICK = {
    "--help": ([], "wizard.cli"),
    "ui --help": (["ui", "--help"], "wizard.commands.argtypes"),
    "new --yes": ([*NEW, "--yes", "--force"], "wizard.render.plan"),
    "check": (["check", "made/axolotl.yml"], "wizard.lint"),
    "estimate": (["estimate", "made"], "wizard.estimate"),
    "runs": (["runs", "."], "wizard.runs.store"),
}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a run folder `made/` written by `new --yes`."""
    folder = tmp_path_factory.mktemp("quick")
    done = run_wizard("new", "made", *NEW[2:], "--yes", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder


def imports_of(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> set[str]:
    """The modules `axolotl-wizard ARGS` imports (Python's own import-time report)."""
    done = run_wizard(*args, cwd=cwd, env={"PYTHONPROFILEIMPORTTIME": "1", **(env or {})})
    assert done.returncode == 0, done.stderr[-2000:]
    return {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}


@pytest.mark.parametrize("command", QUICK)
def test_a_quick_command_imports_nothing_heavy(made: Path, command: str) -> None:
    args, needed = QUICK[command]
    imported = imports_of(args, made)
    assert needed in imported
    assert sorted(name for name in imported if name.split(".")[0] in HEAVY | LAZY) == []


@pytest.mark.parametrize("command", QUICK)
def test_a_quick_command_writes_nothing_in_home(made: Path, tmp_path: Path, command: str) -> None:
    """Nothing under $HOME or $XDG_CACHE_HOME: `check` is read-only, and the package's data is
    read from the package, not from a copy kept in the user's cache."""
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir(), cache.mkdir()
    env = {"HOME": str(home), "XDG_CACHE_HOME": str(cache)}
    imports_of(QUICK[command][0], made, env)
    assert [*home.rglob("*"), *cache.rglob("*")] == []


def test_new_without_a_local_data_file_loads_no_record_reader(made: Path) -> None:
    """The dataset readers come in once there is a local file to read (`d.jsonl` is not there):
    a Hub dataset, or a file not written yet, costs `new --yes` none of them."""
    imported = imports_of(QUICK["new --yes"][0], made)
    assert "wizard.render.plan" in imported
    readers = {"wizard.interview.sniff", "wizard.interview.shape", "wizard.datafiles"}
    assert readers & imported == set()


def test_new_builds_the_estimates_confidence_without_statistics(made: Path) -> None:
    """`new --yes` estimates what it writes (with the checked runs it resembles) but never shows
    their median error: `statistics` comes in only where the median is taken."""
    imported = imports_of(QUICK["new --yes"][0], made)
    assert "wizard.estimate.confidence" in imported
    assert "statistics" not in imported


def test_new_loads_no_did_you_mean_machinery_when_every_name_is_known(made: Path) -> None:
    """`difflib` serves only a name that is not found (an unknown preset, GPU, model or answer
    key): `new --yes` with good answers never loads it."""
    imported = imports_of(QUICK["new --yes"][0], made)
    assert "wizard.render.plan" in imported
    assert "difflib" not in imported
