"""The inventory of Axolotl's raising validators, bundled per version (wizard/lint/data).

`scripts/gen_axolotl_inventory.py` writes it from an installed Axolotl; each row names the
finding code that mirrors the validator (`rule`) or says why none does (`left_out`). The file also
lists the dataset `type:` names Axolotl has a loader for. Read from the package, so `check`
needs no Axolotl.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from wizard.records import Record
from wizard.resources import package_path
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
def _inventory_data(version: str) -> dict[str, Any]:
    name = f"data/{inventory_name(version)}"
    if not package_path("wizard.lint", name).is_file():
        return {}
    data: dict[str, Any] = package_data("wizard.lint", name)
    return data


def dataset_types(version: str) -> tuple[str, ...]:
    """The dataset `type:` names Axolotl `version` has a loader for; none when no inventory is
    bundled. (What the rules read on every `new`: the validators' rows are not built for it.)"""
    return tuple(_inventory_data(version).get("dataset_types", []))


@cache
def load_inventory(version: str) -> Inventory:
    """The inventory for Axolotl `version`; an empty one when none is bundled."""
    data = _inventory_data(version)
    rows = tuple(
        Validator(
            id=row["id"],
            where=row["where"],
            kind=row["kind"],
            raises=tuple(row.get("raises", [])),
            rules=_rules(row.get("rule")),
            left_out=row.get("left_out"),
        )
        for row in data.get("validators", [])
    )
    return Inventory(version, rows, dataset_types(version))
