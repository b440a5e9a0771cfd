"""The shape of the package, held by tests: one home for each kind of knowledge, imports that
point one way, and pieces small enough to read (issue 12's targets).

Every import counts, at any depth: inside functions and under `if TYPE_CHECKING:` too, because a
cycle that only shows up when a function runs is still a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "wizard"
MAX_TOP_MODULES = 12
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50
# What each package may import from the others: the arrows of the architecture (README).
LAYERS = {
    "cli": None,  # the top: anything
    "commands": None,
    # The page: the interview's questions and layers, the plan, presets and runs; only commands
    # import it (the one module that imports gradio lives here).
    "ui": {"interview", "answers", "render", "presets", "models", "estimate", "lint", "axolotl",
           "gpus", "preview", "runs"},
    "interview": {"answers", "render", "presets", "models", "estimate", "lint", "axolotl", "gpus",
                  "preview"},
    "presets": {"answers", "render", "importer", "lint", "axolotl"},
    "importer": {"answers", "render", "lint", "axolotl"},
    "render": {"answers", "estimate", "lint", "models", "launch", "axolotl", "recipes"},
    "answers": {"axolotl", "gpus", "recipes"},
    # a trained run taken to use (merge, chat, evaluate, export) through launch's machinery
    "after": {"launch", "axolotl"},
    "launch": {"lint", "estimate", "models", "answers", "axolotl", "preview", "runs", "gpus"},
    "runs": {"estimate", "models", "axolotl"},  # launches' measured figures, calibration
    "preview": {"models", "axolotl"},  # the records as Axolotl tokenizes them, and their checks
    "lint": {"axolotl", "models", "gpus"},
    "estimate": {"models", "axolotl"},
    "models": {"axolotl"},
    "axolotl": set(),
    "recipes": {"gpus"},  # the defaults a run trains with, per method, objective and GPU
    "gpus": set(),  # the GPUs the wizard knows by name, and this machine's
}
# Modules directly in wizard/ that everything may use (the foundation).
FOUNDATION = {"errors", "files", "folders", "datafiles", "yamlio", "resources", "runspec", "tiny",
              "records", "terminal", "__init__", "__main__"}  # fmt: skip


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imported(path: Path, known: set[str]) -> Iterator[str]:
    """Every wizard module `path` imports, wherever the import statement is."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name in known:
                yield name


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: set(imported(path, known)) - {name} for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def home(module: str) -> str:
    """The package (or foundation module) a module belongs to: `wizard.lint.api` -> `lint`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_imports_point_one_way() -> None:
    wrong = []
    for module, targets in graph().items():
        allowed = LAYERS.get(home(module))
        if allowed is None:
            continue
        for target in targets:
            where = home(target)
            if where in FOUNDATION or where == home(module):
                continue
            if where not in allowed:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_few_modules_at_the_top() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top


def test_small_modules_and_functions() -> None:
    long_modules, long_functions = [], []
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        # A generated module (one constant a line, `scripts/gen_*.py`) is data, not logic.
        generated = "Generated by scripts/" in text[:400]
        if text.count("\n") > MAX_MODULE_LINES and not generated:
            long_modules.append((name, text.count("\n")))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append((f"{name}.{node.name}", length))
    assert long_modules == [] and long_functions == []


def test_the_pure_packages_import_nothing_heavy() -> None:
    """spec, answers, build, lint, estimate, models and the importer never import the training
    stack, the prompt library or rich (DESIGN: `new --yes`, `check` and `estimate` stay fast)."""
    import subprocess
    import sys

    packages = ["wizard.runspec", "wizard.answers.file", "wizard.render.plan", "wizard.lint",
                "wizard.estimate", "wizard.models", "wizard.presets.assemble",
                "wizard.importer"]  # fmt: skip
    heavy = ["torch", "transformers", "axolotl", "deepspeed", "accelerate", "questionary",
             "prompt_toolkit", "rich"]  # fmt: skip
    code = (
        "import sys, importlib\n"
        f"for name in {packages!r}: importlib.import_module(name)\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)  # fmt: skip
    assert done.stdout.strip() == "[]"


# What changes `sys.modules` (the import system's own table): item assignment and deletion, and
# these methods. A stand-in module there once leaned on other packages' private import details.
_MUTATORS = {"__setitem__", "__delitem__", "setdefault", "pop", "popitem", "update", "clear"}


def _is_sys_modules(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "modules"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    )


def sys_modules_changes(tree: ast.AST) -> list[int]:
    """The lines where `tree` changes `sys.modules` or takes a name for it to change it by."""
    lines = []
    for node in ast.walk(tree):
        changed = (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, (ast.Store, ast.Del))
            and _is_sys_modules(node.value)
        ) or (
            isinstance(node, ast.Attribute)
            and node.attr in _MUTATORS
            and _is_sys_modules(node.value)
        )
        aliased = (
            isinstance(node, ast.ImportFrom)
            and node.module == "sys"
            and any(alias.name == "modules" for alias in node.names)
        ) or (isinstance(node, ast.Assign) and _is_sys_modules(node.value))
        if changed or aliased:
            lines.append(node.lineno)
    return lines


def test_nothing_changes_sys_modules() -> None:
    """Modules are loaded the usual way: no stand-in, no swap (tests may do what they need)."""
    found = [
        f"{name}:{line}"
        for name, path in modules().items()
        for line in sys_modules_changes(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert found == []


def test_the_sys_modules_scan_finds_each_way_to_change_it() -> None:
    changes = [
        "sys.modules['x'] = m",
        "sys.modules['x'], y = m, 1",
        "del sys.modules['x']",
        "sys.modules.__setitem__('x', m)",
        "sys.modules.setdefault('x', m)",
        "sys.modules.pop('x')",
        "sys.modules.update(x=m)",
        "from sys import modules",
        "table = sys.modules",
    ]
    for code in changes:
        assert sys_modules_changes(ast.parse(code)) == [1], code
    reads = ["sys.modules.get('x')", "'x' in sys.modules", "m = sys.modules['x']"]
    assert [sys_modules_changes(ast.parse(code)) for code in reads] == [[], [], []]
