"""The manual: the README stays a front door, every page has a place in the table of contents,
every link leads somewhere, and the pages written from the code are what the code says now
(the answers from the spec and rendering, `check`'s codes from the one table of codes, which
every rule's finding must be in)."""

from __future__ import annotations

import ast
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))

import gen_answers_docs
import gen_axolotl_keys_docs
import gen_check_docs

from wizard.answers.answer_keys import known_keys
from wizard.axolotl.schema import load_schema
from wizard.lint.codes import AREAS, CODES
from wizard.yamlio import parse_yaml

DOCS = REPO / "docs"
README = REPO / "README.md"
MAX_README_LINES = 250
PAGES = sorted([README, *DOCS.glob("*.md")])
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_CODE = re.compile(r"`[^`\n]*`")


def test_the_readme_is_a_front_door() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move the detail into docs/"


def test_the_readme_keeps_the_two_first_commands() -> None:
    """The demo and the whole test suite, as the first screen shows them; CI (.ci/run) runs the
    README's test command."""
    text = README.read_text(encoding="utf-8")
    assert "pip install -e '.[train]' torch==2.13.0 && axolotl-wizard demo" in text
    workers = "-n 2 --dist loadfile"
    assert f"pip install -e '.[train,test]' torch==2.13.0 && python -m pytest {workers}\n" in text
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert f"\npython -m pytest -q -ra {workers}\n" in ci


def test_every_page_of_the_manual_is_in_its_table_of_contents() -> None:
    linked = {target for target, _ in _links(DOCS / "index.md")}
    pages = {p.name for p in DOCS.iterdir() if p.suffix in (".md", ".txt") and p.name != "index.md"}
    assert pages - linked == set(), "add the page to docs/index.md"
    assert {name for name in linked if "/" not in name} <= pages | {""}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target, anchor in _links(page):
        path = (page.parent / target).resolve() if target else page
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{target}#{anchor}: no such heading")
    assert broken == []


def _links(page: Path) -> Iterator[tuple[str, str]]:
    """(path, anchor) of every relative link outside code."""
    text = _CODE.sub("", _FENCE.sub("", page.read_text(encoding="utf-8")))
    for match in _LINK.finditer(text):
        target = match.group(1)
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        yield path, anchor


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to
    hyphens (`## Migrating old configs: `check --fix`` -> `migrating-old-configs-check---fix`)."""
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    headings = re.findall(r"^#{1,6} (.+)$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_the_answers_page_is_what_the_code_says() -> None:
    page = (DOCS / "answers.md").read_text(encoding="utf-8")
    assert page == gen_answers_docs.render(), "run `python scripts/gen_answers_docs.py`"


def test_the_answers_page_has_a_row_for_every_answer() -> None:
    page = (DOCS / "answers.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([^`]+)` \|", page, re.M))
    shared = gen_answers_docs.shared_entries()
    assert shared == {"test_datasets.N.": "datasets.N.", "pretraining_dataset.N.": "datasets.N."}

    def shown_as(key: str) -> str:  # `test_datasets.N.path` is in the row of `datasets.N.path`
        head = next((h for h in shared if key.startswith(h)), None)
        return key if head is None else shared[head] + key.removeprefix(head)

    keys = {shown_as(k) for k in known_keys()}
    missing = [k for k in keys if k not in rows and not any(r.startswith(f"{k}.") for r in rows)]
    assert missing == []


def test_the_answers_page_names_the_key_nested_answers_write() -> None:
    keys = gen_answers_docs.axolotl_keys()
    assert keys["distributed.fsdp.reshard_after_forward"] == ["fsdp_config.reshard_after_forward"]
    assert keys["datasets.N.role_key"] == ["datasets[].message_property_mappings.role"]
    assert keys["objective.num_generations"] == ["trl.num_generations"]
    assert keys["training.use_reentrant"] == ["gradient_checkpointing_kwargs.use_reentrant"]
    assert keys["training.micro_batch_size"] == ["micro_batch_size"]


def test_the_axolotl_keys_page_is_what_the_code_says() -> None:
    page = (DOCS / "axolotl-keys.md").read_text(encoding="utf-8")
    assert page == gen_axolotl_keys_docs.render(), "run `python scripts/gen_axolotl_keys_docs.py`"


def test_the_axolotl_keys_page_says_what_becomes_of_each_kind_of_key() -> None:
    written = gen_axolotl_keys_docs.written_by()
    schema = load_schema("0.19.0")

    def fate(key: str) -> tuple[str, str]:
        found = gen_axolotl_keys_docs.top_level_fate(key, schema, written)
        return found.kind, found.detail

    assert fate("base_model_config") == ("answer", "`model.base_model_config`")
    renamed = "read as `neftune_noise_alpha` (answer `training.neftune_noise_alpha`)"
    assert fate("noisy_embedding_alpha") == ("renamed", renamed)
    assert fate("flash_attention")[0] == "renamed"
    assert "`false`: dropped" in fate("flash_attention")[1]
    assert fate("s2_attention")[0] == "refused"
    assert fate("comet_api_key")[0] == "dropped"
    assert fate("lora_model_dir") == ("raw", "")
    assert gen_axolotl_keys_docs.dataset_fate("ds_type", written).kind == "answer"
    assert gen_axolotl_keys_docs.dataset_fate("message_field_role", written).kind == "renamed"


# Axolotl-valid configs from public repositories (issue 29), with Axolotl's verdict on each.
CORPUS = REPO / "tests" / "data" / "import-corpus"


def test_a_key_many_real_configs_set_is_an_answer_or_axolotl_reads_it_otherwise() -> None:
    """Every key Axolotl knows that more than two of the corpus's valid configs give a value is
    an answer, a spelling Axolotl reads under another name, or one it refuses: none is left to
    pass through as a raw key (issue 29)."""
    schema, written = load_schema("0.19.0"), gen_axolotl_keys_docs.written_by()
    counts: dict[str, int] = {}
    for line in (CORPUS / "verdicts.jsonl").read_text(encoding="utf-8").splitlines():
        verdict = json.loads(line)
        if verdict["verdict"] == "valid":
            cfg = parse_yaml((CORPUS / verdict["path"]).read_text(encoding="utf-8"), "corpus")
            for key in (k for k, v in cfg.items() if v is not None and k in schema.properties):
                counts[key] = counts.get(key, 0) + 1
    common = [key for key, count in counts.items() if count > 2]
    fates = {key: gen_axolotl_keys_docs.top_level_fate(key, schema, written) for key in common}
    assert len(common) > 80 and [key for key, fate in fates.items() if fate.kind == "raw"] == []


def test_the_check_codes_page_is_what_the_code_says() -> None:
    page = (DOCS / "check-codes.md").read_text(encoding="utf-8")
    assert page == gen_check_docs.render(), "run `python scripts/gen_check_docs.py`"


def test_every_code_a_rule_reports_is_in_the_table_of_codes() -> None:
    """Every finding built in wizard/ (`ctx.at`, `ctx.in_ds`, `Finding`) names a code of
    `wizard/lint/codes.py`, with a severity the table gives it; and the table has no code that
    nothing reports."""
    reported = reported_codes()
    missing = {code: sorted(sev) for code, sev in reported.items() if code not in CODES}
    assert missing == {}, "add these codes to wizard/lint/codes.py"
    wrong = {code: sorted(sev - set(CODES[code].severities)) for code, sev in reported.items()
             if sev - set(CODES[code].severities)}  # fmt: skip
    assert wrong == {}
    assert set(CODES) - set(reported) == set(), "codes no rule reports any more"
    assert {code.area for code in CODES.values()} <= set(AREAS)


# What builds a finding, and the position of its severity and its code.
_FINDING_CALLS = {"at", "in_ds", "Finding"}


def reported_codes() -> dict[str, set[str]]:
    """Code -> the severities some module of wizard/ reports it with, read from the source."""
    found: dict[str, set[str]] = {}
    for path in sorted((REPO / "wizard").rglob("*.py")):
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for severity, code in _findings(function, path):
                    for name in code:
                        found.setdefault(name, set()).update(severity)
    return found


def _findings(
    function: ast.FunctionDef | ast.AsyncFunctionDef, path: Path
) -> Iterator[tuple[set[str], set[str]]]:
    for call in ast.walk(function):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name not in _FINDING_CALLS or len(call.args) < 2:
            continue
        severity = _literals(call.args[0], function)
        code = _literals(call.args[1], function)
        if severity is None or code is None:  # passed through from the caller's parameters
            continue
        assert severity <= {"error", "warning", "hint"}, f"{path}:{call.lineno}"
        yield severity, code


def _literals(node: ast.expr, function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str] | None:
    """The strings an argument can be: a literal, either side of `a if c else b`, or a local
    name assigned those; None for one of the function's own parameters."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        body, orelse = _literals(node.body, function), _literals(node.orelse, function)
        assert body is not None and orelse is not None, ast.unparse(node)
        return body | orelse
    if isinstance(node, ast.Name):
        if node.id in {a.arg for a in function.args.args + function.args.kwonlyargs}:
            return None
        found: set[str] = set()
        for assign in ast.walk(function):
            if isinstance(assign, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == node.id for t in assign.targets
            ):
                found |= _literals(assign.value, function) or set()
        assert found, f"a finding's code or severity {node.id} that is no literal"
        return found
    raise AssertionError(f"write a finding's code and severity as literals: {ast.unparse(node)}")


def test_the_reader_of_codes_finds_what_the_rules_report() -> None:
    """The scan above is the proof, so it must see the findings it claims to: codes made in each
    way (a literal, `a if c else b` severities, a local name, a helper that takes a message)."""
    reported = reported_codes()
    assert reported["unknown-key"] == {"warning"}
    assert reported["cpu-precision"] == {"error", "warning"}  # "error" if … else "warning"
    assert reported["axolotl-invalid"] == {"error"}  # code = "axolotl-invalid" if … else …
    assert reported["grpo-batch"] == {"error"}  # through a helper, _finding(ctx, message, fix)
    assert reported["removed-key"] == {"error", "hint"}


def test_every_built_in_preset_is_on_the_presets_page() -> None:
    page = (DOCS / "presets.md").read_text(encoding="utf-8")
    names = [p.stem for p in (REPO / "presets").glob("*.yml")]
    assert names and [n for n in names if f"`{n}`" not in page] == []
