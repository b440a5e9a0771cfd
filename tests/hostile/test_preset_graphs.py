"""Team folders whose `extends` make a graph built to exhaust the walk: diamonds that double the
paths with each level, chains a thousand presets long. Each preset is read and resolved once, the
depth is bounded, and a broken preset never hides the others."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import one_line_error, project, wizard

from wizard import cli
from wizard.presets import store

__all__ = ["project"]

DIAMOND_LEVELS = 24  # 2**24 paths from the top to the bottom: the old walk took each of them
LONG_CHAIN = 1_000  # raised `unexpected RecursionError` everywhere, and emptied `presets list`


def diamond(folder: Path, levels: int = DIAMOND_LEVELS) -> str:
    """Two presets a level, each extending both of the level below; returns the top's name."""
    folder.mkdir(parents=True, exist_ok=True)
    for side in "ab":
        (folder / f"l0{side}.yml").write_text(f"name: l0{side}\nextends: [builtin:tiny-cpu]\n")
    for level in range(1, levels):
        for side in "ab":
            parents = f"[l{level - 1}a, l{level - 1}b]"
            (folder / f"l{level}{side}.yml").write_text(
                f"name: l{level}{side}\ndescription: level {level}\nextends: {parents}\n"
            )
    return f"l{levels - 1}a"


def long_chain(folder: Path, length: int = LONG_CHAIN) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "c0.yml").write_text("name: c0\nextends: builtin:tiny-cpu\n")
    for index in range(1, length):
        (folder / f"c{index}.yml").write_text(f"name: c{index}\nextends: c{index - 1}\n")
    (folder / "good.yml").write_text("name: good\ndescription: fine\nextends: builtin:tiny-cpu\n")


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every preset file read, in order; far past one read per file the walk is exponential,
    and the test stops it there instead of waiting for it."""
    seen: list[Path] = []
    read = store.read_preset_data

    def counted(path: Path, folder: Path | None = None) -> object:
        seen.append(path)
        assert len(seen) < 2_000, "preset files read again and again: the walk is exponential"
        return read(path, folder)

    monkeypatch.setattr(store, "read_preset_data", counted)
    return seen


def files_in(*folders: Path) -> int:
    return sum(1 for folder in folders for p in folder.iterdir() if p.suffix in (".yml", ".yaml"))


def test_a_diamond_folder_reads_each_preset_once(
    project: Path,
    reads: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    top = diamond(project / "team")
    monkeypatch.setenv("AXOLOTL_WIZARD_PRESETS", str(project / "team"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(project / "config"))
    monkeypatch.chdir(project)
    every_file = files_in(project / "team", store.presets_dir())

    assert cli.main(["new", "run", "--preset", top, "--yes"]) == 0
    assert len(reads) <= 2 * DIAMOND_LEVELS + 1, "new --preset read a preset twice"
    assert len(set(reads)) == len(reads)

    reads.clear()
    assert cli.main(["presets", "list"]) == 0
    assert len(reads) <= every_file and len(set(reads)) == len(reads)
    assert (
        f"{2 * DIAMOND_LEVELS + files_in(store.presets_dir())} presets." in capsys.readouterr().out
    )

    reads.clear()
    assert cli.main(["presets", "show", top]) == 0
    assert len(reads) <= 2 * DIAMOND_LEVELS + 1


def test_presets_check_of_a_diamond_folder_reads_each_preset_once(
    project: Path, reads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    diamond(project / "team", levels=12)
    monkeypatch.chdir(project)
    assert cli.main(["presets", "check", str(project / "team")]) == 0
    assert len(set(reads)) == len(reads) <= 24 + 1


def test_the_commands_answer_a_diamond_folder_quickly(project: Path) -> None:
    """End to end: the old walk took past a minute for `new` alone at this depth."""
    top = diamond(project / "team")
    env = {"AXOLOTL_WIZARD_PRESETS": str(project / "team")}
    done = wizard(project, "new", "run", "--preset", top, "--yes", env=env)
    assert done.returncode == 0, done.stderr
    listed = wizard(project, "presets", "list", env=env)
    assert listed.returncode == 0 and "BROKEN" not in listed.stdout


def test_a_chain_too_long_is_one_line_naming_it(project: Path) -> None:
    long_chain(project / "team")
    env = {"AXOLOTL_WIZARD_PRESETS": str(project / "team")}
    line = one_line_error(
        wizard(project, "new", "run", "--preset", "c999", "--yes", env=env),
        "more than 64 presets deep",
        "team:c999 -> team:c998",
    )
    assert len(line) < 400, line
    one_line_error(wizard(project, "presets", "show", "c999", env=env), "64 presets deep")
    assert not (project / "run").exists()
    # Within the limit a chain is fine: c40 has 42 presets in its chain, builtin included.
    assert wizard(project, "new", "ok", "--preset", "c40", "--yes", env=env).returncode == 0


def test_presets_list_still_lists_the_good_ones(
    project: Path,
    reads: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    long_chain(project / "team")
    monkeypatch.setenv("AXOLOTL_WIZARD_PRESETS", str(project / "team"))
    monkeypatch.chdir(project)
    assert cli.main(["presets", "list"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "BROKEN" not in rows["good"] and "BROKEN" not in rows["tiny-cpu"]
    assert "BROKEN" not in rows["c10"]
    assert "more than 64 presets deep" in rows["team:c999"]
    assert len(set(reads)) == len(reads)


def test_a_cycle_is_still_named(project: Path) -> None:
    team = project / "team"
    team.mkdir()
    (team / "a.yml").write_text("name: a\nextends: [builtin:tiny-cpu, b]\n")
    (team / "b.yml").write_text("name: b\nextends: [c]\n")
    (team / "c.yml").write_text("name: c\nextends: [a]\n")
    env = {"AXOLOTL_WIZARD_PRESETS": str(team)}
    one_line_error(
        wizard(project, "new", "r", "--preset", "a", "--yes", env=env),
        "cycle: team:a -> team:b -> team:c -> team:a",
    )
