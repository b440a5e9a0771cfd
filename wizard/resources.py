"""Find the data shipped with the package: presets/ and templates/, and the data files inside
the packages (schemas, tables).

In a wheel presets/ and templates/ live inside the package, under `wizard/_data/` (hatch
force-include; not `wizard/presets/`, which is the Python package that reads them); in a source
checkout or an editable install they are the top-level folders of the repository, next to the
package.

The package is always a folder on disk (pip unpacks wheels; the presets and templates are read
as folders), so a data file is a path below it: `importlib.resources` would load its readers
(and `zipfile`) for every quick command to say the same.
"""

from __future__ import annotations

from pathlib import Path

PACKAGED = "_data"  # where pyproject.toml's force-include puts them in a wheel
PACKAGE_DIR = Path(__file__).parent


def package_path(package: str, *names: str) -> Path:
    """A data file (or, given no name, the folder) of the wizard's package `package`
    (`wizard.axolotl.schemas`)."""
    top, *below = package.split(".")
    if top != "wizard":
        raise ValueError(f"{package} is not a package of the wizard")
    return PACKAGE_DIR.joinpath(*below, *names)


def data_dir(name: str) -> Path:
    packaged = PACKAGE_DIR / PACKAGED / name
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
