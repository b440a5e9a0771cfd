"""Axolotl's vocabulary lives in one place (issue 28): its keys are constants generated from the
bundled schema (`wizard/axolotl/keys.py`), a config is read through one typed view
(`wizard/axolotl/view.py`), answers and keys meet in one table (`wizard/render/key_table.py`), and
each of Axolotl's rules is one lint rule with one code, in one module."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator

from conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))

import gen_axolotl_keys
from test_docs import _findings

from wizard.axolotl import keys as K
from wizard.axolotl.schema import load_schema
from wizard.lint.codes import CODES
from wizard.render.key_table import ROWS

PACKAGE = REPO / "wizard"
AXOLOTL_KEYS = frozenset(value for name, value in vars(K).items() if name.isupper())
# The packages that read Axolotl configs or write them: they name a key by its constant.
READERS = ("estimate", "lint", "launch", "commands", "models", "interview", "render", "importer")
# A string that is spelled like an Axolotl key but is not one (module: the strings, and why).
NOT_KEYS: dict[str, tuple[frozenset[str], str]] = {
    "lint/codes.py": (frozenset({"deepspeed"}), "the name of a part of `check` (AREAS)"),
    "lint/crossfile.py": (frozenset({"device"}), "a key of DeepSpeed's offload block"),
    "render/autofit_layer.py": (frozenset({"deepspeed", "fsdp"}), "backend names (an answer)"),
    "render/objective_config.py": (frozenset({"tensor_parallel_size"}),
                                   "a key of the `vllm:` block, not the top-level key"),
}  # fmt: skip


def raw_key_reads(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, key) of each Axolotl key named by a string: `x.get("k")` (and value, on, has,
    pop, setdefault), `x["k"]`, `"k" in x`, a dict display's key, a `key=(...)` path."""
    for node in ast.walk(tree):
        named: list[ast.expr] = []
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            if node.func.attr in ("get", "value", "on", "has", "pop", "setdefault", "text"):
                named.append(node.args[0])
        elif isinstance(node, ast.Subscript):
            named.append(node.slice)
        elif isinstance(node, ast.Compare) and isinstance(node.ops[0], (ast.In, ast.NotIn)):
            named.append(node.left)
        elif isinstance(node, ast.Dict):
            named += [key for key in node.keys if key is not None]
        elif isinstance(node, ast.keyword) and node.arg == "key":
            named += node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
        for expr in named:
            if isinstance(expr, ast.Constant) and expr.value in AXOLOTL_KEYS:
                yield expr.lineno, str(expr.value)


def test_keys_module_is_what_the_schema_generates() -> None:
    assert (PACKAGE / "axolotl" / "keys.py").read_text(
        encoding="utf-8"
    ) == gen_axolotl_keys.render()


def test_no_package_reads_an_axolotl_key_by_a_string_of_its_own() -> None:
    found = []
    for package in READERS:
        for path in sorted((PACKAGE / package).rglob("*.py")):
            module = str(path.relative_to(PACKAGE))
            allowed = NOT_KEYS.get(module, (frozenset(), ""))[0]
            tree = ast.parse(path.read_text(encoding="utf-8"))
            found += [f"{module}:{line} {key!r}" for line, key in raw_key_reads(tree)
                      if key not in allowed]  # fmt: skip
    assert found == [], "name these keys with wizard.axolotl.keys (or read them via the view)"


def test_the_scan_sees_each_way_a_key_is_read() -> None:
    reads = ['cfg.get("micro_batch_size")', 'cfg["adapter"]', '"deepspeed" in cfg',
             '{"bf16": True}', 'view.on("sample_packing")', 'ctx.at("error", "c", "m", "f", '
             'key=("fsdp_config", "x"))']  # fmt: skip
    for code in reads:
        assert [key for _, key in raw_key_reads(ast.parse(code))], code
    others = ["cfg.get(K.ADAPTER)", '"not_a_key" in cfg', 'print("adapter")']
    assert [list(raw_key_reads(ast.parse(code))) for code in others] == [[], [], []]


def test_every_table_row_names_a_key_of_the_schema() -> None:
    """A key of Axolotl's config (under its alias or its field name), or of one of its plugins
    (the speed-ups' `liger_*`)."""
    schema = load_schema()
    unknown = {row.key for row in ROWS if row.key not in schema.known_keys()}
    assert {key for key in unknown if not schema.plugin_for_key(key)} == set()


def test_each_finding_code_is_made_in_one_module() -> None:
    """A code has one home: the rule that mirrors an Axolotl check is written once. (A family
    code of `lint/codes.py`, such as removed-key, is one kind of finding about many keys.)"""
    homes: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for _, codes in _findings(function, path):
                    for code in codes:
                        homes.setdefault(code, set()).add(str(path.relative_to(REPO)))
    shared = {code: sorted(modules) for code, modules in homes.items()
              if len(modules) > 1 and not CODES[code].family}  # fmt: skip
    assert shared == {}


def test_the_spec_holds_no_copy_of_a_lint_rule() -> None:
    """The spec keeps the shape of answers; what Axolotl refuses is a lint rule on the config,
    which the answers path runs on what it renders. A spec module that names one of Axolotl's
    validators (`check_*`) would be a second copy of it."""
    spec = PACKAGE / "runspec"
    named = [f"{path.name}:{line}" for path in sorted(spec.glob("*.py"))
             for line, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"\bcheck_[a-z0-9_]+|ValidationMixin", text)]  # fmt: skip
    assert named == []
