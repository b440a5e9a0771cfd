"""Schema rules: unknown keys (did-you-mean), wrong types and values, deprecated and removed keys.

Severity follows what Axolotl does with the key: it rejects a wrong type or a removed key
(error), but silently drops an unknown key (warning, because nothing fails, the value is just
lost) and logs a deprecation (warning).
"""

from __future__ import annotations

import re
from typing import Any

from wizard.lint.context import Ctx
from wizard.lint.findings import Finding, KeyPath, Rename, dotted
from wizard.lint.schema import JsonSchema
from wizard.lint.suggest import suggest
from wizard.lint.typecheck import check_value, unknown_keys

def check_keys(ctx: Ctx) -> list[Finding]:
    out = _duplicates(ctx) + _plugins(ctx) + _required(ctx)
    props = _active_properties(ctx)
    for key, value in ctx.cfg.items():
        if not isinstance(key, str):
            out.append(ctx.at("error", "bad-key", f"key {key!r} is not a string", key=(str(key),)))
        elif key in ctx.schema.removed:
            out += _removed(ctx, key, value)
        elif key in props:
            out += _typed(ctx, key, value, props[key])
        else:
            out.append(_unknown(ctx, key, props))
        if isinstance(key, str) and key in ctx.schema.field_deprecations and value is not None:
            out.append(_deprecated_field(ctx, key, value))
    return out


def _required(ctx: Ctx) -> list[Finding]:
    out = []
    for key in ctx.schema.config.get("required", []):
        if ctx.cfg.get(key) is None:
            desc = (ctx.schema.property(key) or {}).get("description", "")
            out.append(ctx.at("error", "missing-key", f"`{key}` is required and not set",
                              f"add `{key}: ...`" + (f" ({desc})" if desc else "")))
    return out


def _active_properties(ctx: Ctx) -> dict[str, JsonSchema]:
    """Axolotl's keys plus those of the plugins this config loads."""
    props = dict(ctx.schema.properties)
    for field_name, alias in ctx.schema.field_aliases.items():
        props.setdefault(field_name, props.get(alias, {}))
    for name in _plugin_names(ctx):
        info = ctx.schema.plugins.get(name)
        if info is None:
            continue
        plugin_props = (info.schema or {}).get("properties", {})
        for key in info.keys:
            props.setdefault(key, plugin_props.get(key, {}))
    return props


def _plugin_names(ctx: Ctx) -> list[str]:
    plugins = ctx.cfg.get("plugins")
    return [p for p in plugins if isinstance(p, str)] if isinstance(plugins, list) else []


def _plugins(ctx: Ctx) -> list[Finding]:
    out = []
    for index, name in enumerate(_plugin_names(ctx)):
        info = ctx.schema.plugins.get(name)
        key: KeyPath = ("plugins", index)
        if info is None:
            out += _unknown_plugin(ctx, name, key)
        elif info.requires and ctx.env.has(info.requires) is False:
            out.append(ctx.at(
                "error", "plugin-missing-package",
                f"plugin {name} needs the package `{info.requires}`, which is not installed",
                f"pip install {info.requires}, or remove the plugin", key))
    return out


def _unknown_plugin(ctx: Ctx, name: str, key: KeyPath) -> list[Finding]:
    module = name.rpartition(".")[0]
    if name.startswith("axolotl.integrations."):
        close = suggest(name, ctx.schema.plugins, limit=1)
        hint = f"did you mean {close[0]}?" if close else "see `axolotl.integrations` for names"
        return [ctx.at("error", "unknown-plugin",
                       f"plugin {name} is not part of Axolotl {ctx.schema.version}", hint, key)]
    if module and ctx.env.has(module.split(".")[0]) is False:
        return [ctx.at("error", "unknown-plugin", f"plugin {name}: module {module} is not "
                       "installed", "install the package that provides it", key)]
    return [ctx.at("hint", "unchecked-plugin", f"plugin {name} is not an Axolotl integration; "
                   "its keys are not checked", None, key)]


def _duplicates(ctx: Ctx) -> list[Finding]:
    if ctx.located is None:
        return []
    return [
        ctx.at("warning", "duplicate-key",
               f"`{dotted(path)}` is set twice (lines {first.line} and {second.line}); "
               "YAML keeps only the last value", "delete one of them", path)
        for path, first, second in ctx.located.duplicates
    ]


def _typed(ctx: Ctx, key: str, value: Any, schema: JsonSchema) -> list[Finding]:
    if key in ("datasets", "test_datasets") and isinstance(value, list):
        problems = _check_datasets(ctx, key, value, schema)
    else:
        problems = check_value(value, schema, ctx.schema, (key,))
        problems += [(p, f"`{p[-1]}` is not a known key here; Axolotl ignores it"
                      + _dym(str(p[-1]), c)) for p, c in unknown_keys(value, schema, ctx.schema,
                                                                        (key,))]
    out = []
    for path, message in problems:
        severity = "warning" if "Axolotl ignores it" in message else "error"
        code = "unknown-key" if severity == "warning" else "type-error"
        out.append(ctx.at(severity, code, f"`{dotted(path)}`: {message}",
                          _type_fix(ctx, path), path))
    return out


def _check_datasets(ctx: Ctx, key: str, value: list[Any], schema: JsonSchema) -> list[Any]:
    """Each entry is checked against the model Axolotl converts it to (validate_config)."""
    problems: list[Any] = []
    for index, entry in enumerate(value):
        path: KeyPath = (key, index)
        if not isinstance(entry, dict):
            problems += check_value(entry, _items(schema, ctx), ctx.schema, path)
            continue
        model = ctx.schema.dataset_models[_dataset_model(ctx, entry)]
        problems += check_value(entry, model, ctx.schema, path)
        problems += [(p, f"`{p[-1]}` is not a known dataset key; Axolotl ignores it"
                      + _dym(str(p[-1]), c))
                     for p, c in unknown_keys(entry, model, ctx.schema, path)]
    return problems


def _items(schema: JsonSchema, ctx: Ctx) -> JsonSchema:
    for branch in schema.get("anyOf", [schema]):
        branch = ctx.schema.resolve(branch)
        if branch.get("type") == "array":
            items: JsonSchema = branch.get("items", {})
            return items
    return {}


def _dataset_model(ctx: Ctx, entry: dict[str, Any]) -> str:
    rl = ctx.cfg.get("rl")
    if rl in ("dpo", "ipo", "simpo"):
        return "DPODataset"
    if rl == "kto":
        return "KTODataset"
    return "SyntheticDataset" if entry.get("type") == "_synthetic" else "SFTDataset"


def _type_fix(ctx: Ctx, path: KeyPath) -> str | None:
    schema = ctx.schema.property(str(path[0])) if len(path) == 1 else None
    desc = (schema or {}).get("description")
    return f"{path[0]}: {desc}" if desc else None


def _dym(name: str, candidates: list[str]) -> str:
    found = suggest(name, candidates, limit=1)
    return f" (did you mean `{found[0]}`?)" if found else ""


def _unknown(ctx: Ctx, key: str, props: dict[str, JsonSchema]) -> Finding:
    owners = ctx.schema.plugin_for_key(key)
    if owners:
        return ctx.at("warning", "plugin-key-without-plugin",
                      f"`{key}` is a key of plugin {owners[0]}, which this config does not load;"
                      " Axolotl ignores it", f"add {owners[0]} to `plugins:`", (key,))
    found = suggest(key, props, limit=1)
    if found:
        return ctx.at("warning", "unknown-key",
                      f"`{key}` is not an Axolotl key (did you mean `{found[0]}`?); "
                      "Axolotl ignores it silently", f"rename it to `{found[0]}`", (key,),
                      Rename((key,), found[0]))
    return ctx.at("warning", "unknown-key", f"`{key}` is not an Axolotl "
                  f"{ctx.schema.version} key; Axolotl ignores it silently",
                  "remove it, or check the Axolotl docs for the current name", (key,))


def _removed(ctx: Ctx, key: str, value: Any) -> list[Finding]:
    entry = ctx.schema.removed[key]
    fires = value is not None and (entry.get("when") != "truthy" or bool(value))
    if entry["status"] == "removed":
        if not fires:
            return [ctx.at("hint", "removed-key", f"`{key}` is no longer supported; "
                           "delete it", None, (key,))]
        return [ctx.at("error", "removed-key", f"`{key}`: {entry['message']}",
                       "delete it (Axolotl refuses configs that set it)", (key,))]
    if value is None:
        return []
    new = ctx.schema.renames.get(key)
    rename = Rename((key,), new) if new and new not in ctx.cfg else None
    return [ctx.at("warning", "deprecated-key", f"`{key}` is deprecated: {entry['message']}",
                   f"rename it to `{new}`" if new else None, (key,), rename)]


def _deprecated_field(ctx: Ctx, key: str, value: Any) -> Finding:
    message = ctx.schema.field_deprecations[key]
    new = ctx.schema.renames.get(key)
    rename = Rename((key,), new) if new and new not in ctx.cfg else None
    flag = re.search(r"`attn_implementation: (\w+)`", message)
    if flag and value is True and "attn_implementation" not in ctx.cfg:
        rename = Rename((key,), "attn_implementation", flag.group(1))
    return ctx.at("warning", "deprecated-key", f"`{key}` is deprecated: {message}",
                  message if rename is None else _rename_text(rename), (key,), rename)


def _rename_text(rename: Rename) -> str:
    if rename.new_value is not None:
        return f"replace it with `{rename.new_key}: {rename.new_value}`"
    return f"rename it to `{rename.new_key}`"
