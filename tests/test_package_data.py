"""The package's YAML data files are read through the JSON that `scripts/gen_package_data.py`
converts them to: each JSON says exactly what its YAML says, and an edited YAML whose JSON was
not regenerated fails here."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from conftest import REPO

from wizard.yamlio import package_data, safe_load

sys.path.insert(0, str(REPO / "scripts"))

import gen_package_data as gen

PACKAGE = REPO / "wizard"
# YAML in the package that is read as YAML, not through a converted copy.
READ_AS_YAML = {"interview/questions.yaml"}


@pytest.mark.parametrize("source", gen.sources(), ids=lambda path: path.name)
def test_each_json_is_what_its_yaml_says_now(source: Path) -> None:
    assert gen.target(source).is_file(), "run `python scripts/gen_package_data.py`"
    assert gen.target(source).read_text(encoding="utf-8") == gen.converted(source), (
        "run `python scripts/gen_package_data.py`"
    )


@pytest.mark.parametrize("source", gen.sources(), ids=lambda path: path.name)
def test_the_wizard_reads_what_the_yaml_says(source: Path) -> None:
    relative = source.relative_to(PACKAGE.parent)
    package = ".".join(relative.parts[:2])  # wizard.<subpackage>
    name = "/".join(relative.parts[2:])
    assert package_data(package, name) == safe_load(source.read_text(encoding="utf-8"))


def test_every_yaml_data_file_is_converted() -> None:
    found = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.yaml")}
    converted = {str(path.relative_to(PACKAGE)) for path in gen.sources()}
    assert found - converted == READ_AS_YAML, (
        "a YAML data file read with package_data goes in DATA of scripts/gen_package_data.py; "
        "one read as YAML in READ_AS_YAML here"
    )


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package folder holding the families table and its JSON, as the generator sees it."""
    monkeypatch.setattr(gen, "PACKAGE", tmp_path)
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    monkeypatch.setattr(gen, "DATA", ("models/*.yaml",))
    (tmp_path / "models").mkdir()
    for name in ("families.yaml", "families.json"):
        shutil.copy(PACKAGE / "models" / name, tmp_path / "models" / name)
    return tmp_path / "models" / "families.yaml"


def test_an_edited_yaml_makes_its_json_stale(copy: Path) -> None:
    assert gen.stale() == []
    copy.write_text(copy.read_text(encoding="utf-8") + "\nadded: 1\n", encoding="utf-8")
    assert gen.stale() == [copy]


@pytest.mark.parametrize(
    "text", ["when: 2026-12-02\n", "1: one\n", "true: yes\n", "ratio: .nan\n", "set: !!set {a}\n"]
)
def test_data_json_cannot_give_back_is_refused(copy: Path, text: str) -> None:
    copy.write_text(text, encoding="utf-8")
    with pytest.raises(SystemExit, match=r"families\.yaml"):
        gen.converted(copy)
