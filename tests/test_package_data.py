"""The package's YAML data files, read through a JSON copy kept in the user's cache: the copy
only ever holds what parsing the YAML gives, and a cache that fails is passed by."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from wizard import yamlio
from wizard.yamlio import data_cache_dir, package_data, safe_load

FILES = [
    ("wizard.models", "catalog.yaml"),
    ("wizard.models", "families.yaml"),
    ("wizard.estimate", "checked.yaml"),
    ("wizard.lint", "data/inventory-0.19.0.yaml"),
]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return data_cache_dir()


@pytest.mark.parametrize(("package", "name"), FILES)
def test_the_cached_copy_is_what_the_yaml_says(cache: Path, package: str, name: str) -> None:
    path = ROOT.joinpath(*package.split("."), name)
    expected = safe_load(path.read_text(encoding="utf-8"))
    assert package_data(package, name) == expected  # parsed, and kept
    (kept,) = cache.glob(f"{Path(name).stem}-*.json")
    assert json.loads(kept.read_text(encoding="utf-8")) == expected
    assert package_data(package, name) == expected  # read back from the copy


def test_a_damaged_copy_is_parsed_again_and_replaced(cache: Path) -> None:
    package_data("wizard.models", "families.yaml")
    (kept,) = cache.glob("families-*.json")
    kept.write_text('{"families": {', encoding="utf-8")
    assert "llama" in package_data("wizard.models", "families.yaml")["families"]
    assert "llama" in json.loads(kept.read_text(encoding="utf-8"))["families"]


def test_a_copy_is_keyed_by_the_text_so_an_edit_is_never_stale(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package_data("wizard.models", "families.yaml")
    real = yamlio.resources.files

    class Edited:
        def joinpath(self, name: str) -> Edited:
            return self

        def read_text(self, encoding: str) -> str:
            return "families: {}\n"

    monkeypatch.setattr(yamlio.resources, "files", lambda package: Edited())
    assert package_data("wizard.models", "families.yaml") == {"families": {}}
    monkeypatch.setattr(yamlio.resources, "files", real)
    assert package_data("wizard.models", "families.yaml")["families"]
    assert len(list(cache.glob("families-*.json"))) == 2


def test_a_cache_path_that_is_a_file_is_passed_by(cache: Path) -> None:
    cache.parent.mkdir(parents=True)
    cache.write_text("not a folder", encoding="utf-8")
    assert package_data("wizard.models", "families.yaml")["families"]
    assert cache.read_text(encoding="utf-8") == "not a folder"


def test_what_json_cannot_give_back_is_not_kept(cache: Path) -> None:
    yamlio._keep_as_json(cache / "dated.json", {"when": yamlio.safe_load("2026-12-02")})
    yamlio._keep_as_json(cache / "numbered.json", {1: "one"})
    assert not list(cache.glob("*.json"))


@pytest.mark.parametrize("hostile", ["fifo", "huge", "deep"])
def test_a_hostile_copy_is_read_bounded_and_replaced(cache: Path, hostile: str) -> None:
    """A copy that is a FIFO (a read would block), far larger than its YAML, or nested past
    the recursion limit is parsed again from the YAML and replaced."""
    package_data("wizard.models", "families.yaml")
    (kept,) = cache.glob("families-*.json")
    kept.unlink()
    if hostile == "fifo":
        os.mkfifo(kept)
    else:
        kept.write_text("[" * 100_000 if hostile == "deep" else " " * 10_000_000 + "{}")
    assert "llama" in package_data("wizard.models", "families.yaml")["families"]
    assert "llama" in json.loads(kept.read_text(encoding="utf-8"))["families"]
