"""Check values against Axolotl's JSON schema the way Pydantic's lax mode would judge them.

A strict JSON-schema validator would reject what Axolotl accepts: Pydantic turns `"1e-4"` into a
float, `2.0` into an int, `"yes"` into True. Reporting those would make `check` disagree with
Axolotl on valid configs, so each JSON type here accepts exactly Pydantic's lax coercions.
`check_value` returns the problems as (key path, message) pairs; the caller adds positions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from wizard.axolotl.flags import FALSE_WORDS, TRUE_WORDS
from wizard.axolotl.schema import AxolotlSchema, JsonSchema
from wizard.lint.findings import KeyPath

Problem = tuple[KeyPath, str]
_INT_STR = re.compile(r"^\s*[+-]?\d+(?:_\d+)*\s*$")


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _is_int(value: Any) -> bool:
    if isinstance(value, bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value) and value.is_integer()
    return isinstance(value, str) and bool(_INT_STR.match(value))


def _is_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value in (0, 1)
    return isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS


_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "null": lambda v: v is None,
    "boolean": _is_bool,
    "integer": _is_int,
    "number": lambda v: _as_float(v) is not None,
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list | tuple),
    "object": lambda v: isinstance(v, dict),
}


def describe(schema: JsonSchema, ax: AxolotlSchema, depth: int = 0) -> str:
    """A short human name for what a schema accepts: `integer or null`, `one of 'a', 'b'`."""
    schema = ax.resolve(schema)
    if "enum" in schema:
        return "one of " + ", ".join(repr(v) for v in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    for union in ("anyOf", "oneOf"):
        if union in schema and depth < 3:
            names = [describe(s, ax, depth + 1) for s in schema[union]]
            return " or ".join(dict.fromkeys(names))
    kind = schema.get("type")
    if kind == "array" and "items" in schema and depth < 3:
        return f"a list of ({describe(schema['items'], ax, depth + 1)})"
    if kind == "object" and "properties" in schema:
        return f"a mapping ({schema.get('title', 'object')})"
    plain = {"object": "a mapping", "array": "a list", "string": "a string",
             "integer": "a whole number", "number": "a number", "boolean": "true or false",
             "null": "null"}  # fmt: skip
    if isinstance(kind, str):
        return plain.get(kind, kind)
    return "any value"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_value(value: Any, schema: JsonSchema, ax: AxolotlSchema, path: KeyPath) -> list[Problem]:
    """Problems with `value` under `schema`; an empty list means Pydantic would accept it."""
    schema = ax.resolve(schema)
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return _check_union(value, schema[union], ax, path)
    if "allOf" in schema:
        return [p for sub in schema["allOf"] for p in check_value(value, sub, ax, path)]
    if "enum" in schema and not _in_enum(value, schema["enum"]):
        return [(path, f"{_short(value)} is not allowed; expected {describe(schema, ax)}")]
    if "const" in schema and not _in_enum(value, [schema["const"]]):
        return [(path, f"{_short(value)} is not allowed; expected {schema['const']!r}")]
    kind = schema.get("type")
    if isinstance(kind, str) and kind in _TYPE_TESTS and not _TYPE_TESTS[kind](value):
        return [(path, _type_message(value, kind, schema, ax))]
    problems = _check_bounds(value, schema, path)
    if isinstance(value, dict) and kind == "object":
        problems += _check_object(value, schema, ax, path)
    elif isinstance(value, list | tuple) and kind == "array":
        problems += _check_array(list(value), schema, ax, path)
    return problems


def _type_message(value: Any, kind: str, schema: JsonSchema, ax: AxolotlSchema) -> str:
    if kind == "integer" and isinstance(value, float):
        return f"{_short(value)} has a fractional part; expected a whole number"
    return f"{_short(value)} is {_kind_of(value)}; expected {describe(schema, ax)}"


def _kind_of(value: Any) -> str:
    if value is None:
        return "empty (null)"
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }
    return names.get(type(value), type(value).__name__)


def _in_enum(value: Any, allowed: list[Any]) -> bool:
    if value in allowed and not (isinstance(value, bool) and not any(a is value for a in allowed)):
        return True
    # Pydantic compares str-enum members to strings and int enums to numeric strings.
    return isinstance(value, str) and any(str(a) == value for a in allowed if a is not None)


def _check_union(
    value: Any, branches: list[JsonSchema], ax: AxolotlSchema, path: KeyPath
) -> list[Problem]:
    results = [check_value(value, b, ax, path) for b in branches]
    if any(not r for r in results):
        return []
    # Report the branch that got deepest (a mapping with one bad field), else a summary.
    deepest = max(results, key=lambda r: max(len(p) for p, _ in r))
    if max(len(p) for p, _ in deepest) > len(path):
        return deepest
    # `X | None` given a wrong X: X's own message is the precise one.
    real = [
        r for r, b in zip(results, branches, strict=True) if ax.resolve(b).get("type") != "null"
    ]
    if len(real) == 1 and value is not None:
        return real[0]
    expected = " or ".join(dict.fromkeys(describe(b, ax) for b in branches))
    return [(path, f"{_short(value)} is {_kind_of(value)}; expected {expected}")]


def _check_bounds(value: Any, schema: JsonSchema, path: KeyPath) -> list[Problem]:
    number = _as_float(value) if not isinstance(value, str | bool) else None
    if number is None:
        return []
    checks = (
        ("minimum", number < schema.get("minimum", -math.inf), ">="),
        ("maximum", number > schema.get("maximum", math.inf), "<="),
        ("exclusiveMinimum", number <= schema.get("exclusiveMinimum", -math.inf), ">"),
        ("exclusiveMaximum", number >= schema.get("exclusiveMaximum", math.inf), "<"),
    )
    return [
        (path, f"{_short(value)} must be {op} {schema[name]}")
        for name, failed, op in checks
        if failed
    ]


def _check_object(
    value: dict[str, Any], schema: JsonSchema, ax: AxolotlSchema, path: KeyPath
) -> list[Problem]:
    props: dict[str, JsonSchema] = schema.get("properties", {})
    problems: list[Problem] = []
    for key in schema.get("required", []):
        if key not in value:
            problems.append(((*path, key), f"`{key}` is required here"))
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        if key in props:
            problems += check_value(item, props[key], ax, (*path, key))
        elif isinstance(extra, dict):
            problems += check_value(item, extra, ax, (*path, key))
        elif extra is False:
            problems.append(((*path, key), f"`{key}` is not allowed here"))
    return problems


def _check_array(
    value: list[Any], schema: JsonSchema, ax: AxolotlSchema, path: KeyPath
) -> list[Problem]:
    problems: list[Problem] = []
    prefix = schema.get("prefixItems")
    if prefix is not None and len(value) != len(prefix) and schema.get("items") is None:
        problems.append((path, f"expected {len(prefix)} items, got {len(value)}"))
    for index, item in enumerate(value):
        sub = prefix[index] if prefix and index < len(prefix) else schema.get("items")
        if isinstance(sub, dict):
            problems += check_value(item, sub, ax, (*path, index))
    return problems


def _object_branch(schema: JsonSchema, ax: AxolotlSchema) -> JsonSchema | None:
    """The mapping model inside `X | None` or a union, if there is exactly one."""
    schema = ax.resolve(schema)
    if "properties" in schema:
        return schema
    branches = [ax.resolve(b) for b in schema.get("anyOf") or schema.get("oneOf") or []]
    objects = [b for b in branches if "properties" in b]
    return objects[0] if len(objects) == 1 else None


def unknown_keys(
    value: Any, schema: JsonSchema, ax: AxolotlSchema, path: KeyPath
) -> list[tuple[KeyPath, list[str]]]:
    """Keys inside nested mappings that the model does not declare, which Pydantic drops.

    Returns each such key path with the declared names, for did-you-mean. Models that forbid
    extra keys are left to `check_value`, which reports them as errors.
    """
    found: list[tuple[KeyPath, list[str]]] = []
    if isinstance(value, dict):
        model = _object_branch(schema, ax)
        if model is None:
            return found
        props: dict[str, JsonSchema] = model["properties"]
        for key, item in value.items():
            if key in props:
                found += unknown_keys(item, props[key], ax, (*path, key))
            elif "additionalProperties" not in model:
                found.append(((*path, key), list(props)))
    elif isinstance(value, list):
        items = _array_items(schema, ax)
        if items is not None:
            for index, item in enumerate(value):
                found += unknown_keys(item, items, ax, (*path, index))
    return found


def _array_items(schema: JsonSchema, ax: AxolotlSchema) -> JsonSchema | None:
    schema = ax.resolve(schema)
    branches: list[JsonSchema] = [schema, *(schema.get("anyOf") or [])]
    for branch in branches:
        branch = ax.resolve(branch)
        if branch.get("type") == "array" and isinstance(branch.get("items"), dict):
            items: JsonSchema = branch["items"]
            return items
    return None
