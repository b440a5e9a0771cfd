"""Regenerate `wizard/lint/data/inventory-<version>.yaml`: every Axolotl validator that raises.

Run it in an environment with axolotl installed, like gen_axolotl_schema.py:

    python scripts/gen_axolotl_inventory.py

It reads the installed Axolotl's source (found with importlib, never imported): every
`model_validator` / `field_validator` in `utils/schemas/*.py` and the integrations' `args.py`
whose body raises, directly or through a helper of the same class or module. Each becomes a row
with its place and first message. The rows' `rule` (the finding code that mirrors it) and
`left_out` (why nothing does) are written by people; a regeneration keeps them by id, so a new
Axolotl version shows up as rows with neither, which `tests/lint/test_inventory.py` refuses.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import sys
from pathlib import Path
from typing import Any

import yaml

OUT_DIR = Path(__file__).resolve().parent.parent / "wizard" / "lint" / "data"
DECORATORS = {"model_validator", "field_validator"}
CURATED = ("rule", "left_out")


def axolotl_dir(source: Path | None) -> tuple[Path, str]:
    """The axolotl package folder and its version (from the dist-info beside it)."""
    if source is None:
        spec = importlib.util.find_spec("axolotl")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("axolotl is not installed in this environment")
        source = Path(next(iter(spec.submodule_search_locations)))
    infos = sorted(source.parent.glob("axolotl-*.dist-info"))
    if not infos:
        raise SystemExit(f"no axolotl-*.dist-info next to {source}")
    return source, infos[0].name[len("axolotl-") : -len(".dist-info")]


def source_files(root: Path) -> list[Path]:
    return sorted(root.glob("utils/schemas/*.py")) + sorted(root.glob("integrations/*/args.py"))


def _decorator(node: ast.FunctionDef) -> str | None:
    """`field_validator(datasets, before)` / `model_validator(after)`, or None."""
    for dec in node.decorator_list:
        call = dec if isinstance(dec, ast.Call) else None
        func = call.func if call else dec
        name = getattr(func, "id", getattr(func, "attr", None))
        if name not in DECORATORS:
            continue
        args = [a.value for a in (call.args if call else []) if isinstance(a, ast.Constant)]
        mode = next(
            (k.value.value for k in (call.keywords if call else [])
             if k.arg == "mode" and isinstance(k.value, ast.Constant)),
            "after",
        )  # fmt: skip
        return f"{name}({', '.join([*map(str, args), str(mode)])})"
    return None


def _text(node: ast.AST | None) -> str:
    """The message of `raise X("...")`, f-string parts shown as `{...}`."""
    if isinstance(node, ast.Call) and node.args:
        node = node.args[0]
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "{…}" for v in node.values)
    if isinstance(node, ast.BinOp):
        return _text(node.left) + _text(node.right)
    return ast.unparse(node) if node is not None else ""


def _message(node: ast.Raise) -> str:
    return " ".join(_text(node.exc).split())[:200]


def _raises(body: ast.AST) -> list[ast.Raise]:
    return [n for n in ast.walk(body) if isinstance(n, ast.Raise) and n.exc is not None]


def _called(body: ast.AST) -> set[str]:
    """Names of functions and `cls.`/`self.` methods called in `body`."""
    out = set()
    for node in ast.walk(body):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                out.add(func.id)
            elif isinstance(func, ast.Attribute) and getattr(func.value, "id", "") in (
                "cls",
                "self",
                "data",
            ):
                out.add(func.attr)
    return out


def _helpers(tree: ast.Module, cls: ast.ClassDef) -> dict[str, ast.FunctionDef]:
    found = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    found.update({n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)})
    return found


def validators_in(path: Path, root: Path) -> list[dict[str, Any]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(root).as_posix()
    rows = []
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        helpers = _helpers(tree, cls)
        for func in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
            kind = _decorator(func)
            if kind is None:
                continue
            raised = _raises(func)
            for name in sorted(_called(func)):
                if name in helpers and name != func.name and not _decorator(helpers[name]):
                    raised += _raises(helpers[name])
            if raised:
                rows.append(
                    {
                        "id": f"{cls.name}.{func.name}",
                        "where": f"{rel}:{func.lineno}",
                        "kind": kind,
                        "raises": list(dict.fromkeys(_message(r) for r in raised)),
                    }
                )
    return rows


# Modules of prompt_strategies that are helpers, not dataset types.
NOT_TYPES = {"__init__", "base", "jinja_template_analyzer"}


def dataset_types(root: Path) -> list[str]:
    """The `type:` names Axolotl has a loader for: prompt_strategies' modules and packages, and
    the built-in handlers of utils/data/wrappers.py (DATASET_HANDLERS)."""
    folder = root / "prompt_strategies"
    names = {p.stem for p in folder.glob("*.py")} | {p.name for p in folder.iterdir() if
                                                    (p / "__init__.py").is_file()}  # fmt: skip
    tree = ast.parse((root / "utils" / "data" / "wrappers.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and any(getattr(t, "id", "") == "DATASET_HANDLERS" for t in node.targets)
            and isinstance(node.value, ast.Dict)
        ):
            names |= {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    return sorted(names - NOT_TYPES)


def merge(rows: list[dict[str, Any]], old: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The new rows, with the curated fields of the old rows of the same id."""
    curated = {r["id"]: {k: r[k] for k in CURATED if k in r} for r in old}
    return [{**row, **curated.get(row["id"], {})} for row in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument(
        "--source", type=Path, help="an unpacked axolotl package folder (default: the installed)"
    )
    args = parser.parse_args(argv)
    root, version = axolotl_dir(args.source)
    rows = [row for path in source_files(root) for row in validators_in(path, root)]
    out = args.out_dir / f"inventory-{version}.yaml"
    old = yaml.safe_load(out.read_text(encoding="utf-8"))["validators"] if out.exists() else []
    merged = merge(rows, old)
    header = (
        f"# Axolotl {version}'s validators that raise. Generated by "
        "scripts/gen_axolotl_inventory.py;\n# people write `rule` (the finding code that mirrors "
        "it) or `left_out` (why none does).\n"
    )
    body = yaml.safe_dump(
        {"axolotl_version": version, "dataset_types": dataset_types(root), "validators": merged},
        sort_keys=False,
        width=100,
        allow_unicode=True,
    )
    out.write_text(header + body, encoding="utf-8")
    todo = sum(1 for r in merged if not any(k in r for k in CURATED))
    print(f"wrote {out} ({len(merged)} validators, {todo} without rule or left_out)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
