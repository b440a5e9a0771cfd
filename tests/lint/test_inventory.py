"""The inventory of Axolotl's raising validators: complete for every bundled schema version,
each row mirrored by a rule (with a parity case) or left out with a reason, and the same as a
regeneration from the installed Axolotl would write."""

from __future__ import annotations

import importlib.util
import sys

import pytest
import yaml
from conftest import REPO
from test_parity import CODES

from wizard.axolotl.schema import bundled_versions
from wizard.lint.inventory import load_inventory

sys.path.insert(0, str(REPO / "scripts"))
import gen_axolotl_inventory as gen


@pytest.mark.parametrize("version", bundled_versions())
def test_every_raising_validator_has_a_row(version: str) -> None:
    inventory = load_inventory(version)
    assert inventory.validators, f"no inventory bundled for Axolotl {version}"
    bare = [v.id for v in inventory.validators if not v.rules and not v.left_out]
    assert bare == []
    assert len({v.id for v in inventory.validators}) == len(inventory.validators)


@pytest.mark.parametrize("version", bundled_versions())
def test_every_named_rule_has_a_parity_case(version: str) -> None:
    named = {code for v in load_inventory(version).validators for code in v.rules}
    assert named - CODES == set()


def test_the_issue_s_refusals_are_mirrored() -> None:
    rules = {v.id: v.rules for v in load_inventory("0.19.0").validators}
    for validator in (
        "DatasetValidationMixin.deprecate_sharegpt_datasets",
        "DatasetValidationMixin.check_deprecated_unsloth_fields",
        "DatasetValidationMixin.check_eval_packing",
        "PretrainingValidationMixin.check_pretraining_w_val_set_size",
        "TrainingValidationMixin.check_evals",
        "TrainingValidationMixin.check_saves",
        "RLValidationMixin.check_grpo_batch_size_divisibility",
        "RLValidationMixin.check_sample_packing_w_rl",
        "AxolotlInputConfig.normalize_attn_implementation",
        "DeprecatedParameters.validate_flash_attn_rms_norm",
    ):
        assert rules[validator], validator


@pytest.mark.integration
def test_bundled_inventory_matches_the_installed_axolotl() -> None:
    assert importlib.util.find_spec("axolotl") is not None
    root, version = gen.axolotl_dir(None)
    fresh = [row for path in gen.source_files(root) for row in gen.validators_in(path, root)]
    bundled = load_inventory(version)
    assert [r["id"] for r in fresh] == [v.id for v in bundled.validators]
    assert [tuple(r["raises"]) for r in fresh] == [v.raises for v in bundled.validators]
    assert tuple(gen.dataset_types(root)) == bundled.dataset_types


def test_regeneration_keeps_what_people_wrote() -> None:
    old = [{"id": "A.x", "where": "f:1", "rule": "r"}, {"id": "B.y", "left_out": "why"}]
    new = [{"id": "A.x", "where": "f:2"}, {"id": "C.z", "where": "f:9"}]
    merged = gen.merge(new, old)
    assert merged == [{"id": "A.x", "where": "f:2", "rule": "r"}, {"id": "C.z", "where": "f:9"}]
    assert yaml.safe_load(yaml.safe_dump(merged)) == merged
