"""Find the data shipped with the package: presets/ and templates/.

In a wheel they live inside the package, under `wizard/_data/` (hatch force-include; not
`wizard/presets/`, which is the Python package that reads them); in a source checkout or an
editable install they are the top-level folders of the repository, next to the package.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PACKAGED = "_data"  # where pyproject.toml's force-include puts them in a wheel


def data_dir(name: str) -> Path:
    packaged = Path(str(resources.files("wizard"))) / PACKAGED / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"the package data folder {name!r} is missing from this installation")


def presets_dir() -> Path:
    return data_dir("presets")


def templates_dir() -> Path:
    return data_dir("templates")
