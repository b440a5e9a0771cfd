"""The import contract over two corpora: nothing lost, nothing added.

Axolotl's own example configs (`tests/data/axolotl-examples`) and real-world configs from public
repositories (`tests/data/import-corpus`, held out from the importer's development): every file
Axolotl 0.19.0 accepts is imported with the real `new --from --yes`, and Axolotl's own
`validate_config` reads the original and the written `axolotl.yml` (`round_trip`: one child
process validates every file of both corpora). The files not reproduced exactly are listed, each
with its reason, in each corpus's limitations file, and that list must be exactly the files that
fail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from conftest import TESTS, bench_module
from round_trip import Corpus, Imports, failures, files_to_validate, import_all
from validated_configs import read_all

from wizard.axolotl.deepspeed_file import shipped_deepspeed

DATA = TESTS / "data"
CORPORA = {
    "examples": Corpus(DATA / "axolotl-examples", DATA / "import-limitations.yml"),
    "real-world": Corpus(DATA / "import-corpus", DATA / "import-corpus-limitations.yml"),
}
# The share of Axolotl-valid configs each corpus must reproduce exactly (issue 29: 97%).
FLOOR = {"examples": 0.95, "real-world": 0.97}

pytestmark = pytest.mark.integration


@dataclass
class Done:
    imports: dict[str, Imports]
    validated: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> Done:
    imports = {name: import_all(corpus, tmp_path_factory.mktemp(name))
               for name, corpus in CORPORA.items()}  # fmt: skip
    files = [f for name, c in CORPORA.items() for f in files_to_validate(c, imports[name])]
    return Done(imports, read_all(files))


@pytest.mark.parametrize("name", CORPORA)
def test_imports_validate_as_the_originals(
    done: Done, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = CORPORA[name]
    found = failures(corpus, done.imports[name], done.validated)
    valid = len(corpus.valid)
    assert corpus.limitations is not None
    listed = yaml.safe_load(corpus.limitations.read_text(encoding="utf-8")) or {}
    share = 1 - len(found) / valid
    with capsys.disabled():
        print(f"\nimport round trip, {name}: {valid - len(found)}/{valid} ({share:.1%})")
    assert {p: "" for p in found} == {p: "" for p in listed}, found
    assert all(isinstance(reason, str) and len(reason) > 20 for reason in listed.values())
    assert share >= FLOOR[name]


def test_every_axolotl_accepted_real_world_config_is_imported(done: Done) -> None:
    """Issue 29: `new --from` never refuses a config Axolotl accepts (a missing DeepSpeed file,
    a custom prompt format under `type:`, a dataset named by its data_files...), but for the
    pretraining runs listed in the limitations (the answers start from `datasets:`)."""
    limitations = CORPORA["real-world"].limitations
    assert limitations is not None
    listed = yaml.safe_load(limitations.read_text(encoding="utf-8"))
    refused = done.imports["real-world"].refused
    assert set(refused) <= {p for p, why in listed.items() if "pretraining" in why}, refused


def test_the_shipped_deepspeed_files_are_axolotls_own() -> None:
    """The JSON an import carries for `deepspeed_configs/NAME.json` is Axolotl's file."""
    for path in sorted((DATA / "axolotl-examples" / "deepspeed_configs").glob("*.json")):
        found = shipped_deepspeed(f"/workspace/axolotl/deepspeed_configs/{path.name}")
        assert found == (path.name, json.loads(path.read_text(encoding="utf-8")))
    assert shipped_deepspeed("deepspeed/zero2.json") is None  # Axolotl's old folder, not 0.19's
    assert shipped_deepspeed("deepspeed_configs/mine.json") is None


def test_most_of_the_corpus_imports_as_first_class_answers() -> None:
    """Issue 14's floor, measured as `python bench/bench_import.py` prints it: at least 90 % of
    the meaningful keys become answers, and at least half of the configs keep no raw key."""
    found = bench_module("bench_import").coverage(CORPORA["examples"].root)
    assert found.first_share >= 0.90, found.left_raw.most_common(10)
    assert found.clean_share >= 0.50, found.left_raw.most_common(10)
