"""The inventory of Axolotl's raising validators, bundled per version (wizard/lint/data).

`scripts/gen_axolotl_inventory.py` writes it from an installed Axolotl; each row names the
finding code that mirrors the validator (`rule`) or says why none does (`left_out`). The file also
lists the dataset `type:` names Axolotl has a loader for. Read with importlib.resources, so
`check` needs no Axolotl.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from wizard.records import Record
from wizard.yamlio import package_data


class Validator(Record):
    id: str
    where: str
    kind: str
    raises: tuple[str, ...]
    rules: tuple[str, ...] = ()
    left_out: str | None = None


class Inventory(Record):
    version: str
    validators: tuple[Validator, ...] = ()
    dataset_types: tuple[str, ...] = ()


def inventory_name(version: str) -> str:
    return f"inventory-{version}.yaml"


def _rules(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@cache
def load_inventory(version: str) -> Inventory:
    """The inventory for Axolotl `version`; an empty one when none is bundled."""
    name = f"data/{inventory_name(version)}"
    if not resources.files("wizard.lint").joinpath(name).is_file():
        return Inventory(version)
    data = package_data("wizard.lint", name)
    rows = tuple(
        Validator(
            id=row["id"],
            where=row["where"],
            kind=row["kind"],
            raises=tuple(row.get("raises", [])),
            rules=_rules(row.get("rule")),
            left_out=row.get("left_out"),
        )
        for row in data["validators"]
    )
    return Inventory(version, rows, tuple(data.get("dataset_types", [])))
