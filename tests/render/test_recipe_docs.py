"""docs/recipes.md is generated from the recipe table and the GPU catalog: never stale."""

from __future__ import annotations

import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))

import gen_recipe_docs


def test_the_recipes_page_is_what_the_tables_say() -> None:
    page = (REPO / "docs" / "recipes.md").read_text(encoding="utf-8")
    assert page == gen_recipe_docs.render(), "run `python scripts/gen_recipe_docs.py`"


def test_the_page_cites_every_source() -> None:
    from wizard.recipes.table import training_recipes

    page = gen_recipe_docs.render()
    for row in training_recipes():
        assert all(source in page for source in row.sources)
